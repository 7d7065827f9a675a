package org.xenpci.vpci;

/**
 * Xen's ECAM access rule ({@code vpci_access_allowed}, xen/drivers/vpci/vpci.c): an access of
 * 1, 2, 4 or 8 bytes, naturally aligned, that stays inside the 4 KiB config space.
 */
public final class VpciAccess {
    private VpciAccess() {
    }

    /** Config space size in bytes. */
    public static final int CONFIG_SIZE = 4096;

    /** True if the access may be emulated; false makes the vCPU take a data abort. */
    public static boolean allowed(int reg, int size) {
        return (size == 1 || size == 2 || size == 4 || size == 8)
                && (reg & (size - 1)) == 0
                && reg >= 0 && reg + size <= CONFIG_SIZE;
    }
}
