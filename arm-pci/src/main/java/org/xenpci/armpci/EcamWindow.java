package org.xenpci.armpci;

import org.xenpci.core.Hex;

/**
 * One config-space window of a host bridge as Xen records it ({@code struct pci_config_window}
 * in xen/arch/arm/include/asm/pci.h): the machine address and size of the ECAM region and the
 * bus numbers it serves.
 *
 * <pre>
 *  address = physBase + ((bus - busStart) &lt;&lt; 20) + (devfn &lt;&lt; 12) + reg
 *            (pci_ecam_map_bus, bus_shift 20; PCIe Base 7.2.2)
 * </pre>
 *
 * There is deliberately no check that {@code size} covers {@code busStart..busEnd}: Xen has none
 * (xen/arch/arm/pci/ecam.c: pci_ecam_map_bus).
 *
 * @param physBase machine address of the window's first byte
 * @param size window size in bytes, as the DT {@code reg} entry gives it
 * @param busStart first bus served (0..0xff, Xen's u8 {@code busn_start})
 * @param busEnd last bus served, inclusive (0..0xff, Xen's u8 {@code busn_end})
 */
public record EcamWindow(long physBase, long size, int busStart, int busEnd) {
    /** ECAM bus field shift: 20 bits of (devfn, reg) below it. */
    public static final int BUS_SHIFT = 20;
    /** ECAM devfn field shift: 12 bits of register below it. */
    public static final int DEVFN_SHIFT = 12;

    public EcamWindow {
        if (busStart < 0 || busStart > 0xff || busEnd < 0 || busEnd > 0xff) {
            throw new IllegalArgumentException("bus range " + Hex.of(busStart) + ".." + Hex.of(busEnd)
                    + " does not fit Xen's u8 bus numbers");
        }
    }

    /** True if {@code bus} lies in {@code [busStart, busEnd]} (an empty range when start > end). */
    public boolean covers(int bus) {
        return bus >= busStart && bus <= busEnd;
    }

    /**
     * Xen's {@code pci_ecam_map_bus}: the machine address of config register {@code reg} (bytes)
     * of {@code devfn} on {@code bus}, or -1 (Xen's NULL) when the bus is outside the window's
     * bus range. Allocation-free. {@code reg} is added unchecked, as Xen does.
     */
    public long mapBus(int bus, int devfn, int reg) {
        if (!covers(bus)) {
            return -1;
        }
        return physBase + ((long) (bus - busStart) << BUS_SHIFT) + ((long) devfn << DEVFN_SHIFT) + (reg & 0xffffffffL);
    }

    @Override
    public String toString() {
        return "EcamWindow[" + Hex.of(physBase) + "+" + Hex.of(size) + ", bus " + Hex.of(busStart) + ".."
                + Hex.of(busEnd) + "]";
    }
}
