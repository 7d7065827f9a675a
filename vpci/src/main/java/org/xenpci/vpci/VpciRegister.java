package org.xenpci.vpci;

/**
 * One emulated register ({@code struct vpci_register}, xen/drivers/vpci/private.h), as
 * {@link VpciRegisters#getRegister} and {@link VpciRegisters#registers} report it: a value built
 * on demand from the table's arrays, so two lookups of one register give equal records, not the
 * same object.
 *
 * @param offset byte offset in config space, a multiple of {@code size}, below 4096
 * @param size 1, 2 or 4 bytes
 * @param read read callback (a missing one was replaced by "all-ones" when added)
 * @param write write callback (a missing one was replaced by "ignore" when added)
 * @param roMask bits that keep their current value on a write
 * @param rw1cMask write-1-to-clear bits: never written back from the current value
 * @param rsvdpMask reserved, preserve: read as 0, keep their current value on a write
 * @param rsvdzMask reserved, zero: read as 0, always written as 0
 */
public record VpciRegister(int offset, int size, ReadHandler read, WriteHandler write,
                           int roMask, int rw1cMask, int rsvdpMask, int rsvdzMask) {

    /** First byte after the register. */
    public int end() {
        return offset + size;
    }

    /** True if the register shares at least one byte with {@code [start, start+len)}. */
    public boolean overlaps(int start, int len) {
        return offset < start + len && start < offset + size;
    }
}
