package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest RAM in a shared file: what the model stores is in the file for another process, what
 * the other process writes is what the model loads, and it behaves as {@link SparseMemory} does.
 */
class MappedFileMemoryTest {
    @TempDir
    Path dir;

    /** Reads {@code n} bytes of the file at {@code pos} through a separate channel (another process's view). */
    private static ByteBuffer fileBytes(Path f, long pos, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, pos);
            return b.flip();
        }
    }

    @Test
    @DisplayName("stores of every width land little-endian in the file; the file's bytes are what loads return")
    void bothDirections() throws IOException {
        Path f = dir.resolve("ram");
        MappedFileMemory m = MappedFileMemory.create(f, 0x10000);
        assertThat(Files.size(f)).isEqualTo(0x10000);
        assertThat(m.read(0x100, 8)).as("fresh memory reads zero").isZero();
        m.write(0x10, 1, 0x1ab);
        m.write(0x20, 2, 0x12345);
        m.write(0x30, 4, 0x1_89abcdefL);
        m.write(0x40, 8, 0x0123456789abcdefL);
        ByteBuffer b = fileBytes(f, 0, 0x48);
        assertThat(b.get(0x10)).isEqualTo((byte) 0xab);
        assertThat(b.get(0x11)).as("width 1 stores one byte").isZero();
        assertThat(b.getShort(0x20)).isEqualTo((short) 0x2345);
        assertThat(b.getInt(0x30)).isEqualTo(0x89abcdef);
        assertThat(b.getLong(0x40)).isEqualTo(0x0123456789abcdefL);
        assertThat(m.read(0x30, 4)).as("zero-extended").isEqualTo(0x89abcdefL);

        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5}), 0x8000);
        }
        assertThat(m.read(0x8000, 4)).isEqualTo(0x04030201L);
        assertThat(m.readBytes(0x8001, 4)).containsExactly(2, 3, 4, 5);
    }

    @Test
    @DisplayName("an access across the 1 GiB segment boundary reads and writes both segments")
    void segmentBoundary() throws IOException {
        long gib = 1L << 30;
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("big"), gib + 0x1000); // sparse: costs two pages
        m.write(gib - 4, 8, 0x1122334455667788L);
        assertThat(m.read(gib - 4, 8)).isEqualTo(0x1122334455667788L);
        assertThat(m.read(gib, 4)).isEqualTo(0x11223344L);
        m.writeBytes(gib - 2, new byte[] {9, 8, 7, 6});
        assertThat(m.readBytes(gib - 2, 4)).containsExactly(9, 8, 7, 6);
        assertThat(fileBytes(m.file(), gib - 2, 4).array()).containsExactly(9, 8, 7, 6);
    }

    @Test
    @DisplayName("matches SparseMemory on a seeded random mix of accesses")
    void sameAsSparse() throws IOException {
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("r"), 0x4000);
        SparseMemory s = new SparseMemory(0x4000);
        Random r = new Random(11);
        int[] widths = {1, 2, 4, 8};
        for (int i = 0; i < 20_000; i++) {
            int w = widths[r.nextInt(4)];
            long off = r.nextInt(0x4000 - w + 1);
            if (r.nextBoolean()) {
                long v = r.nextLong();
                m.write(off, w, v);
                s.write(off, w, v);
            } else {
                assertThat(m.read(off, w)).as("read %d at %x, step %d", w, off, i).isEqualTo(s.read(off, w));
            }
        }
        assertThat(m.readBytes(0, 0x4000)).isEqualTo(s.readBytes(0, 0x4000));
    }

    @Test
    @DisplayName("bad use is refused: an existing file, a non-positive size, an access outside")
    void refusals() throws IOException {
        Path f = Files.createFile(dir.resolve("taken"));
        assertThatThrownBy(() -> MappedFileMemory.create(f, 0x1000)).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(Files.size(f)).as("the existing file is left alone").isZero();
        assertThatThrownBy(() -> MappedFileMemory.create(dir.resolve("zero"), 0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Files.exists(dir.resolve("zero"))).isFalse();
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("m"), 0x1000);
        assertThatThrownBy(() -> m.read(0xffd, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> m.write(-1, 1, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> m.writeBytes(0xfff, new byte[2])).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(m.read(0xff8, 8)).as("nothing was written by the refused accesses").isZero();
    }

    @Test
    @DisplayName("deleting the file keeps the memory usable through its mapping")
    void deleteKeepsMapping() throws IOException {
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("d"), 0x1000);
        m.write(8, 8, 42);
        m.deleteFile();
        m.deleteFile();
        assertThat(Files.exists(m.file())).isFalse();
        assertThat(m.read(8, 8)).isEqualTo(42);
    }

    @Test
    @DisplayName("four threads storing to their own pages concurrently lose nothing")
    void concurrentPages() throws Exception {
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("c"), 4 * 0x1000);
        CountDownLatch go = new CountDownLatch(1);
        Thread[] ts = new Thread[4];
        for (int t = 0; t < 4; t++) {
            long base = t * 0x1000L;
            ts[t] = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 512; i++) {
                    m.write(base + 8L * i, 8, base + i);
                }
            });
            ts[t].start();
        }
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < 512; i++) {
                assertThat(m.read(t * 0x1000L + 8L * i, 8)).isEqualTo(t * 0x1000L + i);
            }
        }
    }

    @Test
    @DisplayName("a p2m RAM entry backed by a file serves guest loads and copy_to_guest from it")
    void asGuestRam() throws IOException {
        Xen xen = Xen.builder().hardware(TestHardware.hardware()).build();
        Domain d = xen.createDomain(DomainConfig.guest("g", 1));
        MappedFileMemory m = MappedFileMemory.create(dir.resolve("g"), 0x10000);
        d.p2m().addRam(0x40000000L, m);
        assertThat(d.p2m().copyToGuest(0x40000100L, new byte[] {7, 7})).isTrue();
        assertThat(fileBytes(m.file(), 0x100, 2).array()).containsExactly(7, 7);
        d.vcpu(0).mmioWrite(0x40000200L, 4, 0xabcd1234L);
        assertThat(fileBytes(m.file(), 0x200, 4).getInt()).isEqualTo(0xabcd1234);
    }
}
