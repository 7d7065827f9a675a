package org.xenpci.armpci.hw;

import java.lang.invoke.VarHandle;
import org.xenpci.core.Hex;
import org.xenpci.core.pci.PciRegs;

/**
 * The 4 KiB configuration space of one PCI function: storage as 1024 little-endian dwords plus
 * per-dword masks, both held sparsely in 256-byte chunks allocated on first use, that say how software writes behave (crosvm {@code pci_configuration.rs}).
 *
 * <p>Two write paths:
 * <ul>
 * <li>{@link #write} is the software path (a config cycle from a CPU): RW bits take the written
 *     value, RW1C bits are cleared where a 1 is written, every other bit (RO, HWINIT, RSVDP,
 *     RSVDZ, undeclared) keeps its value.</li>
 * <li>{@link #setInternal}, {@link #setBits} and {@link #clearBits} are the model's own path
 *     (the device setting a status bit, firmware initialising a HWINIT field) and bypass the masks.</li>
 * </ul>
 * Every bit is read-only until a {@link ConfigLayout} declares it otherwise.
 *
 * <p>Offsets are bytes from the start of the function's config space (0..0xfff); sizes are 1, 2
 * or 4 bytes; values are zero-extended. An access may be unaligned inside a dword; one that
 * crosses a dword boundary is split into single-byte accesses, lowest address first.
 *
 * <p>Thread-safety: every mutator synchronizes on this object (a config cycle is atomic on a
 * real function), so concurrent vCPUs see whole writes. {@link FieldListener}s run under that
 * lock. {@link #read} is an optimistic read under a sequence count (a seqlock, as
 * {@link java.util.concurrent.locks.StampedLock}'s optimistic mode): a mutator makes the count
 * odd for the whole of its change and even again after it, and a read that saw an even count
 * before and the same count after its loads returns what it read, else it re-reads under the
 * lock. Either way it returns the registers as they were between two complete mutations, the
 * result a locked read gives, without every config cycle of every vCPU writing this object's
 * monitor word. Reads and writes allocate nothing.
 */
public final class ConfigSpace {
    /** Size of a PCIe function's config space in bytes. */
    public static final int SIZE = PciRegs.PCI_CFG_SPACE_EXP_SIZE;
    private static final int DWORDS = SIZE / 4;

    /** Dwords per storage chunk (256 bytes of config space). */
    private static final int CHUNK = 64;
    private static final int CHUNK_SHIFT = 6;
    private static final int CHUNKS = DWORDS / CHUNK;

    /*
     * Sparse storage: each array is split in 16 chunks of 256 bytes, a null chunk reading as all
     * zero (registers) or nothing declared (masks, watched fields). Most of the 4 KiB is never
     * used (a function without extended capabilities has nothing above 0x100, and the legacy
     * capabilities end well before 0x100): a chunk exists only where the image has a non-zero
     * byte, a field is declared, or the model writes a non-zero value. Four dense 4 KiB arrays
     * per function were ~16 KiB of heap each; 64k functions made 1 GiB.
     */
    private final int[][] regs = new int[CHUNKS][];
    private final int[][] writable = new int[CHUNKS][];
    private final int[][] rw1c = new int[CHUNKS][];
    /** Declared fields with a listener or a tag, per dword; null where none (the common case). */
    private final ConfigLayout.Field[][][] watched = new ConfigLayout.Field[CHUNKS][][];

    /**
     * The function this config space belongs to, told of every register change so it can drop
     * the routes that depended on the old value ({@link PciFunction#configChanged}); null for a
     * config space on its own.
     */
    private PciFunction owner;
    /** Odd while a mutation of {@link #regs} is under way (see the class comment); written under the monitor. */
    private volatile int seq;
    /** Nesting of {@link #beginWrite} (a listener may write back into this space); under the monitor. */
    private int writeDepth;

    /** An all-zero config space with every bit read-only. */
    public ConfigSpace() {
    }

    /**
     * A config space initialised from an image (loaded through the internal path).
     *
     * @param image 256 or 4096 bytes; a 256-byte image leaves the extended space zero
     * @throws HardwareConfigException for any other length
     */
    public ConfigSpace(byte[] image) {
        if (image.length != PciRegs.PCI_CFG_SPACE_SIZE && image.length != SIZE) {
            throw new HardwareConfigException("config image must be 256 or 4096 bytes, not " + image.length);
        }
        for (int i = 0; i < image.length; i += 4) {
            int v = (image[i] & 0xff) | (image[i + 1] & 0xff) << 8 | (image[i + 2] & 0xff) << 16 | (image[i + 3] & 0xff) << 24;
            if (v != 0) {
                setReg(i >> 2, v);
            }
        }
    }

