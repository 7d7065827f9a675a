package org.xenpci.armpci.hw;

import java.util.LinkedHashMap;
import java.util.Map;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.core.pci.PciRegs;

/**
 * The builders the committed catalog texts were generated from. {@link DeviceCatalogTest}
 * checks the resources still equal this output; run it with {@code -Dxenpci.regenerateCatalog=true}
 * to rewrite them.
 */
final class CatalogImages {
    private CatalogImages() {
    }

    static ConfigImage qemuNvme() {
        return ConfigImage.endpoint(0x1b36, 0x0010).revision(0x02).classCode(0x010802)
                .subsystem(0x1af4, 0x1100).interruptPin(1)
                .bar(0, BarKind.MEM64, 0x4000, false)
                .capabilityAt(0x40).msix(65, 0, 0x2000, 0, 0x3000)
                // hw/nvme/ctrl.c nvme_init_pci: nvme_add_pm_capability sets No_Soft_Reset;
                // pcie_cap_flr_init advertises FLR.
                .capabilityAt(0x60).powerManagement()
                .capabilityAt(0x80).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).flr()
                .build();
    }

    static ConfigImage e1000e() {
        return ConfigImage.endpoint(0x8086, 0x10d3).revision(0x00).classCode(0x020000)
                .subsystem(0x8086, 0x0000).interruptPin(1)
                .bar(0, BarKind.MEM32, 0x20000, false)
                .bar(1, BarKind.MEM32, 0x20000, false)
                .bar(2, BarKind.IO, 0x20, false)
                .bar(3, BarKind.MEM32, 0x4000, false)
                .rom(0x40000)
                // hw/net/e1000e.c e1000e_add_pm_capability leaves PMCSR 0 (No_Soft_Reset clear,
                // so D3hot -> D0 resets); e1000e_pci_realize never calls pcie_cap_flr_init: no FLR.
                .capabilityAt(0xc8).powerManagement(false)
                .capabilityAt(0xd0).msi(true, 0, false)
                .capabilityAt(0xe0).pcieV1(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .capabilityAt(0xa0).msix(5, 3, 0x0000, 3, 0x2000)
                .aer()
                .serialNumber(0x0000_0000_0000_0000L)
                .build();
    }

    static ConfigImage qemuRootPort() {
        return ConfigImage.bridge(0x1b36, 0x000c).revision(0x00).classCode(0x060400).interruptPin(1)
                .bar(0, BarKind.MEM32, 0x1000, false)
                .capabilityAt(0x54).pcie(PciRegs.PCI_EXP_TYPE_ROOT_PORT)
                .capabilityAt(0x48).msix(1, 0, 0x000, 0, 0x800)
                .capabilityAt(0x40).bridgeSubsystem(0x1b36, 0x0000)
                .aer()
                .extendedCapability(PciRegs.PCI_EXT_CAP_ID_ACS, 1, new byte[] {0x1f, 0x00, 0x00, 0x00})
                .build();
    }

    static ConfigImage ich9HdaFn0() {
        return ConfigImage.endpoint(0x8086, 0x293e).revision(0x03).classCode(0x040300)
                .subsystem(0x1af4, 0x1100).interruptPin(1).multiFunction()
                .bar(0, BarKind.MEM32, 0x4000, false)
                .capabilityAt(0x60).msi(true, 0, false)
                .capabilityAt(0x70).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .build();
    }

    static ConfigImage pciSerialFn1() {
        return ConfigImage.endpoint(0x1b36, 0x0002).revision(0x01).classCode(0x070002)
                .subsystem(0x1af4, 0x1100).interruptPin(1)
                .bar(0, BarKind.IO, 0x8, false)
                .build();
    }

    static ConfigImage ivshmem8g() {
        return ConfigImage.endpoint(0x1af4, 0x1110).revision(0x01).classCode(0x050000)
                .subsystem(0x1af4, 0x1100).interruptPin(1)
                .bar(0, BarKind.MEM32, 0x100, false)
                .bar(2, BarKind.MEM64, 8L << 30, true)
                .build();
    }

    /** QEMU igb (hw/net/igb.c): an 82576-like SR-IOV PF. */
    static ConfigImage igbPf() {
        return ConfigImage.endpoint(0x8086, 0x10c9).revision(0x01).classCode(0x020000)
                .subsystem(0x8086, 0x0000).interruptPin(1)
                .bar(0, BarKind.MEM32, 0x20000, false)
                .bar(1, BarKind.MEM32, 0x20000, false)
                .bar(2, BarKind.IO, 0x20, false)
                .bar(3, BarKind.MEM32, 0x4000, false)
                .capabilityAt(0x40).powerManagement(false)
                .capabilityAt(0x50).msi(true, 0, true)
                .capabilityAt(0x70).msix(10, 3, 0x0000, 3, 0x2000)
                .capabilityAt(0xa0).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).flr()
                .aer()
                .extendedCapability(PciRegs.PCI_EXT_CAP_ID_ARI, 1, new byte[4])
                // IGB_TOTAL_VFS 8, IGB_VF_OFFSET 0x80, IGB_VF_STRIDE 2, VF BARs 0 and 3 (mmio, msix).
                .sriov(8, 0x80, 2, 0x10ca,
                        new BarSpec(0, BarKind.MEM64, 0x4000, true), new BarSpec(3, BarKind.MEM64, 0x4000, true))
                .build();
    }

    /** A VF of that PF as its own config space reads (hw/net/igbvf.c): IDs 0xffff, no BAR registers. */
    static ConfigImage igbVf() {
        return ConfigImage.endpoint(0xffff, 0xffff).revision(0x01).classCode(0x020000)
                .subsystem(0x8086, 0x0000)
                .capabilityAt(0x70).msix(3, 3, 0x0000, 3, 0x2000)
                .capabilityAt(0xa0).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).flr()
                .aer()
                .extendedCapability(PciRegs.PCI_EXT_CAP_ID_ARI, 1, new byte[4])
                .build();
    }

    /**
     * TI XIO3130 switch upstream port as QEMU models it (hw/pci-bridge/xio3130_upstream.c,
     * 104c:8232 rev 2): no BARs, MSI (1 vector, 64-bit) at 0x70, bridge subsystem ID at 0x80,
     * PCIe capability (type 5, upstream switch port; {@code pcie_cap_flr_init} advertises FLR) at
     * 0x90, AER at 0x100. Like QEMU, no interrupt pin.
     */
    static ConfigImage xio3130Upstream() {
        return ConfigImage.bridge(0x104c, 0x8232).revision(0x02).classCode(0x060400)
                .capabilityAt(0x70).msi(true, 0, false)
                .capabilityAt(0x80).bridgeSubsystem(0x0000, 0x0000)
                .capabilityAt(0x90).pcie(PciRegs.PCI_EXP_TYPE_UPSTREAM).flr()
                .aer()
                .build();
    }

    /**
     * TI XIO3130 switch downstream port (hw/pci-bridge/xio3130_downstream.c, 104c:8233 rev 1):
     * the upstream port's layout with PCIe type 6 (downstream port, slot implemented), FLR.
     */
    static ConfigImage xio3130Downstream() {
        return ConfigImage.bridge(0x104c, 0x8233).revision(0x01).classCode(0x060400)
                .capabilityAt(0x70).msi(true, 0, false)
                .capabilityAt(0x80).bridgeSubsystem(0x0000, 0x0000)
                .capabilityAt(0x90).pcie(PciRegs.PCI_EXP_TYPE_DOWNSTREAM).flr()
                .aer()
                .build();
    }

    /** virtio 1.x cfg_type values (virtio 1.2, 4.1.4 "Virtio Structure PCI Capabilities"). */
    static final int VIRTIO_PCI_CAP_COMMON_CFG = 1;
    static final int VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
    static final int VIRTIO_PCI_CAP_ISR_CFG = 3;
    static final int VIRTIO_PCI_CAP_DEVICE_CFG = 4;
    static final int VIRTIO_PCI_CAP_PCI_CFG = 5;

    /** The body of a {@code struct virtio_pci_cap} after cap_vndr/cap_next/cap_len: 13 bytes, plus {@code extra}. */
    static byte[] virtioCap(int cfgType, int bar, int offset, int length, byte[] extra) {
        byte[] b = new byte[13 + extra.length];
        b[0] = (byte) cfgType;
        b[1] = (byte) bar;
        // b[2] id (virtio 1.2; 0), b[3..4] padding
        for (int i = 0; i < 4; i++) {
            b[5 + i] = (byte) (offset >>> (8 * i));
            b[9 + i] = (byte) (length >>> (8 * i));
        }
        System.arraycopy(extra, 0, b, 13, extra.length);
        return b;
    }

    /**
     * QEMU virtio-net-pci with {@code disable-legacy=on} on a PCIe bus (hw/virtio/virtio-pci.c,
     * hw/virtio/virtio-net-pci.c): 1af4:1041 rev 1 (0x1040 + device type 1), class 0x020000,
     * subsystem 1af4:1100. BAR1 mem32 4 KiB holds the MSI-X table (0) and PBA (0x800), 4 vectors
     * (2 queues + config + control); BAR4 mem64 prefetchable 16 KiB holds the modern regions:
     * common 0x0000, ISR 0x1000, device 0x2000, notify 0x3000 (0x1000 each; notify_off_multiplier
     * 4). Capabilities where QEMU puts them: PCIe endpoint with FLR 0x40, PM 0x7c, the five
     * vendor-specific virtio capabilities (common 0x84, ISR 0x94, device 0xa4, notify 0xb4,
     * pci-cfg 0xc8), MSI-X 0xdc, chained from 0xdc down as {@code pci_add_capability} prepends.
     */
    static ConfigImage virtioNetModern() {
        return ConfigImage.endpoint(0x1af4, 0x1041).revision(0x01).classCode(0x020000)
                .subsystem(0x1af4, 0x1100).interruptPin(1)
                .bar(1, BarKind.MEM32, 0x1000, false)
                .bar(4, BarKind.MEM64, 0x4000, true)
                .capabilityAt(0xdc).msix(4, 1, 0x000, 1, 0x800)
                .capabilityAt(0xc8).vendorCapability(virtioCap(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, new byte[4]))
                .capabilityAt(0xb4).vendorCapability(virtioCap(VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000,
                        new byte[] {4, 0, 0, 0}))
                .capabilityAt(0xa4).vendorCapability(virtioCap(VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000, new byte[0]))
                .capabilityAt(0x94).vendorCapability(virtioCap(VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000, new byte[0]))
                .capabilityAt(0x84).vendorCapability(virtioCap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000, new byte[0]))
                .capabilityAt(0x7c).powerManagement()
                .capabilityAt(0x40).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).flr()
                .build();
    }

    /**
     * QEMU qemu-xhci (hw/usb/hcd-xhci-pci.c, 1b36:000d rev 1, class 0x0c0330): BAR0 mem64 16 KiB
     * (capability, operational, runtime and doorbell registers), SBRN 0x30 (USB 3.0) and FLADJ
     * 0x20 at 0x60/0x61, 16 interrupters: MSI (16 vectors, 64-bit) at 0x70, MSI-X 16 entries at
     * 0x90 (table 0x3000, PBA 0x3800 in BAR0), PCIe endpoint at 0xa0; added MSI, PCIe, MSI-X by
     * {@code usb_xhci_pci_realize}, so chained 0x90, 0xa0, 0x70.
     */
    static ConfigImage qemuXhci() {
        return ConfigImage.endpoint(0x1b36, 0x000d).revision(0x01).classCode(0x0c0330)
                .subsystem(0x1af4, 0x1100).interruptPin(1)
                .bar(0, BarKind.MEM64, 0x4000, false)
                .register(0x60, 1, 0x30).register(0x61, 1, 0x20)
                .capabilityAt(0x90).msix(16, 0, 0x3000, 0, 0x3800)
                .capabilityAt(0xa0).pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
                .capabilityAt(0x70).msi(true, 4, false)
                .build();
    }

    /** Resource file name to its text. */
    static Map<String, String> texts() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("qemu-nvme.lspci", ConfigDumps.formatLspci(
                "00:02.0 Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller (rev 02)", qemuNvme().bytes()));
        m.put("e1000e.lspci", ConfigDumps.formatLspci(
                "00:03.0 Ethernet controller: Intel Corporation 82574L Gigabit Network Connection", e1000e().bytes()));
        m.put("qemu-pcie-root-port.lspci", ConfigDumps.formatLspci(
                "00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port", qemuRootPort().bytes()));
        m.put("ich9-hda-plus-serial.lspci", ConfigDumps.formatLspci(
                "00:04.0 Audio device: Intel Corporation 82801I (ICH9 Family) HD Audio Controller (rev 03)", ich9HdaFn0().bytes())
                + ConfigDumps.formatLspci("00:04.1 Serial controller: Red Hat, Inc. QEMU PCI 16550A Adapter (rev 01)",
                        pciSerialFn1().bytes()));
        m.put("ivshmem-plain-8g.lspci", ConfigDumps.formatLspci(
                "00:05.0 RAM memory: Red Hat, Inc. Inter-VM shared memory (rev 01)", ivshmem8g().bytes()));
        m.put("igb.lspci", ConfigDumps.formatLspci(
                "01:00.0 Ethernet controller: Intel Corporation 82576 Gigabit Network Connection (rev 01)", igbPf().bytes())
                + ConfigDumps.formatLspci("01:10.0 Ethernet controller: Intel Corporation 82576 Virtual Function (rev 01)",
                        igbVf().bytes()));
        m.put("xio3130-switch.lspci", ConfigDumps.formatLspci(
                "01:00.0 PCI bridge: Texas Instruments XIO3130 PCI Express Switch (Upstream) (rev 02)", xio3130Upstream().bytes())
                + ConfigDumps.formatLspci("02:00.0 PCI bridge: Texas Instruments XIO3130 PCI Express Switch (Downstream) (rev 01)",
                        xio3130Downstream().bytes()));
        m.put("virtio-net-modern.lspci", ConfigDumps.formatLspci(
                "00:06.0 Ethernet controller: Red Hat, Inc. Virtio 1.0 network device (rev 01)", virtioNetModern().bytes()));
        m.put("qemu-xhci.lspci", ConfigDumps.formatLspci(
                "00:07.0 USB controller: Red Hat, Inc. QEMU XHCI Host Controller (rev 01)", qemuXhci().bytes()));
        return m;
    }
}
