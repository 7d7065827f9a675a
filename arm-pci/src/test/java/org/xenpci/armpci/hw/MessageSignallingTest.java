package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Physical MSI and MSI-X: registers, masks, pending bits and the inbound write path")
class MessageSignallingTest {
    private static final long DOORBELL = 0x0808_0040L;
    private static final long NVME_BAR = 0x1000_0000L;
    private final List<String> messages = new ArrayList<>();
    private PciFunction nvme;
    private PciFunction nic;
    private HostBridgeHardware bridge;

    @BeforeEach
    void setUp() {
        nvme = DeviceCatalog.QEMU_NVME.newFunction();
        nic = DeviceCatalog.E1000E.newFunction();
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
        bridge = HostBridgeHardware.builder().ecam(0x40_1000_0000L, 0x1000_0000L)
                .aperture(0x1000_0000L, 0x1000_0000L, 0x2eff_0000L, ApertureKind.MEM32, false)
                .msiMap(MsiMap.single(0, 0x8004, 0, 0x10000)).msiController(0x8004, ctrl)
                .slot(1, 0, nvme).slot(2, 0, nic).build();
        bridge.attach(new PhysicalAddressSpace());
        nvme.config().write(0x10, 4, (int) NVME_BAR);
        nvme.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);
    }

    private void entry(int i, long addr, int data, boolean masked) {
        nvme.barWrite(0, 0x2000 + 16L * i, 8, addr);
        nvme.barWrite(0, 0x2000 + 16L * i + 8, 4, data);
        nvme.barWrite(0, 0x2000 + 16L * i + 12, 4, masked ? 1 : 0);
    }

    @Test
    @DisplayName("MSI-X table: 16-byte entries all masked at reset, address bits 1:0 read 0, only mask is writable in vector control")
    void msixTableRegisters() {
        assertThat(nvme.barRead(0, 0x2000 + 12, 4)).isEqualTo(0x1L);
        assertThat(nvme.barRead(0, 0x2000 + 64 * 16 + 12, 4)).as("entry 64 of 65").isEqualTo(0x1L);
        nvme.barWrite(0, 0x2010, 4, 0x0808_0043L);
        nvme.barWrite(0, 0x201c, 4, 0xffff_fffeL);
        assertThat(nvme.barRead(0, 0x2010, 4)).isEqualTo(0x0808_0040L);
        assertThat(nvme.barRead(0, 0x201c, 4)).isEqualTo(0x0L);
        nvme.barWrite(0, 0x2018, 8, 0x0000_0001_0000_0005L);
        assertThat(nvme.barRead(0, 0x2018, 8)).as("8-byte write at +8 sets data and vector control").isEqualTo(0x1_0000_0005L);
        assertThat(nvme.barRead(0, 0x2011, 1)).as("unaligned").isEqualTo(0xffL);
        assertThat(nvme.barRead(0, 0x2012, 2)).as("2-byte").isEqualTo(0xffffL);
    }

    @Test
    @DisplayName("MSI-X control: function mask and enable are RW, the table size stays 64 (65 entries)")
    void msixControl() {
        nvme.config().write(0x42, 2, 0xffff);
        assertThat(nvme.config().read(0x42, 2)).isEqualTo(0xc040);
    }

    @Test
    @DisplayName("an unmasked MSI-X entry is written to the ITS doorbell with DeviceID = requester ID 00:01.0")
    void msixSends() {
        entry(3, DOORBELL, 0x23, false);
        assertThat(nvme.signal(3)).isEqualTo(SignalResult.DISABLED);
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        assertThat(nvme.requesterId()).isEqualTo(0x0008);
        assertThat(nvme.signal(3)).isEqualTo(SignalResult.SENT);
        assertThat(nvme.signal(65)).isEqualTo(SignalResult.NO_SUCH_VECTOR);
        assertThat(messages).containsExactly("dev 0x8 data 0x23");
    }

    @Test
    @DisplayName("a masked entry sets its PBA bit (read-only to software) and is sent when unmasked")
    void msixPendingThenUnmask() {
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        entry(2, DOORBELL, 0x22, true);
        assertThat(nvme.signal(2)).isEqualTo(SignalResult.PENDING);
        assertThat(nvme.barRead(0, 0x3000, 8)).isEqualTo(0x4L);
        nvme.barWrite(0, 0x3000, 8, 0);
        assertThat(nvme.barRead(0, 0x3000, 4)).as("PBA writes dropped").isEqualTo(0x4L);
        assertThat(messages).isEmpty();
        nvme.barWrite(0, 0x2000 + 32 + 12, 4, 0);
        assertThat(messages).containsExactly("dev 0x8 data 0x22");
        assertThat(nvme.msixPending(2)).isFalse();
    }

    @Test
    @DisplayName("the function mask holds every vector pending until it is cleared")
    void functionMask() {
        entry(0, DOORBELL, 0x10, false);
        entry(1, DOORBELL, 0x11, false);
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE | PciRegs.PCI_MSIX_FLAGS_MASKALL);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.PENDING);
        assertThat(nvme.signal(1)).isEqualTo(SignalResult.PENDING);
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        assertThat(messages).containsExactly("dev 0x8 data 0x10", "dev 0x8 data 0x11");
    }

    @Test
    @DisplayName("without COMMAND.MASTER the function issues no write")
    void busMaster() {
        entry(0, DOORBELL, 0x10, false);
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        nvme.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.BUS_MASTER_DISABLED);
        assertThat(messages).isEmpty();
    }

    @Test
    @DisplayName("MSI: enable and QSIZE RW, QMASK/64BIT read-only, multiple messages replace the low data bits")
    void msi() {
        int pos = nic.capability(PciRegs.PCI_CAP_ID_MSI, false).orElseThrow().offset();
        int flags = nic.config().read(pos + 2, 2);
        assertThat(flags & PciRegs.PCI_MSI_FLAGS_64BIT).isNotZero();
        nic.config().write(pos + 2, 2, 0xffff);
        assertThat(nic.config().read(pos + 2, 2)).isEqualTo(flags | 0x71);
        nic.config().write(pos + 2, 2, 0x0000);
        nic.config().write(pos + 4, 4, 0x0808_0043);
        assertThat(nic.config().read(pos + 4, 4)).isEqualTo(0x0808_0040);
        nic.config().write(pos + 8, 4, 0);
        nic.config().write(pos + 0xc, 2, 0x40);
        nic.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        assertThat(nic.signal(0)).isEqualTo(SignalResult.DISABLED);
        nic.config().write(pos + 2, 2, 0x0001);
        assertThat(nic.signal(1)).as("one vector enabled").isEqualTo(SignalResult.NO_SUCH_VECTOR);
        assertThat(nic.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(messages).containsExactly("dev 0x10 data 0x40");
    }

    @Test
    @DisplayName("MSI per-vector masking: masked vectors set pending bits and are sent on unmask")
    void msiMasking() {
        byte[] cfg = ConfigImage.endpoint(0x1234, 0x5678).bar(0, BarKind.MEM32, 0x1000, false).msi(false, 2, true)
                .build().bytes();
        PciFunction f = PciFunction.fromConfig(cfg, java.util.Map.of(0, 0x1000L), 0);
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0x3000_0000L, 0x10_0000L)
                .msiMap(MsiMap.single(0, 1, 0x100, 0x100)).msiController(1, new MsiController() {
                    @Override
                    public boolean isDoorbell(long maddr, int size) {
                        return maddr == DOORBELL;
                    }

                    @Override
                    public void message(int deviceId, long maddr, int size, long value) {
                        messages.add(String.format("dev %#x data %#x", deviceId, value));
                    }
                }).slot(3, 1, PciFunction.fromConfig(cfg, java.util.Map.of(0, 0x1000L), 0)).slot(3, 0, f).build();
        int pos = f.capability(PciRegs.PCI_CAP_ID_MSI, false).orElseThrow().offset();
        f.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        f.config().write(pos + 4, 4, (int) DOORBELL);
        f.config().write(pos + 8, 2, 0x20);
        f.config().write(pos + 0xc, 4, 0x2);
        f.config().write(pos + 2, 2, 0x21); // enable, 4 vectors
        assertThat(f.signal(3)).isEqualTo(SignalResult.SENT);
        assertThat(f.signal(1)).isEqualTo(SignalResult.PENDING);
        assertThat(f.config().read(pos + 0x10, 4)).isEqualTo(0x2);
        f.config().write(pos + 0x10, 4, 0);
        assertThat(f.config().read(pos + 0x10, 4)).as("pending is read-only to software").isEqualTo(0x2);
        f.config().write(pos + 0xc, 4, 0);
        assertThat(f.config().read(pos + 0x10, 4)).isZero();
        assertThat(messages).containsExactly("dev 0x118 data 0x23", "dev 0x118 data 0x21");
    }
}