    /** A change to dword {@code idx} (old value {@code old}): tells the owner, which knows what decodes where. */
    private void changed(int idx, int old) {
        int now = reg(idx);
        if (now != old && owner != null) {
            owner.configChanged(idx, old, now);
        }
    }

    /** Called once by the function built over this config space. */
    void owner(PciFunction f) {
        owner = f;
    }

    /**
     * Software read of {@code size} bytes at {@code offset}.
     *
     * @throws IllegalArgumentException if size is not 1, 2 or 4 or the access leaves the 4 KiB space
     */
    public int read(int offset, int size) {
        check(offset, size);
        return readChecked(offset, size);
    }

    /**
     * {@link #read} for a caller that has already checked the access (size 1, 2 or 4, inside
     * the 4 KiB): the host bridge's bound function port, which serves only such accesses.
     */
    int readChecked(int offset, int size) {
        int s = seq;
        if ((s & 1) == 0) {
            int v = readRegs(offset, size);
            // Order the register loads before the re-read of the count (StampedLock#validate).
            VarHandle.acquireFence();
            if (seq == s) {
                return v;
            }
        }
        synchronized (this) {
            return readRegs(offset, size);
        }
    }

    /** Under the monitor, or optimistically with the count validated afterwards. */
    private int readRegs(int offset, int size) {
        if ((offset & 3) + size <= 4) {
            return extract(reg(offset >> 2), offset, size);
        }
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= extract(reg((offset + i) >> 2), offset + i, 1) << (8 * i);
        }
        return value;
    }

    /**
     * Software write of the low {@code size} bytes of {@code value} at {@code offset}, through
     * the masks.
     *
     * @throws IllegalArgumentException if size is not 1, 2 or 4 or the access leaves the 4 KiB space
     */
    public synchronized void write(int offset, int size, int value) {
        beginWrite();
        try {
            check(offset, size);
            if ((offset & 3) + size <= 4) {
                softwareWrite(offset, size, value);
                return;
            }
            for (int i = 0; i < size; i++) {
                softwareWrite(offset + i, 1, value >>> (8 * i));
            }
        } finally {
            endWrite();
        }
    }

    /**
     * The model's write of {@code size} bytes at {@code offset}, bypassing every mask.
     *
     * @throws IllegalArgumentException if size is not 1, 2 or 4 or the access leaves the 4 KiB space
     */
    public synchronized void setInternal(int offset, int size, int value) {
        beginWrite();
        try {
            check(offset, size);
            for (int i = 0; i < size; i++) {
                int at = offset + i;
                int shift = (at & 3) * 8;
                int idx = at >> 2;
                int old = reg(idx);
                setReg(idx, (old & ~(0xff << shift)) | ((value >>> (8 * i)) & 0xff) << shift);
                changed(idx, old);
            }
        } finally {
            endWrite();
        }
    }

    /** The model sets {@code bits} (relative to the {@code size}-byte register at {@code offset}). */
    public synchronized void setBits(int offset, int size, int bits) {
        setInternal(offset, size, read(offset, size) | bits);
    }

    /** The model clears {@code bits} (relative to the {@code size}-byte register at {@code offset}). */
    public synchronized void clearBits(int offset, int size, int bits) {
        setInternal(offset, size, read(offset, size) & ~bits);
    }

    /** The software-writable (RW) bits of the dword containing {@code offset}. */
    public synchronized int writableMask(int offset) {
        check(offset, 1);
        return mask(writable, offset >> 2);
    }

    /** The RW1C bits of the dword containing {@code offset}. */
    public synchronized int rw1cMask(int offset) {
        check(offset, 1);
        return mask(rw1c, offset >> 2);
    }

    /** A copy of all 4096 bytes (a snapshot, as {@code lspci -xxxx} would read them). */
    public synchronized byte[] toBytes() {
        byte[] out = new byte[SIZE];
        for (int i = 0; i < SIZE; i++) {
            out[i] = (byte) (reg(i >> 2) >>> ((i & 3) * 8));
        }
        return out;
    }

    /**
     * A copy of the register dwords (the power-on image a function keeps for its resets): per
     * 256-byte chunk, a copy or null where the chunk is all zero.
     */
    synchronized int[][] dwords() {
        int[][] out = new int[CHUNKS][];
        for (int c = 0; c < CHUNKS; c++) {
            out[c] = regs[c] == null ? null : regs[c].clone();
        }
        return out;
    }

    /**
     * A function reset's config part: every bit software can change (RW, RW1C) takes its value
     * in {@code image} (as {@link #dwords} returned it); bits software cannot write (RO, HwInit,
     * reserved) keep theirs, so hardware-initialised fields survive (PCIe Base 6.6.2: FLR leaves
     * sticky and HwInit state). Listeners are not called; the caller resets what they guard.
     */
    synchronized void restoreWritable(int[][] image) {
        beginWrite();
        try {
            for (int i = 0; i < DWORDS; i++) {
                int m = mask(writable, i) | mask(rw1c, i);
                if (m != 0) {
                    int[] ic = image[i >> CHUNK_SHIFT];
                    int old = reg(i);
                    setReg(i, (old & ~m) | ((ic == null ? 0 : ic[i & (CHUNK - 1)]) & m));
                    changed(i, old);
                }
            }
        } finally {
            endWrite();
        }
    }

    /**
     * Bytes of heap this config space's storage holds (its chunks and their arrays; object
     * headers counted at 16 bytes, references at 4 as with compressed oops): a structural
     * estimate, the same on every JVM run, for the per-function memory figures.
     */
    public synchronized long storageBytes() {
        long bytes = 16 + 4 * 16 + 4 * (16 + 4L * CHUNKS); // this object, 4 chunk tables
        for (int c = 0; c < CHUNKS; c++) {
            bytes += regs[c] == null ? 0 : 16 + 4L * CHUNK;
            bytes += writable[c] == null ? 0 : 16 + 4L * CHUNK;
            bytes += rw1c[c] == null ? 0 : 16 + 4L * CHUNK;
            if (watched[c] != null) {
                bytes += 16 + 4L * CHUNK;
                for (ConfigLayout.Field[] fs : watched[c]) {
                    bytes += fs == null ? 0 : 16 + 4L * fs.length;
                }
            }
        }
        return bytes;
    }

    /** Bytes the power-on image from {@link #dwords} holds (same estimate as {@link #storageBytes}). */
    static long imageBytes(int[][] image) {
        long bytes = 16 + 4L * CHUNKS;
        for (int[] c : image) {
            bytes += c == null ? 0 : 16 + 4L * CHUNK;
        }
        return bytes;
    }

    /* ---- sparse storage ---- */

    /**
     * Opens a mutation of the registers: the count turns odd until the matching
     * {@link #endWrite}. The caller holds this object's monitor. The mutators open one
     * themselves; a compound change made under the monitor (a function reset: registers, then
     * each capability's state) opens one around the whole, so that a read sees all or none of it.
     */
    void beginWrite() {
        if (writeDepth++ == 0) {
            seq = seq + 1;
            // The register stores that follow must not become visible before the odd count.
            VarHandle.storeStoreFence();
        }
    }

    /** Closes {@link #beginWrite}: the count turns even again (a volatile store, publishing the stores). */
    void endWrite() {
        if (--writeDepth == 0) {
            seq = seq + 1;
        }
    }

    private int reg(int idx) {
        int[] c = regs[idx >> CHUNK_SHIFT];
        return c == null ? 0 : c[idx & (CHUNK - 1)];
    }

    private void setReg(int idx, int v) {
        int[] c = regs[idx >> CHUNK_SHIFT];
        if (c == null) {
            if (v == 0) {
                return; // a null chunk already reads 0
            }
            c = new int[CHUNK];
            regs[idx >> CHUNK_SHIFT] = c;
        }
        c[idx & (CHUNK - 1)] = v;
    }

    private static int mask(int[][] m, int idx) {
        int[] c = m[idx >> CHUNK_SHIFT];
        return c == null ? 0 : c[idx & (CHUNK - 1)];
    }

    private static void setMask(int[][] m, int idx, int v) {
        int[] c = m[idx >> CHUNK_SHIFT];
        if (c == null) {
            if (v == 0) {
                return;
            }
            c = new int[CHUNK];
            m[idx >> CHUNK_SHIFT] = c;
        }
        c[idx & (CHUNK - 1)] = v;
    }

    private ConfigLayout.Field[] watchedAt(int idx) {
        ConfigLayout.Field[][] c = watched[idx >> CHUNK_SHIFT];
        return c == null ? null : c[idx & (CHUNK - 1)];
    }

    /* ---- declarations, used by ConfigLayout at build time ---- */

    synchronized void declare(ConfigLayout.Field field) {
        beginWrite();
        try {
            int idx = field.dword;
            int m = field.mask;
            setMask(writable, idx, mask(writable, idx) & ~m);
            setMask(rw1c, idx, mask(rw1c, idx) & ~m);
            switch (field.mode) {
                case RW:
                    setMask(writable, idx, mask(writable, idx) | m);
                    break;
                case RW1C:
                    setMask(rw1c, idx, mask(rw1c, idx) | m);
                    break;
                case RSVDZ: {
                    // Reserved-zero bits read as 0 whatever the image said (PCIe Base 7.4).
                    int old = reg(idx);
                    setReg(idx, old & ~m);
                    changed(idx, old);
                    break;
                }
                default:
                    break;
            }
            if (field.tagged) {
                addWatched(field);
            }
        } finally {
            endWrite();
        }
    }

    /** Starts notifying {@code field} on software writes (its listener was just set). */
    synchronized void watch(ConfigLayout.Field field) {
        addWatched(field);
    }

    private boolean watchedContains(int idx, ConfigLayout.Field field) {
        ConfigLayout.Field[] fs = watchedAt(idx);
        if (fs != null) {
            for (ConfigLayout.Field f : fs) {
                if (f == field) {
                    return true;
                }
            }
        }
        return false;
    }

    private void addWatched(ConfigLayout.Field field) {
        if (watchedContains(field.dword, field)) {
            return;
        }
        ConfigLayout.Field[] fs = watchedAt(field.dword);
        ConfigLayout.Field[] grown = new ConfigLayout.Field[fs == null ? 1 : fs.length + 1];
        if (fs != null) {
            System.arraycopy(fs, 0, grown, 0, fs.length);
        }
        grown[grown.length - 1] = field;
        ConfigLayout.Field[][] c = watched[field.dword >> CHUNK_SHIFT];
        if (c == null) {
            c = new ConfigLayout.Field[CHUNK][];
            watched[field.dword >> CHUNK_SHIFT] = c;
        }
        c[field.dword & (CHUNK - 1)] = grown;
    }

    /* ---- the hot path ---- */

    private void softwareWrite(int offset, int size, int value) {
        int idx = offset >> 2;
        int shift = (offset & 3) * 8;
        int enable = (size == 4 ? -1 : (1 << (8 * size)) - 1) << shift;
        int v = value << shift;
        int old = reg(idx);
        int w = mask(writable, idx) & enable;
        int c = mask(rw1c, idx) & enable;
        int updated = ((old & ~w) | (v & w)) & ~(v & c);
        if (updated != old) {
            setReg(idx, updated);
            changed(idx, old);
        }
        ConfigLayout.Field[] fs = watchedAt(idx);
        if (fs != null) {
            notifyFields(fs, old, updated, v, enable);
        }
    }

    private static void notifyFields(ConfigLayout.Field[] fs, int old, int updated, int written, int enable) {
        for (int k = 0; k < fs.length; k++) {
            ConfigLayout.Field f = fs[k];
            if (f.tagged) {
                // Known but unmodelled: software changing it is worth one log line.
                if ((enable & f.mask) != 0 && ((written ^ old) & f.mask & enable) != 0) {
                    f.logOnce(written);
                }
                continue;
            }
            FieldListener l = f.listener();
            if (l != null && ((old ^ updated) & f.mask) != 0) {
                l.onChange((old & f.mask) >>> f.shift, (updated & f.mask) >>> f.shift);
            }
        }
    }

    private static int extract(int dword, int offset, int size) {
        int v = dword >>> ((offset & 3) * 8);
        return size == 4 ? v : v & ((1 << (8 * size)) - 1);
    }

    private static void check(int offset, int size) {
        if (size != 1 && size != 2 && size != 4) {
            throw new IllegalArgumentException("config access size must be 1, 2 or 4 bytes, not " + size);
        }
        if (offset < 0 || offset + size > SIZE) {
            throw new IllegalArgumentException("config access " + Hex.of(offset) + "+" + size + " outside the 4 KiB config space");
        }
    }
}
