package org.xenpci.armpci.hw.nvme;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import org.xenpci.armpci.hw.HardwareConfigException;

/**
 * The storage behind namespace 1 of an {@link NvmeController}: a number of 512-byte logical
 * blocks (LBA format 0, LBADS 9, no metadata), held in RAM or in a file.
 *
 * <p>A RAM namespace allocates its memory in 64 KiB chunks on first write, so a large namespace
 * costs nothing until used; unwritten blocks read zero. A file namespace reads and writes the
 * file at {@code lba * 512} and {@link #flush} forces it to the device ({@code FileChannel.force}).
 *
 * <p>Thread-safe: every access is serialised on the namespace, so a test or harness may seed or
 * inspect blocks while a guest drives the controller.
 */
public final class NvmeNamespace {
    /** Bytes per logical block (LBA format 0). */
    public static final int BLOCK_SIZE = 512;
    /** log2 of {@link #BLOCK_SIZE}: Identify Namespace LBAF0.LBADS. */
    public static final int BLOCK_SHIFT = 9;
    /** The largest RAM namespace (16 GiB): the chunk table stays small. */
    public static final long MAX_RAM_BLOCKS = (16L << 30) / BLOCK_SIZE;

    private static final int CHUNK_SHIFT = 16;
    private static final int CHUNK = 1 << CHUNK_SHIFT;

    private final long blocks;
    private final byte[][] chunks;
    private final FileChannel file;
    private final Path path;

    private NvmeNamespace(long blocks, FileChannel file, Path path) {
        this.blocks = blocks;
        this.file = file;
        this.path = path;
        this.chunks = file == null ? new byte[(int) ((blocks * BLOCK_SIZE + CHUNK - 1) >>> CHUNK_SHIFT)][] : null;
    }

    /**
     * A RAM-backed namespace of {@code blocks} logical blocks, all zero.
     *
     * @throws HardwareConfigException if {@code blocks} is not in 1..{@link #MAX_RAM_BLOCKS}
     */
    public static NvmeNamespace ram(long blocks) {
        if (blocks < 1 || blocks > MAX_RAM_BLOCKS) {
            throw new HardwareConfigException("RAM namespace of " + blocks + " blocks: must be 1.." + MAX_RAM_BLOCKS);
        }
        return new NvmeNamespace(blocks, null, null);
    }

    /**
     * A namespace of {@code blocks} logical blocks in the file at {@code path}, created if
     * missing and extended (with zeros) to {@code blocks * 512} bytes if shorter; a longer file
     * keeps its tail, which the namespace does not reach.
     *
     * @throws HardwareConfigException if {@code blocks} is below 1 or too large for a file
     * @throws UncheckedIOException if the file cannot be opened or extended
     */
    public static NvmeNamespace file(Path path, long blocks) {
        Objects.requireNonNull(path, "path");
        if (blocks < 1 || blocks > Long.MAX_VALUE / BLOCK_SIZE) {
            throw new HardwareConfigException("file namespace of " + blocks + " blocks: must be at least 1");
        }
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            long bytes = blocks * BLOCK_SIZE;
            if (ch.size() < bytes) {
                ch.write(ByteBuffer.wrap(new byte[1]), bytes - 1);
            }
            return new NvmeNamespace(blocks, ch, path);
        } catch (IOException e) {
            throw new UncheckedIOException("opening namespace file " + path, e);
        }
    }

    /** Namespace size in logical blocks: Identify Namespace NSZE, NCAP and NUSE. */
    public long blocks() {
        return blocks;
    }

    /** The backing file, or null for a RAM namespace. */
    public Path path() {
        return path;
    }

    /** True if {@code count} blocks from {@code lba} lie inside the namespace (no overflow). */
    public boolean contains(long lba, long count) {
        return lba >= 0 && count >= 0 && lba <= blocks && count <= blocks - lba;
    }

    /**
     * Reads {@code len} bytes (a multiple of 512) from block {@code lba} into {@code into[off..]}.
     *
     * @throws IOException if the backing file fails (the controller reports a media error)
     * @throws IndexOutOfBoundsException if the blocks or the array range are out of bounds
     */
    public synchronized void read(long lba, byte[] into, int off, int len) throws IOException {
        check(lba, into, off, len);
        long pos = lba * BLOCK_SIZE;
        if (file != null) {
            ByteBuffer b = ByteBuffer.wrap(into, off, len);
            while (b.hasRemaining()) {
                if (file.read(b, pos + (b.position() - off)) < 0) {
                    throw new IOException("namespace file " + path + " ends before block " + lba);
                }
            }
            return;
        }
        int done = 0;
        while (done < len) {
            long at = pos + done;
            int c = (int) (at >>> CHUNK_SHIFT);
            int in = (int) (at & (CHUNK - 1));
            int n = Math.min(len - done, CHUNK - in);
            byte[] chunk = chunks[c];
            if (chunk == null) {
                java.util.Arrays.fill(into, off + done, off + done + n, (byte) 0);
            } else {
                System.arraycopy(chunk, in, into, off + done, n);
            }
            done += n;
        }
    }

    /**
     * Writes {@code len} bytes (a multiple of 512) from {@code data[off..]} to block {@code lba}.
     *
     * @throws IOException if the backing file fails (the controller reports a media error)
     * @throws IndexOutOfBoundsException if the blocks or the array range are out of bounds
     */
    public synchronized void write(long lba, byte[] data, int off, int len) throws IOException {
        check(lba, data, off, len);
        long pos = lba * BLOCK_SIZE;
        if (file != null) {
            ByteBuffer b = ByteBuffer.wrap(data, off, len);
            while (b.hasRemaining()) {
                file.write(b, pos + (b.position() - off));
            }
            return;
        }
        int done = 0;
        while (done < len) {
            long at = pos + done;
            int c = (int) (at >>> CHUNK_SHIFT);
            int in = (int) (at & (CHUNK - 1));
            int n = Math.min(len - done, CHUNK - in);
            if (chunks[c] == null) {
                chunks[c] = new byte[CHUNK];
            }
            System.arraycopy(data, off + done, chunks[c], in, n);
            done += n;
        }
    }

    /** Makes written blocks durable: forces a file namespace to its device; nothing for RAM. */
    public synchronized void flush() throws IOException {
        if (file != null) {
            file.force(false);
        }
    }

    /** Convenience for tests and harnesses: the {@code count} blocks from {@code lba}. */
    public byte[] readBlocks(long lba, int count) {
        byte[] out = new byte[Math.multiplyExact(count, BLOCK_SIZE)];
        try {
            read(lba, out, 0, out.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Convenience for tests and harnesses: writes {@code data} (a multiple of 512 bytes) at {@code lba}. */
    public void writeBlocks(long lba, byte[] data) {
        try {
            write(lba, data, 0, data.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void check(long lba, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len % BLOCK_SIZE != 0 || !contains(lba, len / BLOCK_SIZE)) {
            throw new IndexOutOfBoundsException(len + " bytes at block " + lba + " of a " + blocks
                    + "-block namespace (whole blocks only)");
        }
    }

    @Override
    public String toString() {
        return "NvmeNamespace[" + blocks + " blocks, " + (file == null ? "RAM" : path.toString()) + "]";
    }
}
