package org.xenpci.armpci.hw;

import org.xenpci.core.Hex;

/**
 * An outbound window of a host bridge, as one entry of the DT {@code ranges} property
 * describes it: CPU accesses to {@code [cpuAddress, cpuAddress+size)} become PCI accesses at
 * {@code pciAddress + (cpu - cpuAddress)} in {@code kind}'s address space. Addresses and size
 * in bytes.
 */
public record Aperture(long cpuAddress, long pciAddress, long size, ApertureKind kind, boolean prefetchable) {
    /**
     * Checks the window is usable.
     *
     * @throws HardwareConfigException for a null kind, a non-positive size or a wrapping range
     */
    public Aperture {
        if (kind == null) {
            throw new HardwareConfigException("aperture at " + Hex.of(cpuAddress) + ": kind is null");
        }
        if (size <= 0 || cpuAddress + size - 1 < cpuAddress || pciAddress + size - 1 < pciAddress) {
            throw new HardwareConfigException("aperture " + kind + " " + Hex.of(cpuAddress) + "+" + Hex.of(size) + " -> "
                    + Hex.of(pciAddress) + " is empty or wraps");
        }
    }
}
