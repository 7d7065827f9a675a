package org.xenpci.core.fdt;

/**
 * One entry of the memory reservation block (Devicetree Specification v0.4, 5.3): a physical
 * range the client program must not use for general allocations.
 *
 * <p>Both values are unsigned 64-bit numbers stored in a {@code long}; use
 * {@link Long#toUnsignedString(long)} to print them. Avoid a size of 0: libfdt and dtc treat
 * such an entry as the end of the map and ignore everything after it.
 *
 * @param address physical start address, in bytes
 * @param size    length, in bytes
 */
public record MemReserve(long address, long size) {
    @Override
    public String toString() {
        return "MemReserve[0x" + Long.toHexString(address) + " +0x" + Long.toHexString(size) + "]";
    }
}
