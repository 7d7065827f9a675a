package org.xenpci.core;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Memory kept in a file mapped shared into this process, so that another process mapping the
 * same file (a CPU simulator running the guest, docs/simulator-protocol.md section 5) sees
 * every byte written here and the other way round. The file is created sparse: untouched pages
 * cost nothing, and read as zero.
 *
 * <p>A {@link MappedByteBuffer} holds at most 2 GiB, so the file is mapped in 1 GiB segments;
 * an access that straddles two segments goes byte by byte. Accesses use the buffers' absolute
 * get/put methods only, which leave the buffer's position alone, so concurrent accesses are as
 * safe as {@link SparseMemory}'s and allocate nothing.
 *
 * <p>Lifetime: {@link #deleteFile()} removes the file; the mappings (this process's and the
 * other's) stay valid until unmapped, the JVM's when the buffers are garbage collected (Java has
 * no explicit unmap).
 */
public final class MappedFileMemory implements BackingMemory {
    private static final int SEGMENT_SHIFT = 30;
    private static final long SEGMENT_SIZE = 1L << SEGMENT_SHIFT;
    private static final long SEGMENT_MASK = SEGMENT_SIZE - 1;

    private final Path file;
    private final long size;
    private final MappedByteBuffer[] segments;

    private MappedFileMemory(Path file, long size, MappedByteBuffer[] segments) {
        this.file = file;
        this.size = size;
        this.segments = segments;
    }

    /**
     * Creates {@code file} (which must not exist) of {@code size} bytes, all zero, and maps it.
     * On failure nothing is left behind.
     *
     * @throws IOException if the file cannot be created or mapped
     * @throws IllegalArgumentException if {@code size} is not positive
     */
    public static MappedFileMemory create(Path file, long size) throws IOException {
        if (size <= 0) {
            throw new IllegalArgumentException("memory size must be positive: " + size);
        }
        // CREATE_NEW: a file that exists already (someone else's) is refused and left alone.
        FileChannel opened = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try (FileChannel ch = opened) {
            // Extending with one byte at the end makes a sparse file of the whole size on tmpfs/ext4.
            ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
            int n = (int) ((size + SEGMENT_SIZE - 1) >>> SEGMENT_SHIFT);
            MappedByteBuffer[] segs = new MappedByteBuffer[n];
            for (int i = 0; i < n; i++) {
                long base = (long) i << SEGMENT_SHIFT;
                segs[i] = ch.map(FileChannel.MapMode.READ_WRITE, base, Math.min(SEGMENT_SIZE, size - base));
                segs[i].order(ByteOrder.LITTLE_ENDIAN);
            }
            // The mappings outlive the channel (FileChannel.map).
            return new MappedFileMemory(file, size, segs);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The file backing this memory. */
    public Path file() {
        return file;
    }

    /** Removes the file (idempotent); the memory stays usable through its mapping. */
    public void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public long read(long offset, int width) {
        check(offset, width);
        MappedByteBuffer seg = segments[(int) (offset >>> SEGMENT_SHIFT)];
        int o = (int) (offset & SEGMENT_MASK);
        if (o + width <= seg.capacity()) {
            switch (width) {
                case 1: return seg.get(o) & 0xffL;
                case 2: return seg.getShort(o) & 0xffffL;
                case 4: return seg.getInt(o) & 0xffff_ffffL;
                case 8: return seg.getLong(o);
                default: break;
            }
        }
        long v = 0;
        for (int i = 0; i < width; i++) {
            v |= (readByte(offset + i) & 0xffL) << (8 * i);
        }
        return v;
    }

    @Override
    public void write(long offset, int width, long value) {
        check(offset, width);
        MappedByteBuffer seg = segments[(int) (offset >>> SEGMENT_SHIFT)];
        int o = (int) (offset & SEGMENT_MASK);
        if (o + width <= seg.capacity()) {
            switch (width) {
                case 1: seg.put(o, (byte) value); return;
                case 2: seg.putShort(o, (short) value); return;
                case 4: seg.putInt(o, (int) value); return;
                case 8: seg.putLong(o, value); return;
                default: break;
            }
        }
        for (int i = 0; i < width; i++) {
            writeByte(offset + i, (byte) (value >>> (8 * i)));
        }
    }

    @Override
    public byte[] readBytes(long offset, int length) {
        check(offset, length);
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            long at = offset + done;
            MappedByteBuffer seg = segments[(int) (at >>> SEGMENT_SHIFT)];
            int o = (int) (at & SEGMENT_MASK);
            int chunk = Math.min(length - done, seg.capacity() - o);
            seg.get(o, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    @Override
    public void writeBytes(long offset, byte[] data) {
        check(offset, data.length);
        int done = 0;
        while (done < data.length) {
            long at = offset + done;
            MappedByteBuffer seg = segments[(int) (at >>> SEGMENT_SHIFT)];
            int o = (int) (at & SEGMENT_MASK);
            int chunk = Math.min(data.length - done, seg.capacity() - o);
            seg.put(o, data, done, chunk);
            done += chunk;
        }
    }

    private byte readByte(long offset) {
        return segments[(int) (offset >>> SEGMENT_SHIFT)].get((int) (offset & SEGMENT_MASK));
    }

    private void writeByte(long offset, byte b) {
        segments[(int) (offset >>> SEGMENT_SHIFT)].put((int) (offset & SEGMENT_MASK), b);
    }

    private void check(long offset, long length) {
        if (!contains(offset, length)) {
            throw new IndexOutOfBoundsException("access " + Hex.of(offset) + "+" + length + " outside memory of size "
                    + Hex.of(size) + " (" + file + ")");
        }
    }

    @Override
    public String toString() {
        return "MappedFileMemory(" + file + ", " + Hex.of(size) + ")";
    }
}
