package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.PciRegs;

@DisplayName("SR-IOV: the PF's capability registers, VFs on the bus, their BARs and MSI-X")
class SriovTest {
    private static final long DOORBELL = 0x0808_0040L;
    private static final long VF_BAR0 = 0x1010_0000L;
    private static final long VF_BAR3 = 0x1020_0000L;
    private final List<String> messages = new ArrayList<>();
    private PciFunction pf;
    private SriovCapability sriov;
    private HostBridgeHardware bridge;
    private int cap;

    @BeforeEach
    void setUp() {
        pf = DeviceCatalog.QEMU_IGB.newFunction();
        sriov = pf.sriov().orElseThrow();
        cap = sriov.position();
        MsiController ctrl = new MsiController() {
            @Override
            public boolean isDoorbell(long maddr, int size) {
                return maddr == DOORBELL;
            }

            @Override
            public void message(int deviceId, long maddr, int size, long value) {
                messages.add(String.format("dev %#x data %#x", deviceId, value));
            }
        };
        // The PF at 00:02.0 (devfn 0x10): VF n at devfn 0x10 + 0x80 + 2n = 12.0, 12.2, ...
        bridge = HostBridgeHardware.builder().ecam(0x40_1000_0000L, 0x1000_0000L)
                .aperture(0x1000_0000L, 0x1000_0000L, 0x2eff_0000L, ApertureKind.MEM32, false)
                .msiMap(MsiMap.single(0, 0x8004, 0, 0x10000)).msiController(0x8004, ctrl)
                .slot(2, 0, pf).build();
        bridge.attach(new PhysicalAddressSpace());
    }

    private int read(int reg, int size) {
        return pf.config().read(cap + reg, size);
    }

    private void write(int reg, int size, int value) {
        pf.config().write(cap + reg, size, value);
    }

    private void enable(int numVfs) {
        write(SriovCapability.NUM_VF, 2, numVfs);
        write(SriovCapability.CTRL, 2, SriovCapability.CTRL_VFE | SriovCapability.CTRL_MSE);
    }

    @Test
    @DisplayName("capability registers: TotalVFs 8, offset 0x80, stride 2, VF device 0x10ca; NumVFs, VF Enable/MSE and System Page Size are writable, the rest is not")
    void registers() {
        assertThat(pf.capability(PciRegs.PCI_EXT_CAP_ID_SRIOV, true)).isPresent();
        assertThat(read(SriovCapability.TOTAL_VF, 2)).isEqualTo(8);
        assertThat(read(SriovCapability.INITIAL_VF, 2)).isEqualTo(8);
        assertThat(read(SriovCapability.VF_OFFSET, 2)).isEqualTo(0x80);
        assertThat(read(SriovCapability.VF_STRIDE, 2)).isEqualTo(2);
        assertThat(read(SriovCapability.VF_DID, 2)).isEqualTo(0x10ca);
        write(SriovCapability.TOTAL_VF, 2, 0x20);
        write(SriovCapability.VF_OFFSET, 2, 0x10);
        write(SriovCapability.VF_DID, 2, 0x1234);
        assertThat(read(SriovCapability.TOTAL_VF, 2)).isEqualTo(8);
        assertThat(read(SriovCapability.VF_OFFSET, 2)).isEqualTo(0x80);
        assertThat(read(SriovCapability.VF_DID, 2)).isEqualTo(0x10ca);
        write(SriovCapability.NUM_VF, 2, 3);
        assertThat(read(SriovCapability.NUM_VF, 2)).isEqualTo(3);
        write(SriovCapability.CTRL, 2, 0xffff);
        assertThat(read(SriovCapability.CTRL, 2)).as("VFE, MSE, ARI only").isEqualTo(0x19);
        write(SriovCapability.SYS_PGSIZE, 4, 0x10);
        assertThat(read(SriovCapability.SYS_PGSIZE, 4)).isEqualTo(0x10);
        assertThat(read(SriovCapability.SUP_PGSIZE, 4)).isEqualTo(0x553);
    }

    @Test
    @DisplayName("VF BARs size like BARs: all-ones reads back ONE VF's 16 KiB mask with the 64-bit prefetchable flags; unimplemented VF BARs read 0")
    void vfBarSizing() {
        write(SriovCapability.BAR, 4, 0xffffffff);
        write(SriovCapability.BAR + 4, 4, 0xffffffff);
        assertThat(read(SriovCapability.BAR, 4)).isEqualTo(0xffffc00c);
        assertThat(read(SriovCapability.BAR + 4, 4)).isEqualTo(0xffffffff);
        write(SriovCapability.BAR + 8, 4, 0xffffffff);
        assertThat(read(SriovCapability.BAR + 8, 4)).as("VF BAR2 unimplemented").isZero();
        write(SriovCapability.BAR + 12, 4, 0xffffffff);
        assertThat(read(SriovCapability.BAR + 12, 4)).isEqualTo(0xffffc00c);
    }

