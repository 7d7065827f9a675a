package org.xenpci.core;

/**
 * The memory behind a range of guest RAM ({@link P2m.Ram}): byte-addressable, of a fixed size,
 * little-endian. {@link SparseMemory} (pages on first write, in the Java heap) is the default;
 * {@link MappedFileMemory} keeps the bytes in a file that another process (a CPU simulator
 * driving the guest) maps too, so that its loads and stores and device DMA meet in the same
 * memory.
 *
 * <p>Implementations are thread-safe for concurrent accesses to different bytes; concurrent
 * accesses to the same bytes race as they would on real memory. {@link #read} and {@link #write}
 * are on the guest's RAM access path and allocate nothing.
 */
public interface BackingMemory extends MmioDevice {
    /** Size in bytes. */
    long size();

    /**
     * Loads {@code width} (1, 2, 4 or 8) bytes at {@code offset}, zero-extended.
     *
     * @throws IndexOutOfBoundsException if the bytes are not all inside the memory (a caller bug:
     *     the p2m only hands out in-range offsets)
     */
    @Override
    long read(long offset, int width);

    /**
     * Stores the low {@code width} bytes of {@code value} at {@code offset}.
     *
     * @throws IndexOutOfBoundsException as {@link #read}
     */
    @Override
    void write(long offset, int width, long value);

    /** Copies {@code length} bytes starting at {@code offset} out of memory. */
    byte[] readBytes(long offset, int length);

    /** Copies {@code data} into memory at {@code offset}. */
    void writeBytes(long offset, byte[] data);

    /** True if {@code [offset, offset+length)} lies inside this memory. */
    default boolean contains(long offset, long length) {
        return offset >= 0 && length >= 0 && offset <= size() && length <= size() - offset;
    }
}
