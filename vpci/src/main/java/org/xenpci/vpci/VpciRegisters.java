package org.xenpci.vpci;

import java.util.List;
import org.xenpci.core.Errno;

/**
 * A device's emulated-register table and Xen's access merge rules (xen/drivers/vpci/vpci.c:
 * {@code vpci_add_register_mask}, {@code vpci_remove_registers}, {@code vpci_read},
 * {@code vpci_write}).
 *
 * <p>Registers are kept in one immutable {@link Table} sorted by offset, replaced on every
 * add/remove (copy-on-write). STYLE 2 suggests a {@code NavigableMap}; arrays are used instead
 * because the access path must not allocate (sub-map views and iterators would). Registers
 * never overlap, so ends are sorted too. The table is flattened into parallel arrays (geometry,
 * read handlers, write handlers, masks) rather than an array of {@link VpciRegister} records:
 * an access then follows one load per field it needs instead of table, record, field, and a
 * device holds about 12 bytes per register instead of 52 (records are built on demand by
 * {@link #getRegister} and {@link #registers}).
 *
 * <p>Beside the arrays sits a per-dword read plan, one {@code char} per dword of config space up
 * to the last register's end: the position of the first register ending after that dword's first
 * byte (so any access finds its first register with one load and at most three steps, whatever
 * the number of registers; Xen walks its sorted list from the head, {@code list_for_each_entry}
 * in {@code vpci_read}) and what an aligned dword read there is: no register, one 4-byte register
 * without reserved bits (one handler call, no merge), or registers that all lie inside the dword
 * (registers are naturally aligned and at most 4 bytes, so that is every other case). The
 * generic walk of {@code vpci_read} serves every other access and the hardware domain's dwords
 * with gaps, and is the oracle the plan is tested against.
 *
 * <p>Thread-safety: mutations are serialised on this object; readers see the old or the new
 * table. Handlers themselves run under the caller's locks (see {@link VpciDevice}).
 *
 * <p>Errors are returned as Xen does: 0 or a negative errno ({@link Errno#rc()}).
 */
public final class VpciRegisters {
    /** Plan kind: no register overlaps the dword; it reads as a gap ({@link #readHw}). */
    static final int PLAN_EMPTY = 0;
    /** Plan kind: one 4-byte register at the dword with no RsvdP/RsvdZ bits: its handler's value as is. */
    static final int PLAN_SINGLE = 1;
    /** Plan kind: one or more registers, all inside the dword and together covering every byte of it. */
    static final int PLAN_CONTAINED = 2;
    /** Plan kind: registers all inside the dword, with gap bytes between or around them. */
    static final int PLAN_CONTAINED_GAPS = 3;

    private static final int PLAN_KIND_SHIFT = 13;
    private static final int PLAN_INDEX_MASK = (1 << PLAN_KIND_SHIFT) - 1; // positions 0..4096 fit

    /** {@code geometry} entry: read kind (bits 16..19), offset (bits 3..14), size (bits 0..2). */
    private static final int GEOMETRY_SIZE_BITS = 3;
    private static final int GEOMETRY_OFFSET_MASK = 0xFFF;
    private static final int GEOMETRY_KIND_SHIFT = 16;

    /**
     * The registers by offset as parallel arrays, and their dword read plan; replaced together
     * (copy-on-write) and never changed once published.
     */
    private static final class Table {
        static final Table EMPTY = new Table(new int[0], new ReadHandler[0], new WriteHandler[0], null);

        /**
         * Per register, sorted by offset: {@code kind << 16 | offset << 3 | size}, where kind is
         * the read handler's {@link VpciHandlers#readKind} (a stock handler is run inline).
         */
        final int[] geometry;
        final ReadHandler[] reads;
        final WriteHandler[] writes;
        /** Per register {@code i}: ro, rw1c, rsvdp, rsvdz at {@code 4i..4i+3}; null when every mask is 0. */
        final int[] masks;
        /**
         * For dword {@code d}: {@code kind << 13 | first}, where {@code first} is the position of
         * the first register ending after byte {@code 4d}; covers dwords below the last register's end.
         */
        final char[] plan;

        Table(int[] geometry, ReadHandler[] reads, WriteHandler[] writes, int[] masks) {
            this.geometry = geometry;
            this.reads = reads;
            this.writes = writes;
            this.masks = masks;
            this.plan = plan(geometry, masks);
        }

        int count() {
            return geometry.length;
        }

        int offset(int i) {
            return offsetOf(geometry[i]);
        }

