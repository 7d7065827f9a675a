package org.xenpci.vpci;

import java.util.List;
import org.xenpci.core.Errno;

/**
 * A device's emulated-register table and Xen's access merge rules (xen/drivers/vpci/vpci.c:
 * {@code vpci_add_register_mask}, {@code vpci_remove_registers}, {@code vpci_read},
 * {@code vpci_write}; xen/drivers/vpci/vpci.c).
 *
 * <p>Registers are kept in an immutable array sorted by offset, replaced on every add/remove
 * (copy-on-write). STYLE 2 suggests a {@code NavigableMap}; an array is used instead because the
 * access path must not allocate (sub-map views and iterators would). Registers never overlap,
 * so ends are sorted too. Beside the array sits a per-dword slot index, published with it as
 * one immutable {@link Table}: for each dword of config space up to the last register's end,
 * the position of the first register ending after that dword's first byte. An access finds its
 * first register with one index load and at most three steps, whatever the number of
 * registers (Xen walks its sorted list from the head, {@code list_for_each_entry} in
 * {@code vpci_read}). The index only spans up to the last register (64 entries for
 * a header-only device), so it stays small per device.
 *
 * <p>Thread-safety: mutations are serialised on this object; readers see the old or the new
 * array. Handlers themselves run under the caller's locks (see {@link VpciDevice}).
 *
 * <p>Errors are returned as Xen does: 0 or a negative errno ({@link Errno#rc()}).
 */
public final class VpciRegisters {
    /**
     * The registers by offset and their dword slot index, replaced together (copy-on-write).
     *
     * @param regs registers sorted by offset
     * @param firstByDword for dword {@code d}, the position in {@code regs} of the first register
     *     ending after byte {@code 4d}; covers dwords below the last register's end
     */
    private record Table(VpciRegister[] regs, char[] firstByDword) {
        static final Table EMPTY = new Table(new VpciRegister[0], new char[0]);

        static Table of(VpciRegister[] regs) {
            if (regs.length == 0) {
                return EMPTY;
            }
            int dwords = (regs[regs.length - 1].end() + 3) >>> 2;
            char[] idx = new char[dwords];
            int at = 0;
            for (int d = 0; d < dwords; d++) {
                while (at < regs.length && regs[at].end() <= 4 * d) {
                    at++;
                }
                idx[d] = (char) at; // at most 4096 registers: fits
            }
            return new Table(regs, idx);
        }

        /** Position of the first register ending after byte {@code reg}; {@code regs.length} if none. */
        int firstEndingAfter(int reg) {
            int d = reg >>> 2;
            if (d >= firstByDword.length) {
                return regs.length;
            }
            int i = firstByDword[d];
            while (i < regs.length && regs[i].end() <= reg) {
                i++;
            }
            return i;
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
        VpciRegister r = new VpciRegister(offset, size,
                read == null ? VpciHandlers.READ_ONES : read,
                write == null ? VpciHandlers.IGNORE_WRITE : write,
                ro, rw1c, rsvdp, rsvdz);
        synchronized (this) {
            Table t = table;
            VpciRegister[] cur = t.regs();
            int at = t.firstEndingAfter(offset);
            if (at < cur.length && cur[at].overlaps(offset, size)) {
                return Errno.EEXIST.rc();
            }
            VpciRegister[] next = new VpciRegister[cur.length + 1];
            System.arraycopy(cur, 0, next, 0, at);
            next[at] = r;
            System.arraycopy(cur, at, next, at + 1, cur.length - at);
            table = Table.of(next);
        }
        return 0;
    }