    @Test
    @DisplayName("VF Enable with NumVFs 2: VFs answer at PF RID + 0x80 + 2n (00:12.0, 00:12.2), nothing at the odd devfns or past NumVFs; clearing VF Enable removes them")
    void vfsAppearAndDisappear() {
        assertThat(bridge.functionAt(0, 0x12, 0)).as("before VF Enable").isNull();
        write(SriovCapability.NUM_VF, 2, 2);
        assertThat(bridge.functionAt(0, 0x12, 0)).as("NumVFs alone").isNull();
        write(SriovCapability.CTRL, 2, SriovCapability.CTRL_VFE);
        PciFunction vf0 = bridge.functionAt(0, 0x12, 0);
        PciFunction vf1 = bridge.functionAt(0, 0x12, 2);
        assertThat(vf0).isNotNull();
        assertThat(vf1).isNotNull().isNotSameAs(vf0);
        assertThat(bridge.functionAt(0, 0x12, 1)).isNull();
        assertThat(bridge.functionAt(0, 0x12, 4)).as("VF 2 is beyond NumVFs").isNull();
        assertThat(sriov.virtualFunctions()).containsExactly(vf0, vf1);
        assertThat(vf0.isVirtualFunction()).isTrue();
        assertThat(vf1.vfNumber()).isEqualTo(1);
        assertThat(vf1.physicalFunctionOf()).containsSame(sriov);
        assertThat(vf0.requesterId()).isEqualTo(0x0090);
        assertThat(vf1.requesterId()).isEqualTo(0x0092);
        assertThat(pf.requesterId()).isEqualTo(0x0010);

        write(SriovCapability.CTRL, 2, 0);
        assertThat(bridge.functionAt(0, 0x12, 0)).isNull();
        assertThat(vf1.requesterId()).as("a removed VF is off the bus").isEqualTo(-1);
        assertThat(sriov.virtualFunctions()).isEmpty();
    }

    @Test
    @DisplayName("a VF's own config space: Vendor/Device ID 0xffff, BARs RO zero, COMMAND.MEMORY hardwired 0, Bus Master its own; NumVFs above TotalVFs gives TotalVFs")
    void vfConfigSpace() {
        enable(9);
        assertThat(sriov.virtualFunctions()).hasSize(8);
        int vf = 0x12 << 3 | 2;
        assertThat(bridge.configRead(0, vf >> 3, vf & 7, 0, 4)).isEqualTo(0xffffffff);
        assertThat(bridge.configRead(0, vf >> 3, vf & 7, PciRegs.PCI_CLASS_REVISION, 4) >>> 8).isEqualTo(0x020000);
        PciFunction f = bridge.functionAt(0, 0x12, 2);
        f.config().write(PciRegs.PCI_BASE_ADDRESS_0, 4, 0xffffffff);
        assertThat(f.config().read(PciRegs.PCI_BASE_ADDRESS_0, 4)).isZero();
        f.config().write(PciRegs.PCI_COMMAND, 2, 0xffff);
        int cmd = f.config().read(PciRegs.PCI_COMMAND, 2);
        assertThat(cmd & PciRegs.PCI_COMMAND_MEMORY).isZero();
        assertThat(cmd & PciRegs.PCI_COMMAND_MASTER).isNotZero();
        assertThat(f.capability(PciRegs.PCI_CAP_ID_MSIX, false)).isPresent();
    }

    @Test
    @DisplayName("VF n's BARs decode at VF BAR base + n * 16 KiB only while VF MSE is set, and reach that VF's own memory")
    void vfBarDecode() {
        write(SriovCapability.BAR, 4, (int) VF_BAR0);
        write(SriovCapability.BAR + 12, 4, (int) VF_BAR3);
        write(SriovCapability.NUM_VF, 2, 2);
        write(SriovCapability.CTRL, 2, SriovCapability.CTRL_VFE);
        PciFunction vf0 = sriov.virtualFunctions().get(0);
        PciFunction vf1 = sriov.virtualFunctions().get(1);
        assertThat(vf1.barAddress(0)).isEqualTo(VF_BAR0 + 0x4000);
        assertThat(vf1.barAddress(3)).isEqualTo(VF_BAR3 + 0x4000);
        assertThat(bridge.memoryTarget(VF_BAR0 + 0x4000, false)).as("VF MSE clear").isNull();
        write(SriovCapability.CTRL, 2, SriovCapability.CTRL_VFE | SriovCapability.CTRL_MSE);
        assertThat(bridge.memoryTarget(VF_BAR0, false)).isSameAs(vf0);
        assertThat(bridge.memoryTarget(VF_BAR0 + 0x3fff, false)).isSameAs(vf0);
        assertThat(bridge.memoryTarget(VF_BAR0 + 0x4000, false)).isSameAs(vf1);
        assertThat(bridge.memoryTarget(VF_BAR3 + 0x4010, false)).isSameAs(vf1);
        assertThat(bridge.memoryTarget(VF_BAR0 + 0x8000, false)).as("past NumVFs").isNull();
        assertThat(vf1.decodeBar(VF_BAR3 + 0x4000, false)).isEqualTo(3);
        assertThat(vf1.decodeBar(VF_BAR3 + 0x4000, true)).as("no I/O decode").isEqualTo(-1);
    }

