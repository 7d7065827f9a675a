package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.smmu.SmmuV3;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Inbound DMA path of the host bridge hardware, without Xen")
class DmaPathTest {
    private static final long ECAM = 0x4010000000L;
    private static final long RAM = 0x4000_0000L;
    private static final long MMIO = 0x1000_0000L;

    private final PhysicalAddressSpace space = new PhysicalAddressSpace();
    private final SparseMemory ram = new SparseMemory(0x10_0000);
    private final PciFunction master = endpoint();
    private final PciFunction peer = endpoint();

    private static PciFunction endpoint() {
        return PciFunction.fromConfig(ConfigImage.endpoint(0x1234, 0x5678).bar(0, BarKind.MEM32, 0x1000, false).build()
                .bytes(), Map.of(0, 0x1000L), 0);
    }

    private HostBridgeHardware bridge(HostBridgeHardware.Builder b) {
        space.register("ram", RAM, ram.size(), ram);
        HostBridgeHardware hb = b.ecam(ECAM, 0x1000_0000L).aperture(MMIO, MMIO, 0x1000_0000L, ApertureKind.MEM32, false)
                .slot(1, 0, master).slot(2, 0, peer).build();
        hb.attach(space);
        master.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        peer.config().write(0x10, 4, (int) MMIO);
        return hb;
    }

    @Test
    @DisplayName("a bridge without iommu-map sends DMA 1:1 to RAM and to peer BARs that decode; anything else is an Unsupported Request")
    void noIommuIsOneToOne() {
        bridge(HostBridgeHardware.builder());

        assertThat(master.dmaWrite(RAM + 0x10, 4, 0xfeed)).isSameAs(DmaResult.DONE);
        assertThat(ram.read(0x10, 4)).isEqualTo(0xfeed);
        DmaResult.Fault ur = new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, 0x08, MMIO + 4, true);
        assertThat(master.dmaWrite(MMIO + 4, 4, 1)).as("peer decoding off").isEqualTo(ur);
        peer.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        assertThat(master.dmaWrite(MMIO + 4, 4, 1)).isSameAs(DmaResult.DONE);
        assertThat(peer.memory(0).read(4, 4)).isEqualTo(1);
        assertThat(master.dmaRead(0x7000_0000L, 4)).extracting(r -> ((DmaResult.Fault) r).reason())
                .isEqualTo(DmaResult.Reason.UNSUPPORTED_REQUEST);
        assertThat(master.dmaRead(RAM + ram.size() - 2, 4)).as("runs past RAM").isInstanceOf(DmaResult.Fault.class);
    }

    @Test
    @DisplayName("an SMMU no driver enabled (SMMUEN clear) passes DMA through untranslated")
    void smmuNotEnabledBypasses() {
        SmmuV3 smmu = new SmmuV3("/smmu", 0x8004, 0x0905_0000L, 0x20000);
        smmu.attach(space);
        bridge(HostBridgeHardware.builder().iommuMap(new int[] {0, 0x8004, 0, 0x10000}, null).iommu(0x8004, smmu));

        assertThat(smmu.enabled()).isFalse();
        assertThat(space.read(0x0905_0004L, 4)).as("IDR1.SIDSIZE").isEqualTo(16);
        assertThat(master.dmaWrite(RAM, 8, 7)).isSameAs(DmaResult.DONE);
        assertThat(ram.read(0, 8)).isEqualTo(7);
    }

    @Test
    @DisplayName("an iommu-map entry naming no connected IOMMU refuses the request instead of bypassing")
    void unknownIommuRefuses() {
        HostBridgeHardware hb = bridge(HostBridgeHardware.builder().iommuMap(new int[] {0, 0x9999, 0, 0x10000}, null));

        assertThat(hb.behindIommu(0x08)).isTrue();
        assertThat(master.dmaWrite(RAM, 4, 1)).extracting(r -> ((DmaResult.Fault) r).reason())
                .isEqualTo(DmaResult.Reason.UNSUPPORTED_REQUEST);
        assertThat(ram.read(0, 4)).isZero();
    }

    @Test
    @DisplayName("addresses at and above 2^63, up to the last byte of the 64-bit space, are Unsupported Requests, never an exception")
    void topOfTheAddressSpace() {
        bridge(HostBridgeHardware.builder());
        for (long a : new long[] {0x8000_0000_0000_0000L, 0xffff_ffff_ffff_fff8L, 0xffff_ffff_ffff_fffcL, -1L}) {
            for (int size : new int[] {1, 2, 4, 8}) {
                assertThat(master.dmaWrite(a, size, 1)).as("write %x/%d", a, size).isInstanceOf(DmaResult.Fault.class);
                assertThat(master.dmaRead(a, size)).as("read %x/%d", a, size).isInstanceOf(DmaResult.Fault.class);
            }
        }
    }

    @Test
    @DisplayName("bus master off and an unplaced function issue nothing; bad sizes and maps are typed errors")
    void refusals() {
        bridge(HostBridgeHardware.builder());
        master.config().write(PciRegs.PCI_COMMAND, 2, 0);

        assertThat(master.dmaWrite(RAM, 4, 1)).extracting(r -> ((DmaResult.Fault) r).reason())
                .isEqualTo(DmaResult.Reason.BUS_MASTER_OFF);
        assertThat(ram.read(0, 4)).isZero();
        PciFunction loose = endpoint();
        loose.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        assertThat(loose.dmaRead(RAM, new byte[4])).extracting(r -> ((DmaResult.Fault) r).reason())
                .isEqualTo(DmaResult.Reason.NOT_CONNECTED);
        assertThatThrownBy(() -> master.dmaRead(RAM, 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HostBridgeHardware.builder().iommuMap(new int[] {0, 1, 0}, null))
                .isInstanceOf(HardwareConfigException.class);
    }
}