        int size(int i) {
            return geometry[i] & ((1 << GEOMETRY_SIZE_BITS) - 1);
        }

        int end(int i) {
            return endOf(geometry[i]);
        }

        int mask(int i, int which) {
            return masks == null ? 0 : masks[4 * i + which];
        }

        /** The bits a read keeps: all but RsvdP and RsvdZ. */
        int readMask(int i) {
            return masks == null ? -1 : ~(masks[4 * i + 2] | masks[4 * i + 3]);
        }

        VpciRegister record(int i) {
            return new VpciRegister(offset(i), size(i), reads[i], writes[i],
                    mask(i, 0), mask(i, 1), mask(i, 2), mask(i, 3));
        }

        /** Position of the first register ending after byte {@code reg}; {@link #count()} if none. */
        int firstEndingAfter(int reg) {
            int d = reg >>> 2;
            if (d >= plan.length) {
                return geometry.length;
            }
            int i = plan[d] & PLAN_INDEX_MASK;
            while (i < geometry.length && end(i) <= reg) {
                i++;
            }
            return i;
        }

        private static char[] plan(int[] geometry, int[] masks) {
            int n = geometry.length;
            if (n == 0) {
                return new char[0];
            }
            int last = geometry[n - 1];
            int dwords = (endOf(last) + 3) >>> 2;
            char[] plan = new char[dwords];
            int at = 0;
            for (int d = 0; d < dwords; d++) {
                int base = 4 * d;
                while (at < n && endOf(geometry[at]) <= base) {
                    at++;
                }
                int kind;
                if (at == n || offsetOf(geometry[at]) >= base + 4) {
                    kind = PLAN_EMPTY;
                } else {
                    // Registers are naturally aligned and at most 4 bytes, so each one that
                    // overlaps the dword lies inside it.
                    int covered = 0;
                    int j = at;
                    for (; j < n && offsetOf(geometry[j]) < base + 4; j++) {
                        covered |= sizeMask(geometry[j] & 7) << (8 * (offsetOf(geometry[j]) - base));
                    }
                    boolean unmasked = masks == null || (masks[4 * at + 2] | masks[4 * at + 3]) == 0;
                    if (j == at + 1 && (geometry[at] & 7) == 4 && unmasked) {
                        kind = PLAN_SINGLE;
                    } else {
                        kind = covered == -1 ? PLAN_CONTAINED : PLAN_CONTAINED_GAPS;
                    }
                }
                plan[d] = (char) (kind << PLAN_KIND_SHIFT | at);
            }
            return plan;
        }

        private static int offsetOf(int g) {
            return (g >>> GEOMETRY_SIZE_BITS) & GEOMETRY_OFFSET_MASK;
        }

        private static int endOf(int g) {
            return offsetOf(g) + (g & 7);
        }

        /** This table with a register inserted at position {@code at}. */
        Table insert(int at, int offset, int size, ReadHandler read, WriteHandler write,
                     int ro, int rw1c, int rsvdp, int rsvdz) {
            int n = geometry.length;
            int[] g = new int[n + 1];
            ReadHandler[] r = new ReadHandler[n + 1];
            WriteHandler[] w = new WriteHandler[n + 1];
            System.arraycopy(geometry, 0, g, 0, at);
            System.arraycopy(reads, 0, r, 0, at);
            System.arraycopy(writes, 0, w, 0, at);
            g[at] = VpciHandlers.readKind(read) << GEOMETRY_KIND_SHIFT | offset << GEOMETRY_SIZE_BITS | size;
            r[at] = read;
            w[at] = write;
            System.arraycopy(geometry, at, g, at + 1, n - at);
            System.arraycopy(reads, at, r, at + 1, n - at);
            System.arraycopy(writes, at, w, at + 1, n - at);
            int[] m = null;
            if (masks != null || (ro | rw1c | rsvdp | rsvdz) != 0) {
                m = new int[4 * (n + 1)];
                if (masks != null) {
                    System.arraycopy(masks, 0, m, 0, 4 * at);
                    System.arraycopy(masks, 4 * at, m, 4 * (at + 1), 4 * (n - at));
                }
                m[4 * at] = ro;
                m[4 * at + 1] = rw1c;
                m[4 * at + 2] = rsvdp;
                m[4 * at + 3] = rsvdz;
            }
            return new Table(g, r, w, m);
        }

