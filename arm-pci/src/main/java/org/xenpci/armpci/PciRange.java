package org.xenpci.armpci;

import org.xenpci.core.Hex;

/**
 * One entry of a host bridge's DT {@code ranges}: a window of PCI bus addresses and the CPU
 * (machine) addresses it appears at (IEEE 1275 PCI bus binding, as used by Linux's
 * {@code of_pci_range_parser}).
 *
 * <pre>
 *  phys.hi:  n p t 0 0 0 s s  b b b b b b b b  d d d d d f f f  r r r r r r r r
 *            31      27 25 24 23            16 15          8  7             0
 *  ss = space code (00 config, 01 IO, 10 MEM32, 11 MEM64), p = prefetchable (bit 30)
 * </pre>
 *
 * @param flags the raw phys.hi cell
 * @param space decoded space code
 * @param prefetchable phys.hi bit 30
 * @param pciAddress the 64-bit PCI address (phys.mid:phys.lo)
 * @param cpuAddress the CPU address in the parent bus's address space (bytes)
 * @param size bytes
 */
public record PciRange(int flags, Space space, boolean prefetchable, long pciAddress, long cpuAddress, long size) {

    /** PCI address space of a range (phys.hi bits 25:24). */
    public enum Space {
        /** 00: configuration space (never used in host bridge ranges in practice). */
        CONFIG,
        /** 01: I/O space. */
        IO,
        /** 10: 32-bit memory space. */
        MEM32,
        /** 11: 64-bit memory space. */
        MEM64
    }

    /** phys.hi bit 30. */
    public static final int PREFETCHABLE = 0x4000_0000;

    /** Decodes phys.hi into space and prefetchable. */
    public static PciRange of(int flags, long pciAddress, long cpuAddress, long size) {
        Space space = Space.values()[(flags >>> 24) & 3];
        return new PciRange(flags, space, (flags & PREFETCHABLE) != 0, pciAddress, cpuAddress, size);
    }

    /** Last CPU address of the range, inclusive. */
    public long cpuLast() {
        return cpuAddress + size - 1;
    }

    /** True if the inclusive CPU byte range {@code [first, last]} lies entirely inside this range. */
    public boolean containsCpu(long first, long last) {
        return size > 0 && Long.compareUnsigned(first, cpuAddress) >= 0 && Long.compareUnsigned(last, cpuLast()) <= 0
                && Long.compareUnsigned(first, last) <= 0;
    }

    @Override
    public String toString() {
        return "PciRange[" + space + (prefetchable ? " pref" : "") + " pci " + Hex.of(pciAddress) + " cpu "
                + Hex.of(cpuAddress) + " size " + Hex.of(size) + "]";
    }
}
