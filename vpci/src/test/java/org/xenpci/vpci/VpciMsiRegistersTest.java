package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.core.pci.PciRegs.*;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.Sbdf;

@DisplayName("vPCI MSI and MSI-X register semantics (xen/drivers/vpci/msi.c, msix.c)")
class VpciMsiRegistersTest {
    private MsiPlatform p;
    private Domain g;
    private long cfg;
    private int pos;

    @BeforeEach
    void setUp() {
        p = new MsiPlatform(Profile.FULL);
        g = p.guest(1);
        p.assign(MsiPlatform.MSI4, g);
        Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.MSI4).guestSbdfRecord();
        cfg = MsiPlatform.guestCfg(v.device());
        pos = p.msi4.capability(PCI_CAP_ID_MSI, false).orElseThrow().offset();
    }

    @Test
    @DisplayName("MSI control: QMASK 4 vectors, 64BIT and MASKBIT reported; QSIZE clamps to the maximum; enable reads back")
    void msiControl() {
        assertThat(g.mmioRead(cfg + pos + 2, 2)).hasValue(0x0184L);
        g.mmioWrite(cfg + pos + 2, 2, 0x30);
        assertThat(g.mmioRead(cfg + pos + 2, 2)).as("8 requested, 4 granted").hasValue(0x01a4L);
        assertThat(p.msi4.config().read(pos + 2, 2) & 0x71).as("hardware untouched while disabled").isZero();
        g.mmioWrite(cfg + pos + 2, 2, 0x31);
        assertThat(g.mmioRead(cfg + pos + 2, 2)).hasValue(0x01a5L);
    }

    @Test
    @DisplayName("MSI mask bits are stored while disabled and reach hardware on enable; pending bits read all-ones for a domU")
    void msiMask() {
        g.mmioWrite(cfg + pos + 4, 4, org.xenpci.armpci.gicv3.GicV3Its.GUEST_GICV3_ITS_DOORBELL);
        g.mmioWrite(cfg + pos + 0x10, 4, 0x5);
        assertThat(g.mmioRead(cfg + pos + 0x10, 4)).hasValue(0x5L);
        assertThat(p.msi4.config().read(pos + 0x10, 4)).isZero();
        g.mmioWrite(cfg + pos + 2, 2, 0x21);
        assertThat(p.msi4.config().read(pos + 0x10, 4)).isEqualTo(0x5);
        g.mmioWrite(cfg + pos + 0x10, 4, 0x4);
        assertThat(p.msi4.config().read(pos + 0x10, 4)).isEqualTo(0x4);
        assertThat(g.mmioRead(cfg + pos + 0x14, 4)).hasValue(0xffff_ffffL);
        assertThat(p.msi4.config().read(pos + 4, 4)).as("physical doorbell programmed").isEqualTo((int) MsiPlatform.HOST_DOORBELL);
    }

    @Test
    @DisplayName("hwdom (vPCI on) MSI-X: its table writes are trapped and programmed unchanged; adjacent bytes reach the device page")
    void hwdomMsix() {
        Domain d0 = p.dom0;
        long cfg0 = MsiPlatform.ECAM + (1 << 15);
        d0.mmioWrite(cfg0 + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        long table = MsiPlatform.NVME_BAR + 0x2000;
        assertThat(d0.p2m().lookup(table)).isInstanceOf(org.xenpci.core.P2m.Trapped.class);
        new MsiPlatform.Queue(d0, MsiPlatform.ITS, MsiPlatform.RAM + 0x10_0000).send(ItsCommand.mapd(0x0008, 6, 0, true),
                ItsCommand.mapc(0, 0, true), ItsCommand.mapti(0x0008, 40, 8500, 0));
        d0.mmioWrite(cfg0 + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
        d0.mmioWrite(table, 8, MsiPlatform.HOST_DOORBELL);
        d0.mmioWrite(table + 8, 8, 40);
        assertThat(p.nvme.barRead(0, 0x2000, 8)).isEqualTo(MsiPlatform.HOST_DOORBELL);
        assertThat(p.nvme.barRead(0, 0x2008, 8)).as("data 40, unmasked").isEqualTo(40L);
        assertThat(p.nvme.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(d0.vcpu(0).pendingInterrupts()).containsExactly(8500);
        d0.mmioWrite(table + 0x800, 2, 0xbeef);
        assertThat(p.nvme.memory(0).read(0x2800, 2)).as("adjacent write forwarded").isEqualTo(0xbeefL);
        assertThat(d0.mmioRead(table + 0x801, 1)).hasValue(0xbeL);
        assertThat(d0.p2m().lookup(MsiPlatform.NVME_BAR)).as("rest of the BAR mapped 1:1")
                .isEqualTo(new org.xenpci.core.P2m.DirectMmio(MsiPlatform.NVME_BAR, 0x2000, MsiPlatform.NVME_BAR));
    }

    @Test
    @DisplayName("hwdom attach with decoding already on: header init maps the whole BAR, then init_msix carves the table and PBA pages out and traps them (vpci_make_msix_hole)")
    void hwdomAttachWithDecodingOnMakesMsixHole() {
        Domain d0 = p.dom0;
        Vpci vpci = p.xen.service(Vpci.class).orElseThrow();
        long table = MsiPlatform.NVME_BAR + 0x2000;
        vpci.deassignDevice(d0, MsiPlatform.NVME);
        p.nvme.config().write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        HardwareConfig hw = new HardwareConfig() {
            @Override
            public int read(int reg, int size) {
                return p.nvme.config().read(reg, size);
            }

            @Override
            public void write(int reg, int size, int value) {
                p.nvme.config().write(reg, size, value);
            }
        };
        assertThat(vpci.assignDevice(d0, VpciDeviceSpec.of(MsiPlatform.NVME, hw), null)).isZero();
        VpciDevice dev = vpci.device(d0, MsiPlatform.NVME);
        assertThat(dev.header().barsMapped()).isTrue();
        assertThat(MsixState.of(dev)).as("MSI-X emulated, not hidden").isNotNull();
        assertThat(d0.p2m().lookup(table)).isInstanceOf(org.xenpci.core.P2m.Trapped.class);
        assertThat(d0.p2m().lookup(MsiPlatform.NVME_BAR)).as("rest of the BAR mapped 1:1")
                .isEqualTo(new org.xenpci.core.P2m.DirectMmio(MsiPlatform.NVME_BAR, 0x2000, MsiPlatform.NVME_BAR));
        vpci.deassignDevice(d0, MsiPlatform.NVME);
        assertThat(d0.p2m().lookup(table)).as("detach removes the traps").isNull();
        assertThat(d0.p2m().lookup(MsiPlatform.NVME_BAR)).as("and the mapping").isNull();
    }

    @Test
    @DisplayName("disabling MSI-X masks every bound physical entry; re-enabling rebinds the unmasked ones")
    void msixDisableEnable() {
        p.assign(MsiPlatform.NVME, g);
        Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.NVME).guestSbdfRecord();
        long c = MsiPlatform.guestCfg(v.device());
        g.mmioWrite(c + 0x10, 4, MsiPlatform.GUEST_BAR | 4);
        g.mmioWrite(c + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        g.mmioWrite(c + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
        long table = MsiPlatform.GUEST_BAR + 0x2000;
        g.mmioWrite(table, 8, org.xenpci.armpci.gicv3.GicV3Its.GUEST_GICV3_ITS_DOORBELL);
        g.mmioWrite(table + 8, 8, 5);
        assertThat(p.nvme.barRead(0, 0x200c, 4)).isZero();
        g.mmioWrite(c + 0x42, 2, 0);
        assertThat(p.nvme.barRead(0, 0x200c, 4)).isEqualTo(1L);
        assertThat(g.mmioRead(table + 12, 4)).as("the guest's own mask bit is unchanged").hasValue(0L);
        g.mmioWrite(c + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
        assertThat(p.nvme.barRead(0, 0x200c, 4)).isZero();
        assertThat(g.mmioRead(table + 3, 1)).as("byte access to the table").hasValue(0xffL);
    }
}