        /** This table keeping only the registers whose {@code keep} flag is set ({@code kept} of them). */
        Table retain(boolean[] keep, int kept) {
            if (kept == 0) {
                return EMPTY;
            }
            int[] g = new int[kept];
            ReadHandler[] r = new ReadHandler[kept];
            WriteHandler[] w = new WriteHandler[kept];
            int[] m = null;
            boolean anyMask = false;
            for (int i = 0, k = 0; i < geometry.length; i++) {
                if (keep[i]) {
                    g[k] = geometry[i];
                    r[k] = reads[i];
                    w[k] = writes[i];
                    k++;
                    anyMask |= (mask(i, 0) | mask(i, 1) | mask(i, 2) | mask(i, 3)) != 0;
                }
            }
            if (anyMask) {
                m = new int[4 * kept];
                for (int i = 0, k = 0; i < geometry.length; i++) {
                    if (keep[i]) {
                        System.arraycopy(masks, 4 * i, m, 4 * k, 4);
                        k++;
                    }
                }
            }
            return new Table(g, r, w, m);
        }
    }

    private volatile Table table = Table.EMPTY;

    /** Byte mask for an {@code size}-byte value (size 1..4). */
    static int sizeMask(int size) {
        return size >= 4 ? 0xFFFFFFFF : (1 << (8 * size)) - 1;
    }

    /** Replaces {@code size} bytes of {@code data} at byte {@code offset} with the low bytes of {@code value}. */
    static int merge(int data, int value, int size, int offset) {
        int mask = sizeMask(size) << (8 * offset);
        return (data & ~mask) | ((value << (8 * offset)) & mask);
    }

    /** {@code vpci_add_register}: {@link #addRegisterMask} with all masks 0. */
    public int addRegister(ReadHandler read, WriteHandler write, int offset, int size) {
        return addRegisterMask(read, write, offset, size, 0, 0, 0, 0);
    }

    /**
     * {@code vpci_add_register_mask}. All -EINVAL checks come first, then the overlap
     * check (-EEXIST). A null read means "reads all-ones", a null write "writes ignored".
     *
     * @param offset byte offset in config space
     * @param size 1, 2 or 4 bytes
     * @return 0, -EINVAL or -EEXIST
     */
    public int addRegisterMask(ReadHandler read, WriteHandler write, int offset, int size,
                               int ro, int rw1c, int rsvdp, int rsvdz) {
        if (size != 1 && size != 2 && size != 4) {
            return Errno.EINVAL.rc();
        }
        if (offset < 0 || offset >= VpciAccess.CONFIG_SIZE || (offset & (size - 1)) != 0) {
            return Errno.EINVAL.rc();
        }
        if (read == null && write == null) {
            return Errno.EINVAL.rc();
        }
        if ((ro & rw1c) != 0 || (ro & rsvdp) != 0 || (ro & rsvdz) != 0
                || (rw1c & rsvdp) != 0 || (rw1c & rsvdz) != 0 || (rsvdp & rsvdz) != 0) {
            return Errno.EINVAL.rc();
        }
        if (size < 4 && ((ro | rw1c | rsvdp | rsvdz) & ~sizeMask(size)) != 0) {
            return Errno.EINVAL.rc();
        }
        ReadHandler r = read == null ? VpciHandlers.READ_ONES : read;
        WriteHandler w = write == null ? VpciHandlers.IGNORE_WRITE : write;
        synchronized (this) {
            Table t = table;
            int at = t.firstEndingAfter(offset);
            if (at < t.count() && t.offset(at) < offset + size) { // overlaps: it ends after offset
                return Errno.EEXIST.rc();
            }
            table = t.insert(at, offset, size, r, w, ro, rw1c, rsvdp, rsvdz);
        }
        return 0;
    }

    /**
     * {@code vpci_remove_registers}: deletes every register lying entirely inside
     * {@code [start, start+size)}, in order. A register only partly inside stops the walk with
     * -ERANGE; registers deleted before it stay deleted. An empty range or no match gives 0.
     */
    public synchronized int removeRegisters(int start, int size) {
        Table t = table;
        int n = t.count();
        int end = start + size;
        boolean[] keep = new boolean[n];
        int kept = 0;
        int rc = 0;
        int i = 0;
        for (; i < n; i++) {
            int off = t.offset(i);
            int e = t.end(i);
            if (size > 0 && off >= start && e <= end) {
                continue; // removed
            }
            if (size > 0 && off < end && start < e) {
                rc = Errno.ERANGE.rc();
                break;
            }
            keep[i] = true;
            kept++;
        }
        for (; i < n; i++) {
            keep[i] = true;
            kept++;
        }
        if (kept != n) {
            table = t.retain(keep, kept);
        }
        return rc;
    }

