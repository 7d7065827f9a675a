package org.xenpci.vpci;

/**
 * One BAR slot of {@code struct vpci_header} (xen/include/xen/vpci.h): 6 BARs plus the ROM at slot num_bars.
 * Mutable emulation state, guarded by the owning {@link VpciDevice}'s monitor; getters are for
 * inspection (tests, the p2m owner).
 */
public final class VpciBar {
    /** {@code enum vpci_bar_type}. */
    public enum Type { EMPTY, IO, MEM32, MEM64_LO, MEM64_HI, ROM }

    private final int index;
    Type type = Type.EMPTY;
    long addr;
    long guestAddr;
    long size;
    boolean prefetchable;
    volatile boolean enabled;

    VpciBar(int index) {
        this.index = index;
    }

    /** Slot index: 0..5 for BARs, num_bars for the ROM. */
    public int index() {
        return index;
    }

    public Type type() {
        return type;
    }

    /** Host (machine) address in bytes. */
    public long addr() {
        return addr;
    }

    /** Address the owning domain sees (equal to {@link #addr} for hwdom). */
    public long guestAddr() {
        return guestAddr;
    }

    /** Size in bytes (0 for EMPTY/IO/MEM64_HI). */
    public long size() {
        return size;
    }

    public boolean prefetchable() {
        return prefetchable;
    }

    /** True while mapped in the owner's p2m. */
    public boolean enabled() {
        return enabled;
    }

    /** {@code MAPPABLE_BAR}: MEM32, MEM64_LO and ROM. */
    public boolean mappable() {
        return type == Type.MEM32 || type == Type.MEM64_LO || type == Type.ROM;
    }

    @Override
    public String toString() {
        return "BAR" + index + "[" + type + " addr=0x" + Long.toHexString(addr) + " guest=0x"
                + Long.toHexString(guestAddr) + " size=0x" + Long.toHexString(size) + (enabled ? " mapped" : "") + "]";
    }
}
