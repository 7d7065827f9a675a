package org.xenpci.libxl.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.xenpci.core.BackingMemory;
import org.xenpci.core.Domain;
import org.xenpci.core.MappedFileMemory;
import org.xenpci.libxl.toolstack.GuestRamFactory;

/**
 * Guest RAM in files a simulator maps (docs/simulator-protocol.md section 5): one sparse file per
 * bank, in /dev/shm where it exists, else java.io.tmpdir, named
 * {@code xenpci-PID-dDOMID-bankN-RANDOM}. Files go when their domain is released and at
 * {@link #deleteAll}. Thread-safe.
 */
final class SharedRam implements GuestRamFactory {
    private final Path dir;
    private final Map<Integer, List<MappedFileMemory>> banks = new ConcurrentHashMap<>();

    SharedRam(Path dir) {
        this.dir = dir;
    }

    /** /dev/shm when present (RAM-backed, no disk writes), else java.io.tmpdir. */
    static Path defaultDirectory() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    @Override
    public BackingMemory create(Domain domain, int bank, long gpa, long size) {
        Path file = dir.resolve(String.format("xenpci-%d-d%d-bank%d-%08x", ProcessHandle.current().pid(), domain.domid(),
                bank, ThreadLocalRandom.current().nextInt()));
        try {
            MappedFileMemory m = MappedFileMemory.create(file, size);
            banks.computeIfAbsent(domain.domid(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(m);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + file + ": " + org.xenpci.core.IoReason.of(e), e);
        }
    }

    @Override
    public void release(Domain domain) {
        delete(banks.remove(domain.domid()));
    }

    /** Removes every file (server shutdown). */
    void deleteAll() {
        for (Integer domid : new ArrayList<>(banks.keySet())) {
            delete(banks.remove(domid));
        }
    }

    private static void delete(List<MappedFileMemory> list) {
        if (list == null) {
            return;
        }
        for (MappedFileMemory m : list) {
            try {
                m.deleteFile();
            } catch (IOException e) {
                // Best effort: a file we cannot delete stays in the directory; nothing else depends on it.
                org.slf4j.LoggerFactory.getLogger(SharedRam.class).warn("cannot delete {}: {}", m.file(), e.getMessage());
            }
        }
    }
}