    /**
     * {@code vpci_remove_registers}: deletes every register lying entirely inside
     * {@code [start, start+size)}, in order. A register only partly inside stops the walk with
     * -ERANGE; registers deleted before it stay deleted. An empty range or no match gives 0.
     */
    public synchronized int removeRegisters(int start, int size) {
        VpciRegister[] cur = table.regs();
        int end = start + size;
        int kept = 0;
        VpciRegister[] next = new VpciRegister[cur.length];
        int rc = 0;
        int i = 0;
        for (; i < cur.length; i++) {
            VpciRegister r = cur[i];
            if (size > 0 && r.offset() >= start && r.end() <= end) {
                continue; // removed
            }
            if (size > 0 && r.overlaps(start, size)) {
                rc = Errno.ERANGE.rc();
                break;
            }
            next[kept++] = r;
        }
        for (; i < cur.length; i++) {
            next[kept++] = cur[i];
        }
        if (kept != cur.length) {
            VpciRegister[] trimmed = new VpciRegister[kept];
            System.arraycopy(next, 0, trimmed, 0, kept);
            table = Table.of(trimmed);
        }
        return rc;
    }

    /** {@code vpci_get_register}: the register at exactly this offset and size, or null. */
    public VpciRegister getRegister(int offset, int size) {
        Table t = table;
        VpciRegister[] cur = t.regs();
        int at = t.firstEndingAfter(offset);
        if (at < cur.length && cur[at].offset() == offset && cur[at].size() == size) {
            return cur[at];
        }
        return null;
    }

    /** Removes every register (device detach). */
    public synchronized void clear() {
        table = Table.EMPTY;
    }

    /** A snapshot of the table, by offset. */
    public List<VpciRegister> registers() {
        return List.of(table.regs());
    }

    /** Number of registers. */
    public int count() {
        return table.regs().length;
    }

    /**
     * {@code vpci_read}: merges every handler overlapping {@code [reg, reg+size)}
     * and fills gaps through {@link #readHw}. Allocation-free.
     *
     * @param size 1 to 4 bytes
     * @return the value, masked to {@code size} bytes
     */
    public int read(VpciDevice dev, int reg, int size) {
        Table t = table;
        VpciRegister[] rs = t.regs();
        int end = reg + size;
        int cur = reg;
        int data = 0;
        for (int i = t.firstEndingAfter(reg); i < rs.length; i++) {
            VpciRegister r = rs[i];
            if (r.offset() >= end) {
                break;
            }
            if (r.offset() > cur) {
                int gap = r.offset() - cur;
                data = merge(data, readHw(dev, cur, gap), gap, cur - reg);
                cur = r.offset();
            }
            int val = r.read().read(dev, r.offset()) & ~(r.rsvdpMask() | r.rsvdzMask());
            int stop = Math.min(r.end(), end);
            data = merge(data, val >>> (8 * (cur - r.offset())), stop - cur, cur - reg);
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
        VpciRegister[] rs = t.regs();
        int end = reg + size;
        int cur = reg;
        WriteOutcome outcome = WriteOutcome.NO_EFFECT;
        for (int i = t.firstEndingAfter(reg); i < rs.length; i++) {
            VpciRegister r = rs[i];
            if (r.offset() >= end) {
                break;
            }
            if (r.offset() > cur) {
                int gap = r.offset() - cur;
                writeHw(dev, cur, gap, (value >>> (8 * (cur - reg))) & sizeMask(gap));
                cur = r.offset();
            }
            int stop = Math.min(r.end(), end);
            int len = stop - cur;
            WriteOutcome o = writeHelper(dev, r, len, cur - r.offset(), (value >>> (8 * (cur - reg))) & sizeMask(len));
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
     * bytes at byte {@code offset} within register {@code r}.
     */
    private static WriteOutcome writeHelper(VpciDevice dev, VpciRegister r, int len, int offset, int data) {
        int preserved = r.roMask() | r.rsvdpMask();
        int current = 0;
        if (len != r.size() || preserved != 0) {
            current = r.read().read(dev, r.offset()) & ~r.rw1cMask();
            data = merge(current, data, len, offset);
        }
        data &= ~(preserved | r.rsvdzMask());
        data |= current & preserved;
        return r.write().write(dev, r.offset(), data & sizeMask(r.size()));
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
