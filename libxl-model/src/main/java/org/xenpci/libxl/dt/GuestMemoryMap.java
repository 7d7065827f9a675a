package org.xenpci.libxl.dt;

/**
 * The fixed Arm guest physical memory map and DT constants of
 * xen/include/public/arch-arm.h and device_tree_defs.h (Xen 4.23).
 * Addresses and sizes are guest physical, in bytes.
 *
 * <p>Xen documents these as consistency values between the tools and the hypervisor, not as
 * guest ABI; they may change between Xen versions.
 */
public final class GuestMemoryMap {
    /** Base of the virtio-mmio region. */
    public static final long GUEST_VIRTIO_MMIO_BASE = 0x02000000L;
    /** Size of the virtio-mmio region. */
    public static final long GUEST_VIRTIO_MMIO_SIZE = 0x00100000L;

    /** GICv2 distributor base. */
    public static final long GUEST_GICD_BASE = 0x03001000L;
    /** GICv2 distributor size. */
    public static final long GUEST_GICD_SIZE = 0x00001000L;
    /** GICv2 CPU interface base. */
    public static final long GUEST_GICC_BASE = 0x03002000L;
    /** GICv2 CPU interface size. */
    public static final long GUEST_GICC_SIZE = 0x00002000L;
    /** GICv3 distributor base. */
    public static final long GUEST_GICV3_GICD_BASE = 0x03001000L;
    /** GICv3 distributor size. */
    public static final long GUEST_GICV3_GICD_SIZE = 0x00010000L;
    /** GICv3 redistributor region base (vCPU 0..127). */
    public static final long GUEST_GICV3_GICR0_BASE = 0x03020000L;
    /** GICv3 redistributor region size. */
    public static final long GUEST_GICV3_GICR0_SIZE = 0x01000000L;

    /** Guest vPCI ECAM window base (256 buses). */
    public static final long GUEST_VPCI_ECAM_BASE = 0x10000000L;
    /** Guest vPCI ECAM window size, 256 MiB. */
    public static final long GUEST_VPCI_ECAM_SIZE = 0x10000000L;

    /** ACPI tables region (only with acpi=1). */
    public static final long GUEST_ACPI_BASE = 0x20000000L;
    /** ACPI tables region size. */
    public static final long GUEST_ACPI_SIZE = 0x02000000L;

    /** SBSA UART (vpl011) base. */
    public static final long GUEST_PL011_BASE = 0x22000000L;
    /** SBSA UART (vpl011) size. */
    public static final long GUEST_PL011_SIZE = 0x00001000L;

    /** {@code ranges} phys.hi of the 32-bit non-prefetchable window (ss=10). */
    public static final int GUEST_VPCI_ADDR_TYPE_MEM = 0x02000000;
    /** Non-prefetchable BAR window base. */
    public static final long GUEST_VPCI_MEM_ADDR = 0x23000000L;
    /** Non-prefetchable BAR window size, 256 MiB. */
    public static final long GUEST_VPCI_MEM_SIZE = 0x10000000L;

    /** Grant table region base (hypervisor node reg[0]). */
    public static final long GUEST_GNTTAB_BASE = 0x38000000L;
    /** Grant table region size. */
    public static final long GUEST_GNTTAB_SIZE = 0x01000000L;
    /** Magic pages (xenstore, console...) base. */
    public static final long GUEST_MAGIC_BASE = 0x39000000L;
    /** Magic pages size. */
    public static final long GUEST_MAGIC_SIZE = 0x01000000L;

    /** RAM bank 0 base. */
    public static final long GUEST_RAM0_BASE = 0x40000000L;
    /** RAM bank 0 size, 3 GiB. */
    public static final long GUEST_RAM0_SIZE = 0xC0000000L;

    /** {@code ranges} phys.hi of the 64-bit prefetchable window (p=1, ss=11); 0x42000000 before April 2024. */
    public static final int GUEST_VPCI_ADDR_TYPE_PREFETCH_MEM = 0x43000000;
    /** Prefetchable BAR window base, in the hole between the RAM banks. */
    public static final long GUEST_VPCI_PREFETCH_MEM_ADDR = 0x100000000L;
    /** Prefetchable BAR window size, 4 GiB. */
    public static final long GUEST_VPCI_PREFETCH_MEM_SIZE = 0x100000000L;

    /** RAM bank 1 base. */
    public static final long GUEST_RAM1_BASE = 0x0200000000L;
    /** RAM bank 1 size, 1016 GiB. */
    public static final long GUEST_RAM1_SIZE = 0xFE00000000L;

    /** Number of RAM banks. */
    public static final int GUEST_RAM_BANKS = 2;
    /** Largest guest RAM, bytes. */
    public static final long GUEST_RAM_MAX = GUEST_RAM0_SIZE + GUEST_RAM1_SIZE;