    /** {@code vpci_get_register}: the register at exactly this offset and size, or null (a record built on demand). */
    public VpciRegister getRegister(int offset, int size) {
        Table t = table;
        int at = t.firstEndingAfter(offset);
        if (at < t.count() && t.offset(at) == offset && t.size(at) == size) {
            return t.record(at);
        }
        return null;
    }

    /** Removes every register (device detach). */
    public synchronized void clear() {
        table = Table.EMPTY;
    }

    /** A snapshot of the table, by offset (records built on demand). */
    public List<VpciRegister> registers() {
        Table t = table;
        VpciRegister[] out = new VpciRegister[t.count()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.record(i);
        }
        return List.of(out);
    }

    /** Number of registers. */
    public int count() {
        return table.count();
    }

    /**
     * {@code vpci_read}: merges every handler overlapping {@code [reg, reg+size)}
     * and fills gaps through {@link #readHw}. Allocation-free.
     *
     * <p>An aligned dword read follows the dword's plan (see the class comment); every other
     * access, and a hardware-domain dword with gaps (gaps there read hardware by size), takes
     * {@link #readWalk}. Both give the same value and call the same handlers, in the same order.
     *
     * @param size 1 to 4 bytes
     * @return the value, masked to {@code size} bytes
     */
    public int read(VpciDevice dev, int reg, int size) {
        Table t = table;
        if (size == 4 && (reg & 3) == 0) {
            char[] plan = t.plan;
            int d = reg >>> 2;
            if (d >= plan.length) {
                return readHw(dev, reg, 4);
            }
            int p = plan[d];
            int i = p & PLAN_INDEX_MASK;
            switch (p >>> PLAN_KIND_SHIFT) {
                case PLAN_SINGLE:
                    return readRegister(t, dev, i, reg);
                case PLAN_EMPTY:
                    return readHw(dev, reg, 4);
                case PLAN_CONTAINED:
                    return readContained(t, dev, reg, i);
                default: // PLAN_CONTAINED_GAPS: a guest's gaps read all-ones (readHw)
                    if (!dev.hardwareDomainView()) {
                        return readContained(t, dev, reg, i);
                    }
                    break;
            }
        }
        return readWalk(t, dev, reg, size);
    }

    /**
     * The dword at {@code reg} from registers that all lie inside it, starting at position
     * {@code i}; gap bytes read all-ones (only used where gaps read so).
     */
    private static int readContained(Table t, VpciDevice dev, int reg, int i) {
        int[] geometry = t.geometry;
        int data = 0;
        int covered = 0;
        int n = geometry.length;
        do {
            int g = geometry[i];
            int off = Table.offsetOf(g);
            int shift = 8 * (off - reg);
            int m = sizeMask(g & 7) << shift;
            data |= (readRegister(t, dev, i, off) & t.readMask(i)) << shift & m;
            covered |= m;
            i++;
        } while (i < n && Table.offsetOf(geometry[i]) < reg + 4);
        return data | ~covered;
    }

    /**
     * Register {@code i}'s read handler at its offset {@code off}: Xen's stock handlers inline
     * (what each does, {@link VpciHandlers#readKind}), any other through its interface. Keeps the
     * interface call site for the device's own handlers (BARs, COMMAND, MSI) instead of every
     * register kind, so it stays narrow enough for the JIT to inline.
     */
    private static int readRegister(Table t, VpciDevice dev, int i, int off) {
        switch (t.geometry[i] >>> GEOMETRY_KIND_SHIFT) {
            case VpciHandlers.KIND_HW8:
                return dev.hardware().read(off, 1);
            case VpciHandlers.KIND_HW16:
                return dev.hardware().read(off, 2);
            case VpciHandlers.KIND_HW32:
                return dev.hardware().read(off, 4);
            case VpciHandlers.KIND_ZERO:
                return 0;
            case VpciHandlers.KIND_ONES:
                return 0xFFFFFFFF;
            case VpciHandlers.KIND_CACHED:
                return ((VpciHandlers.CachedValue) t.reads[i]).value();
            default:
                return t.reads[i].read(dev, off);
        }
    }

    /** The read plan's kind for dword {@code dword} ({@code PLAN_*}); for tests of the plan. */
    int planKind(int dword) {
        char[] plan = table.plan;
        return dword < plan.length ? plan[dword] >>> PLAN_KIND_SHIFT : PLAN_EMPTY;
    }

    /** The generic {@code vpci_read} walk over the table (the oracle for the dword plan). */
    int readWalk(VpciDevice dev, int reg, int size) {
        return readWalk(table, dev, reg, size);
    }

