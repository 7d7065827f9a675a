package org.xenpci.core;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-addressable memory of a fixed size whose 4 KiB pages are allocated on first write.
 * Unwritten bytes read as zero. Used for guest RAM and for memory behind device BARs.
 *
 * <p>Thread-safe for concurrent accesses to different pages; concurrent accesses to the same
 * bytes race as they would on real memory (no tearing guarantees beyond single bytes).
 */
public final class SparseMemory implements BackingMemory {
    private static final int PAGE_SHIFT = 12;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;

    private final long size;
    private final ConcurrentHashMap<Long, byte[]> pages = new ConcurrentHashMap<>();

    /** @param size in bytes */
    public SparseMemory(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("memory size must be positive: " + size);
        }
        this.size = size;
    }

    /** Size in bytes. */
    @Override
    public long size() {
        return size;
    }

    @Override
    public long read(long offset, int width) {
        checkRange(offset, width);
        long value = 0;
        for (int i = 0; i < width; i++) {
            value |= (long) (readByte(offset + i) & 0xff) << (8 * i);
        }
        return value;
    }

    @Override
    public void write(long offset, int width, long value) {
        checkRange(offset, width);
        for (int i = 0; i < width; i++) {
            writeByte(offset + i, (byte) (value >>> (8 * i)));
        }
    }

    @Override
    public byte[] readBytes(long offset, int length) {
        checkRange(offset, length);
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = readByte(offset + i);
        }
        return out;
    }

    @Override
    public void writeBytes(long offset, byte[] data) {
        checkRange(offset, data.length);
        for (int i = 0; i < data.length; i++) {
            writeByte(offset + i, data[i]);
        }
    }

    /**
     * Makes every byte read as zero again (a device reset clearing the registers behind a BAR).
     * Accesses racing with it see each page before or after its removal.
     */
    public void clear() {
        pages.clear();
    }

    @Override
    public boolean contains(long offset, long length) {
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset;
    }

    private void checkRange(long offset, long length) {
        if (!contains(offset, length)) {
            throw new IndexOutOfBoundsException("access " + Hex.of(offset) + "+" + length + " outside memory of size " + Hex.of(size));
        }
    }

    private byte readByte(long offset) {
        byte[] page = pages.get(offset >>> PAGE_SHIFT);
        return page == null ? 0 : page[(int) (offset & (PAGE_SIZE - 1))];
    }

    private void writeByte(long offset, byte b) {
        byte[] page = pages.computeIfAbsent(offset >>> PAGE_SHIFT, k -> new byte[PAGE_SIZE]);
        page[(int) (offset & (PAGE_SIZE - 1))] = b;
    }
}