    /** Most vCPUs an Arm guest can have. */
    public static final int GUEST_MAX_VCPUS = 128;

    /** Virtual timer PPI. */
    public static final int GUEST_TIMER_VIRT_PPI = 27;
    /** Secure physical timer PPI. */
    public static final int GUEST_TIMER_PHYS_S_PPI = 29;
    /** Non-secure physical timer PPI. */
    public static final int GUEST_TIMER_PHYS_NS_PPI = 30;
    /** Event channel upcall PPI. */
    public static final int GUEST_EVTCHN_PPI = 31;
    /** vpl011 SPI. */
    public static final int GUEST_VPL011_SPI = 32;

    /** Phandle of the guest GIC. */
    public static final int GUEST_PHANDLE_GIC = 65000;
    /** Phandle of the {@code xen,grant-dma} IOMMU node. */
    public static final int GUEST_PHANDLE_IOMMU = 65001;
    /** Root {@code #address-cells}. */
    public static final int GUEST_ROOT_ADDRESS_CELLS = 2;
    /** Root {@code #size-cells}. */
    public static final int GUEST_ROOT_SIZE_CELLS = 2;

    /** PSCI function id for CPU_OFF in the guest DT. */
    public static final int PSCI_CPU_OFF = 1;
    /** PSCI function id for CPU_ON in the guest DT. */
    public static final int PSCI_CPU_ON = 2;

    /** DT interrupt type: edge rising. */
    public static final int DT_IRQ_TYPE_EDGE_RISING = 0x1;
    /** DT interrupt type: level high. */
    public static final int DT_IRQ_TYPE_LEVEL_HIGH = 0x4;
    /** DT interrupt type: level low. */
    public static final int DT_IRQ_TYPE_LEVEL_LOW = 0x8;

    /** Smallest extended region libxl reports (EXT_REGION_MIN_SIZE), 64 MiB. */
    public static final long EXT_REGION_MIN_SIZE = 0x04000000L;
    /** Most extended regions in the hypervisor node (MAX_NR_EXT_REGIONS). */
    public static final int MAX_NR_EXT_REGIONS = 256;

    private GuestMemoryMap() {
    }

    /**
     * Returns RAM bank {@code i} as a range.
     *
     * @param bank 0 or 1
     * @return the full bank
     */
    public static AddressRange ramBank(int bank) {
        if (bank == 0) {
            return AddressRange.ofSize(GUEST_RAM0_BASE, GUEST_RAM0_SIZE);
        }
        if (bank == 1) {
            return AddressRange.ofSize(GUEST_RAM1_BASE, GUEST_RAM1_SIZE);
        }
        throw new IllegalArgumentException("RAM bank " + bank + " out of range 0..1");
    }

    /**
     * Returns the three vPCI windows: ECAM, non-prefetchable MEM, prefetchable MEM.
     *
     * @return the windows in that order
     */
    public static java.util.List<AddressRange> vpciWindows() {
        return java.util.List.of(AddressRange.ofSize(GUEST_VPCI_ECAM_BASE, GUEST_VPCI_ECAM_SIZE),
                AddressRange.ofSize(GUEST_VPCI_MEM_ADDR, GUEST_VPCI_MEM_SIZE),
                AddressRange.ofSize(GUEST_VPCI_PREFETCH_MEM_ADDR, GUEST_VPCI_PREFETCH_MEM_SIZE));
    }

    /**
     * Returns every other fixed region of the map (GIC v2 and v3, virtio-mmio, ACPI, PL011,
     * grant table, magic pages, both RAM banks), for overlap checks.
     *
     * @return the regions
     */
    public static java.util.List<AddressRange> fixedNonVpciRegions() {
        return java.util.List.of(AddressRange.ofSize(GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_SIZE),
                AddressRange.ofSize(GUEST_GICD_BASE, GUEST_GICD_SIZE),
                AddressRange.ofSize(GUEST_GICC_BASE, GUEST_GICC_SIZE),
                AddressRange.ofSize(GUEST_GICV3_GICD_BASE, GUEST_GICV3_GICD_SIZE),
                AddressRange.ofSize(GUEST_GICV3_GICR0_BASE, GUEST_GICV3_GICR0_SIZE),
                AddressRange.ofSize(GUEST_ACPI_BASE, GUEST_ACPI_SIZE),
                AddressRange.ofSize(GUEST_PL011_BASE, GUEST_PL011_SIZE),
                AddressRange.ofSize(GUEST_GNTTAB_BASE, GUEST_GNTTAB_SIZE),
                AddressRange.ofSize(GUEST_MAGIC_BASE, GUEST_MAGIC_SIZE),
                ramBank(0), ramBank(1));
    }
}
