package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.PciRegs;

/**
 * The catalog's PCIe switch ports, modern virtio-net and xHCI images, register by register:
 * IDs and class, capability chains where QEMU puts them, what is RO and what is RW.
 */
@DisplayName("DeviceCatalog: XIO3130 switch ports, virtio 1.0 net, qemu-xhci")
class SwitchVirtioXhciImagesTest {

    /** One virtio_pci_cap as read from config space (virtio 1.2, 4.1.4). */
    record VirtioCap(int offset, int capLen, int cfgType, int bar, int barOffset, int length) {
    }

    static List<VirtioCap> virtioCaps(PciFunction f) {
        List<VirtioCap> out = new ArrayList<>();
        for (Capability c : f.capabilities()) {
            if (!c.extended() && c.id() == PciRegs.PCI_CAP_ID_VNDR) {
                ConfigSpace cs = f.config();
                int at = c.offset();
                out.add(new VirtioCap(at, cs.read(at + 2, 1), cs.read(at + 3, 1), cs.read(at + 4, 1), cs.read(at + 8, 4),
                        cs.read(at + 12, 4)));
            }
        }
        return out;
    }

    @Test
    @DisplayName("XIO3130 upstream port: 104c:8232 rev 2, type 1, MSI 0x70, SSVID 0x80, PCIe type 5 (upstream) with FLR 0x90, AER 0x100, no BARs")
    void upstreamPort() {
        PciFunction f = DeviceCatalog.XIO3130_UPSTREAM.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x8232104c);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x06040002);
        assertThat(f.isBridge()).isTrue();
        assertThat(f.pcieType()).isEqualTo(PciRegs.PCI_EXP_TYPE_UPSTREAM);
        assertThat(f.isPcieDownstreamPort()).isFalse();
        assertThat(f.capabilities()).containsExactly(new Capability(PciRegs.PCI_CAP_ID_MSI, 0x70, false), new Capability(0x0d, 0x80, false),
                new Capability(PciRegs.PCI_CAP_ID_EXP, 0x90, false), new Capability(PciRegs.PCI_EXT_CAP_ID_ERR, 0x100, true));
        // PCI Express Capabilities register: version 2, type 5, no slot (only downstream ports have one).
        assertThat(f.config().read(0x92, 2)).isEqualTo(0x0052);
        assertThat(f.config().read(0x90 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).as("FLR (pcie_cap_flr_init)").isNotZero();
        assertThat(f.config().read(PciRegs.PCI_INTERRUPT_PIN, 1)).isZero();
        // MSI: one vector, 64-bit, no per-vector masking.
        assertThat(f.config().read(0x72, 2)).isEqualTo(PciRegs.PCI_MSI_FLAGS_64BIT);
        assertThat(f.bars()).isEmpty();
        for (int reg : new int[] {0x10, 0x14}) {
            f.config().write(reg, 4, 0xffffffff);
            assertThat(f.config().read(reg, 4)).as("BAR at %x", reg).isZero();
        }
    }

    @Test
    @DisplayName("XIO3130 downstream port: 104c:8233 rev 1, PCIe type 6 with slot implemented, FLR, no interrupt pin")
    void downstreamPort() {
        PciFunction f = DeviceCatalog.XIO3130_DOWNSTREAM.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x8233104c);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x06040001);
        assertThat(f.pcieType()).isEqualTo(PciRegs.PCI_EXP_TYPE_DOWNSTREAM);
        assertThat(f.isPcieDownstreamPort()).isTrue();
        assertThat(f.config().read(0x92, 2)).isEqualTo(0x0162);
        assertThat(f.config().read(PciRegs.PCI_INTERRUPT_PIN, 1)).isZero();
        assertThat(f.config().read(0x90 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isNotZero();
        assertThat(f.capabilities()).extracting(Capability::offset).containsExactly(0x70, 0x80, 0x90, 0x100);
        assertThat(DeviceCatalog.XIO3130_DOWNSTREAM.dump().address().bus()).isEqualTo(2);
    }

    @Test
    @DisplayName("switch ports: bus numbers RW, memory windows RW in 1 MiB units, window type bits RO (32-bit I/O, 64-bit prefetchable)")
    void switchPortBridgeRegisters() {
        for (DeviceCatalog d : new DeviceCatalog[] {DeviceCatalog.XIO3130_UPSTREAM, DeviceCatalog.XIO3130_DOWNSTREAM}) {
            PciFunction f = d.newFunction();
            assertThat(f.config().read(PciRegs.PCI_PRIMARY_BUS, 4) & 0xffffff).as("%s bus numbers at power-on", d).isZero();
            f.config().write(PciRegs.PCI_PRIMARY_BUS, 1, 0x01);
            f.config().write(PciRegs.PCI_SECONDARY_BUS, 1, 0x02);
            f.config().write(PciRegs.PCI_SUBORDINATE_BUS, 1, 0x04);
            assertThat(f.primaryBus()).isEqualTo(1);
            assertThat(f.secondaryBus()).isEqualTo(2);
            assertThat(f.subordinateBus()).isEqualTo(4);
            f.config().write(PciRegs.PCI_MEMORY_BASE, 4, 0xffffffff);
            assertThat(f.config().read(PciRegs.PCI_MEMORY_BASE, 4)).as("%s memory window", d).isEqualTo(0xfff0fff0);
            f.config().write(PciRegs.PCI_PREF_MEMORY_BASE, 4, 0);
            assertThat(f.config().read(PciRegs.PCI_PREF_MEMORY_BASE, 4)).as("%s prefetchable window type", d).isEqualTo(0x00010001);
            f.config().write(PciRegs.PCI_IO_BASE, 2, 0);
            assertThat(f.config().read(PciRegs.PCI_IO_BASE, 2)).as("%s I/O window type", d).isEqualTo(0x0101);
        }
    }

    @Test
    @DisplayName("virtio-net modern: 1af4:1041 rev 1, no legacy I/O BAR, BAR1 mem32 4 KiB, BAR4 mem64 prefetchable 16 KiB")
    void virtioIdsAndBars() {
        PciFunction f = DeviceCatalog.VIRTIO_NET_MODERN.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x10411af4);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x02000001);
        assertThat(f.config().read(0x2c, 4)).isEqualTo(0x11001af4);
        assertThat(f.bars()).containsExactly(new BarSpec(1, BarKind.MEM32, 0x1000, false), new BarSpec(4, BarKind.MEM64, 0x4000, true));
        int[] expected = {0, 0xfffff000, 0, 0, 0xffffc00c, 0xffffffff};
        for (int i = 0; i < 6; i++) {
            f.config().write(0x10 + 4 * i, 4, 0xffffffff);
            assertThat(f.config().read(0x10 + 4 * i, 4)).as("BAR%d", i).isEqualTo(expected[i]);
        }
    }

    @Test
    @DisplayName("virtio-net modern: the five virtio structure capabilities (ID 0x09) with cfg_type, BAR, offset, length; notify_off_multiplier 4")
    void virtioVendorCapabilities() {
        PciFunction f = DeviceCatalog.VIRTIO_NET_MODERN.newFunction();
        assertThat(f.config().read(PciRegs.PCI_CAPABILITY_LIST, 1)).isEqualTo(0xdc);
        assertThat(f.capabilities()).extracting(Capability::id)
                .containsExactly(0x11, 0x09, 0x09, 0x09, 0x09, 0x09, 0x01, 0x10);
        assertThat(virtioCaps(f)).containsExactly(
                new VirtioCap(0xc8, 20, 5, 0, 0, 0),            // VIRTIO_PCI_CAP_PCI_CFG access window
                new VirtioCap(0xb4, 20, 2, 4, 0x3000, 0x1000),  // notify
                new VirtioCap(0xa4, 16, 4, 4, 0x2000, 0x1000),  // device-specific (struct virtio_net_config)
                new VirtioCap(0x94, 16, 3, 4, 0x1000, 0x1000),  // ISR
                new VirtioCap(0x84, 16, 1, 4, 0x0000, 0x1000)); // common
        assertThat(f.config().read(0xb4 + 16, 4)).as("notify_off_multiplier").isEqualTo(4);
        // Every structure lies inside BAR4 (16 KiB), as virtio 1.2 4.1.4.1 requires of the device.
        for (VirtioCap c : virtioCaps(f)) {
            if (c.cfgType() != 5) {
                assertThat((long) c.barOffset() + c.length()).isLessThanOrEqualTo(f.bar(c.bar()).orElseThrow().size());
            }
        }
        // The structure capabilities are read-only to the driver.
        f.config().write(0x84 + 8, 4, 0x12345678);
        assertThat(f.config().read(0x84 + 8, 4)).isZero();
        // MSI-X: 4 entries, table at BAR1 + 0, PBA at BAR1 + 0x800.
        assertThat(f.config().read(0xde, 2)).isEqualTo(3);
        assertThat(f.config().read(0xe0, 4)).isEqualTo(0x00000001);
        assertThat(f.config().read(0xe4, 4)).isEqualTo(0x00000801);
        assertThat(f.pcieType()).isEqualTo(PciRegs.PCI_EXP_TYPE_ENDPOINT);
        assertThat(f.config().read(0x40 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isNotZero();
    }

    @Test
    @DisplayName("qemu-xhci: 1b36:000d class 0x0c0330, BAR0 mem64 16 KiB, SBRN 0x30, MSI-X 16 (table 0x3000, PBA 0x3800), MSI 16")
    void xhci() {
        PciFunction f = DeviceCatalog.QEMU_XHCI.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x000d1b36);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x0c033001);
        assertThat(f.config().read(0x60, 1)).as("SBRN: USB 3.0").isEqualTo(0x30);
        assertThat(f.capabilities()).containsExactly(new Capability(PciRegs.PCI_CAP_ID_MSIX, 0x90, false),
                new Capability(PciRegs.PCI_CAP_ID_EXP, 0xa0, false), new Capability(PciRegs.PCI_CAP_ID_MSI, 0x70, false));
        assertThat(f.config().read(0x92, 2)).isEqualTo(15);
        assertThat(f.config().read(0x94, 4)).isEqualTo(0x00003000);
        assertThat(f.config().read(0x98, 4)).isEqualTo(0x00003800);
        // MSI: Multiple Message Capable 4 (16 vectors), 64-bit, no masking; Multiple Message Enable RW.
        assertThat(f.config().read(0x72, 2)).isEqualTo(4 << 1 | PciRegs.PCI_MSI_FLAGS_64BIT);
        f.config().write(0x10, 4, 0xffffffff);
        f.config().write(0x14, 4, 0xffffffff);
        assertThat(f.config().read(0x10, 4)).isEqualTo(0xffffc004);
        assertThat(f.config().read(0x14, 4)).isEqualTo(0xffffffff);
        assertThat(f.bars()).containsExactly(new BarSpec(0, BarKind.MEM64, 0x4000, false));
    }
}