    private static int readWalk(Table t, VpciDevice dev, int reg, int size) {
        int n = t.count();
        int end = reg + size;
        int cur = reg;
        int data = 0;
        for (int i = t.firstEndingAfter(reg); i < n; i++) {
            int off = t.offset(i);
            if (off >= end) {
                break;
            }
            if (off > cur) {
                int gap = off - cur;
                data = merge(data, readHw(dev, cur, gap), gap, cur - reg);
                cur = off;
            }
            int val = readRegister(t, dev, i, off) & t.readMask(i);
            int stop = Math.min(t.end(i), end);
            data = merge(data, val >>> (8 * (cur - off)), stop - cur, cur - reg);
            cur = stop;
        }
        if (cur < end) {
            data = merge(data, readHw(dev, cur, end - cur), end - cur, cur - reg);
        }
        return data & sizeMask(size);
    }

    /**
     * {@code vpci_write}: each overlapping handler gets the masked, possibly
     * partial write; gaps go through {@link #writeHw}.
     *
     * @return the last outcome other than NoEffect that a handler returned, else NO_EFFECT
     */
    public WriteOutcome write(VpciDevice dev, int reg, int size, int value) {
        Table t = table;
        int n = t.count();
        int end = reg + size;
        int cur = reg;
        WriteOutcome outcome = WriteOutcome.NO_EFFECT;
        for (int i = t.firstEndingAfter(reg); i < n; i++) {
            int off = t.offset(i);
            if (off >= end) {
                break;
            }
            if (off > cur) {
                int gap = off - cur;
                writeHw(dev, cur, gap, (value >>> (8 * (cur - reg))) & sizeMask(gap));
                cur = off;
            }
            int stop = Math.min(t.end(i), end);
            int len = stop - cur;
            WriteOutcome o = writeHelper(dev, t, i, len, cur - off, (value >>> (8 * (cur - reg))) & sizeMask(len));
            if (o != WriteOutcome.NO_EFFECT) {
                outcome = o;
            }
            cur = stop;
        }
        if (cur < end) {
            writeHw(dev, cur, end - cur, (value >>> (8 * (cur - reg))) & sizeMask(end - cur));
        }
        return outcome;
    }

    /**
     * {@code vpci_write_helper}: the partial/masked write rule of {@code vpci_write} for {@code len}
     * bytes at byte {@code offset} within register {@code i} of {@code t}.
     */
    private static WriteOutcome writeHelper(VpciDevice dev, Table t, int i, int len, int offset, int data) {
        int size = t.size(i);
        int off = t.offset(i);
        int preserved = t.mask(i, 0) | t.mask(i, 2);
        int current = 0;
        if (len != size || preserved != 0) {
            current = readRegister(t, dev, i, off) & ~t.mask(i, 1);
            data = merge(current, data, len, offset);
        }
        data &= ~(preserved | t.mask(i, 3));
        data |= current & preserved;
        return t.writes[i].write(dev, off, data & sizeMask(size));
    }

    /**
     * "Hardware" read of a gap ({@code vpci_read_hw}): hwdom reads real config space (3 bytes as 1+2 or
     * 2+1 by alignment); a guest always gets all-ones (deny by default, Xen 80b0eb095a).
     */
    static int readHw(VpciDevice dev, int reg, int size) {
        if (!dev.hardwareDomainView()) {
            return 0xFFFFFFFF;
        }
        HardwareConfig hw = dev.hardware();
        if (size == 3) {
            if ((reg & 1) != 0) {
                return hw.read(reg, 1) | (hw.read(reg + 1, 2) << 8);
            }
            return hw.read(reg, 2) | (hw.read(reg + 2, 1) << 16);
        }
        return hw.read(reg, size);
    }

    /** "Hardware" write of a gap ({@code vpci_write_hw}): hwdom writes real config space; a guest's is dropped. */
    static void writeHw(VpciDevice dev, int reg, int size, int data) {
        if (!dev.hardwareDomainView()) {
            dev.traceDroppedWrite(reg, size, data);
            return;
        }
        HardwareConfig hw = dev.hardware();
        if (size == 3) {
            if ((reg & 1) != 0) {
                hw.write(reg, 1, data & 0xFF);
                hw.write(reg + 1, 2, (data >>> 8) & 0xFFFF);
            } else {
                hw.write(reg, 2, data & 0xFFFF);
                hw.write(reg + 2, 1, (data >>> 16) & 0xFF);
            }
            return;
        }
        hw.write(reg, size, data);
    }
}
