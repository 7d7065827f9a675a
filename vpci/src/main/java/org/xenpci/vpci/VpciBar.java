package org.xenpci.vpci;

/**
 * One BAR slot of {@code struct vpci_header} (xen/include/xen/vpci.h): 6 BARs plus the ROM at slot num_bars.
 * Mutable emulation state, guarded by the owning {@link VpciDevice}'s monitor; getters are for
 * inspection (tests, the p2m owner).
 *
 * <p>Xen embeds all seven slots in every pdev's header. Here only a memory BAR or the ROM
 * (the {@link #mappable} types, whose addresses and mapped state change) has an object of its
 * own; an EMPTY, IO or MEM64_HI slot holds nothing but its index and type, so it is one shared,
 * never-written instance per (index, type) ({@link #unimplemented}). A device with one 64-bit
 * BAR keeps one object instead of seven. Type, size and prefetchability are fixed when the
 * header is initialised ({@code vpci_init_header} sizes each BAR once).
 */
public final class VpciBar {
    /** {@code enum vpci_bar_type}. */
    public enum Type { EMPTY, IO, MEM32, MEM64_LO, MEM64_HI, ROM }

    /** Shared slots: [type][index] for EMPTY, IO and MEM64_HI. */
    private static final VpciBar[][] UNIMPLEMENTED = new VpciBar[Type.values().length][];

    static {
        for (Type t : new Type[] {Type.EMPTY, Type.IO, Type.MEM64_HI}) {
            VpciBar[] slots = new VpciBar[VpciHeader.SLOTS];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new VpciBar(i, t, 0, false);
            }
            UNIMPLEMENTED[t.ordinal()] = slots;
        }
    }

    private final int index;
    final Type type;
    /** Written only for a mappable BAR (BAR writes, ROM writes); 0 in a shared slot. */
    long addr;
    /** Written only for a mappable BAR; 0 in a shared slot. */
    long guestAddr;
    final long size;
    final boolean prefetchable;
    /** Set only for a mappable BAR ({@code modify_decoding}); always false in a shared slot. */
    volatile boolean enabled;

    private VpciBar(int index, Type type, long size, boolean prefetchable) {
        this.index = index;
        this.type = type;
        this.size = size;
        this.prefetchable = prefetchable;
    }

    /**
     * A memory BAR or the ROM of one device, found by sizing at {@code addr} (host and, until the
     * owner writes it, guest address).
     */
    static VpciBar implemented(int index, Type type, long addr, long size, boolean prefetchable) {
        if (type != Type.MEM32 && type != Type.MEM64_LO && type != Type.ROM) {
            throw new IllegalArgumentException("BAR " + index + ": " + type + " slots are shared");
        }
        VpciBar b = new VpciBar(index, type, size, prefetchable);
        b.addr = addr;
        b.guestAddr = addr;
        return b;
    }

    /** The shared slot {@code index} of an EMPTY, IO or MEM64_HI BAR: no address, size 0, never mapped. */
    static VpciBar unimplemented(int index, Type type) {
        VpciBar[] slots = UNIMPLEMENTED[type.ordinal()];
        if (slots == null) {
            throw new IllegalArgumentException("BAR " + index + ": " + type + " slots are per device");
        }
        return slots[index];
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