    @Test
    @DisplayName("a VF signals MSI-X with its own requester ID as ITS DeviceID; PF FLR removes the VFs and re-enabling brings up fresh ones")
    void vfMsixAndReset() {
        enable(2);
        PciFunction vf1 = sriov.virtualFunctions().get(1);
        vf1.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        vf1.barWrite(3, 16, 8, DOORBELL);
        vf1.barWrite(3, 16 + 8, 4, 0x21);
        vf1.barWrite(3, 16 + 12, 4, 0);
        int msix = vf1.capability(PciRegs.PCI_CAP_ID_MSIX, false).orElseThrow().offset();
        vf1.config().write(msix + PciRegs.PCI_MSIX_FLAGS, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        assertThat(vf1.signal(1)).isEqualTo(SignalResult.SENT);
        assertThat(messages).containsExactly("dev 0x92 data 0x21");

        pf.functionLevelReset();
        assertThat(sriov.virtualFunctions()).isEmpty();
        assertThat(read(SriovCapability.CTRL, 2)).isZero();
        assertThat(vf1.signal(1)).as("the removed VF is off the bus").isEqualTo(SignalResult.NOT_CONNECTED);
        enable(2);
        PciFunction again = sriov.virtualFunctions().get(1);
        assertThat(again).isNotSameAs(vf1);
        assertThat(again.barRead(3, 16 + 12, 4)).as("fresh VF: entry masked").isEqualTo(1L);
    }

    @Test
    @DisplayName("placement refuses a PF whose VFs would leave its bus or land on a placed function")
    void placementRules() {
        PciFunction high = DeviceCatalog.QEMU_IGB.newFunction();
        assertThatThrownBy(() -> PciBus.builder().slot(0x1f, 0, high).build())
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("beyond this bus");
        PciFunction other = DeviceCatalog.QEMU_IGB.newFunction();
        PciFunction blocker = DeviceCatalog.E1000E.newFunction();
        assertThatThrownBy(() -> PciBus.builder().slot(0, 0, other).slot(0x10, 0, blocker).build())
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("collide");
        assertThat(other.isPlaced()).as("nothing half-placed").isFalse();
    }

    @Test
    @DisplayName("an SR-IOV capability with an I/O VF BAR or a zero stride is refused when installed")
    void badCapabilities() {
        byte[] vf = CatalogImages.igbVf().bytes();
        ConfigImage io = ConfigImage.endpoint(0x8086, 0x10c9).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .sriov(2, 0x80, 2, 0x10ca).build();
        byte[] bytes = io.bytes();
        int at = 0x100;
        bytes[at + SriovCapability.BAR] = 1;
        PciFunction f = PciFunction.fromConfig(bytes, Map.of(), 0);
        assertThatThrownBy(() -> f.installCapability(PciRegs.PCI_EXT_CAP_ID_SRIOV, true, new SriovCapability(vf, Map.of(0, 0x4000L))))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("not I/O");
        PciFunction g = ConfigImage.endpoint(0x8086, 0x10c9).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .sriov(2, 0x80, 0, 0x10ca).build().newFunction();
        assertThatThrownBy(() -> g.installCapability(PciRegs.PCI_EXT_CAP_ID_SRIOV, true, new SriovCapability(vf, Map.of())))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("Stride 0");
    }

    @Test
    @DisplayName("a VF BAR smaller than the 4 KiB System Page Size is refused when installed: VFs would share a page, so one VF's guest would map its neighbours")
    void subPageVfBarRefused() {
        byte[] vf = CatalogImages.igbVf().bytes();
        PciFunction f = ConfigImage.endpoint(0x8086, 0x10c9).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .sriov(2, 0x80, 2, 0x10ca).build().newFunction();
        assertThatThrownBy(() -> f.installCapability(PciRegs.PCI_EXT_CAP_ID_SRIOV, true, new SriovCapability(vf, Map.of(0, 0x800L))))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("System Page Size");
        assertThat(f.sriov()).as("nothing installed").isEmpty();
        PciFunction g = ConfigImage.endpoint(0x8086, 0x10c9).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .sriov(2, 0x80, 2, 0x10ca).build().newFunction();
        g.installCapability(PciRegs.PCI_EXT_CAP_ID_SRIOV, true, new SriovCapability(vf, Map.of(0, 0x1000L)));
        assertThat(g.sriov()).isPresent();
    }
}
