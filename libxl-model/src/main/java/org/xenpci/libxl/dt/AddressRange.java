package org.xenpci.libxl.dt;

/**
 * A non-empty guest physical address range {@code [start, end]} with an inclusive end, as libxl
 * computes extended regions.
 *
 * @param start first byte
 * @param end   last byte (inclusive), {@code >= start}
 */
public record AddressRange(long start, long end) {

    /**
     * Validates.
     *
     * @throws IllegalArgumentException if the range is empty or wraps
     */
    public AddressRange {
        if (Long.compareUnsigned(end, start) < 0) {
            throw new IllegalArgumentException("empty range 0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end));
        }
    }

    /**
     * Creates a range from a base and a size.
     *
     * @param base first byte
     * @param size bytes, at least 1
     * @return the range
     */
    public static AddressRange ofSize(long base, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("range size must be positive: 0x" + Long.toHexString(size));
        }
        return new AddressRange(base, base + size - 1);
    }

    /**
     * Returns the size.
     *
     * @return bytes
     */
    public long size() {
        return end - start + 1;
    }

    /**
     * Tells whether the ranges share at least one byte.
     *
     * @param o the other range
     * @return true if they overlap
     */
    public boolean overlaps(AddressRange o) {
        return start <= o.end && o.start <= end;
    }

    @Override
    public String toString() {
        return "[0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end) + "]";
    }
}
