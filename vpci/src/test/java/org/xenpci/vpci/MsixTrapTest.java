package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.core.pci.PciRegs.*;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.MmioHandler;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;

/**
 * The MSI-X table and PBA pages a guest's BAR keeps trapped (xen/drivers/vpci/msix.c): the
 * NVMe's table is on BAR page 2 and its PBA on page 3, so one trap covers both; if the p2m
 * refuses that (the guest already has something on the PBA page), each page is trapped on its
 * own, so the table page still works.
 */
class MsixTrapTest {
    private static final long TABLE = MsiPlatform.GUEST_BAR + 0x2000;
    private static final long PBA = MsiPlatform.GUEST_BAR + 0x3000;

    private final MsiPlatform p = new MsiPlatform(Profile.FULL);
    private final Domain g = p.guest(1);
    private long cfg;

    private void placeBar() {
        p.assign(MsiPlatform.NVME, g);
        Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.NVME).guestSbdfRecord();
        cfg = MsiPlatform.guestCfg(v.device());
        g.mmioWrite(cfg + 0x10, 4, MsiPlatform.GUEST_BAR | 0x4);
        g.mmioWrite(cfg + 0x14, 4, 0);
    }

    private void decodingOn() {
        g.mmioWrite(cfg + PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    }

    @Test
    @DisplayName("table and PBA on adjoining pages: one trap over both, the rest of the BAR (its first pages) mapped")
    void adjoiningPagesShareOneTrap() {
        placeBar();
        decodingOn();
        P2m.Entry t = g.p2m().lookup(TABLE);
        assertThat(t).isInstanceOf(P2m.Trapped.class).isSameAs(g.p2m().lookup(PBA));
        assertThat(t.gpa()).isEqualTo(TABLE);
        assertThat(t.size()).isEqualTo(0x2000);
        assertThat(g.p2m().lookup(MsiPlatform.GUEST_BAR)).isInstanceOf(P2m.DirectMmio.class);
        g.mmioWrite(TABLE + 8, 4, 0x55);
        assertThat(g.mmioRead(TABLE + 8, 4)).as("table entry 0 data").hasValue(0x55L);
        assertThat(g.mmioRead(PBA, 8)).as("PBA through the same trap").hasValue(0L);
        g.mmioWrite(cfg + PCI_COMMAND, 2, 0);
        assertThat(g.p2m().lookup(TABLE)).as("decoding off: the trap is gone").isNull();
        assertThat(g.p2m().lookup(PBA)).isNull();
    }

    @Test
    @DisplayName("one trap over table and PBA pages still aborts an access across the seam, as two traps (two p2m entries) did")
    void accessAcrossTheTablePbaSeamAborts() {
        placeBar();
        decodingOn();
        assertThat(g.p2m().lookup(TABLE)).isSameAs(g.p2m().lookup(PBA));
        assertThat(g.mmioRead(PBA - 2, 4)).as("read across the seam").isEmpty();
        assertThat(g.mmioWrite(PBA - 2, 4, 0xffff_ffffL)).as("write across the seam").isFalse();
        assertThat(g.mmioRead(PBA - 4, 8)).as("8 bytes across the seam").isEmpty();
        assertThat(g.mmioRead(PBA - 4, 4)).as("the table page's last dword").isPresent();
        assertThat(g.mmioRead(PBA, 4)).as("the PBA's first dword").hasValue(0L);
        assertThat(g.mmioRead(TABLE + 0x7fe, 4)).as("unaligned inside one page still reaches the handler").isPresent();
    }

    @Test
    @DisplayName("a PBA page the guest already uses: the union is refused, the table page is trapped alone")
    void clashingPbaPageLeavesTheTableTrapped() {
        MmioHandler other = new MmioHandler() {
            @Override
            public String name() {
                return "other";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                return 0x1234;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
            }
        };
        placeBar();
        g.p2m().addTrap(PBA, 0x1000, other);
        decodingOn();
        P2m.Entry t = g.p2m().lookup(TABLE);
        assertThat(t).isInstanceOf(P2m.Trapped.class);
        assertThat(((P2m.Trapped) t).handler().name()).isEqualTo("vpci-msix");
        assertThat(t.size()).isEqualTo(0x1000);
        assertThat(((P2m.Trapped) g.p2m().lookup(PBA)).handler()).isSameAs(other);
        g.mmioWrite(TABLE + 8, 4, 0x55);
        assertThat(g.mmioRead(TABLE + 8, 4)).hasValue(0x55L);
        g.mmioWrite(cfg + PCI_COMMAND, 2, 0);
        assertThat(g.p2m().lookup(TABLE)).isNull();
        assertThat(((P2m.Trapped) g.p2m().lookup(PBA)).handler()).as("the guest's own trap is left alone").isSameAs(other);
    }
}
