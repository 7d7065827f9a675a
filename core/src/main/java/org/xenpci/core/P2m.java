package org.xenpci.core;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.Events.P2mChange.Kind;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * A domain's stage-2 map: guest-physical ranges backed by RAM, mapped 1:1-or-not onto machine
 * MMIO ("direct-mapped device memory", Xen's {@code p2m_mmio_direct_dev}), or left unmapped
 * and trapped to an {@link MmioHandler}.
 *
 * <p>Concurrency: updates are serialised and copy-on-write; the current map is an immutable
 * sorted array published through a volatile field. A reader (a vCPU taking a stage-2 fault)
 * sees the map entirely before or entirely after an update, never half of it, and a lookup
 * allocates nothing. RAM and MMIO mappings are page (4 KiB) granular; trap ranges are byte
 * ranges, as Xen's {@code register_mmio_handler} takes them.
 */
public final class P2m {
    /** Page size in bytes. */
    public static final long PAGE_SIZE = 4096;
    /** log2 of the page size. */
    public static final int PAGE_SHIFT = 12;

    /** One contiguous entry of the map. */
    public sealed interface Entry permits Ram, DirectMmio, Trapped {
        /** First guest-physical byte. */
        long gpa();

        /** Size in bytes. */
        long size();

        default long last() {
            return gpa() + size() - 1;
        }

        default boolean contains(long addr) {
            return Long.compareUnsigned(addr, gpa()) >= 0 && Long.compareUnsigned(addr, last()) <= 0;
        }
    }

    /** Guest RAM: {@code memory} offset {@code memOffset} backs {@code gpa}. */
    public record Ram(long gpa, long size, BackingMemory memory, long memOffset) implements Entry {
    }

    /** Device memory: guest {@code gpa} maps machine address {@code maddr}. */
    public record DirectMmio(long gpa, long size, long maddr) implements Entry {
    }

    /** A trapped range served by {@code handler}. */
    public record Trapped(long gpa, long size, MmioHandler handler) implements Entry {
    }

    private final int domid;
    private final Trace trace;
    private volatile Entry[] entries = new Entry[0];

    P2m(int domid, Trace trace) {
        this.domid = domid;
        this.trace = trace;
    }

    /** The entry containing {@code gpa}, or null. Allocation-free binary search. */
    public Entry lookup(long gpa) {
        Entry[] es = entries;
        int lo = 0;
        int hi = es.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Entry e = es[mid];
            if (Long.compareUnsigned(gpa, e.gpa()) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(gpa, e.last()) > 0) {
                lo = mid + 1;
            } else {
                return e;
            }
        }
        return null;
    }

    /** A snapshot of every entry, by address. */
    public List<Entry> entries() {
        return List.of(entries);
    }

    /** The direct MMIO entries only, by address: what device memory the domain can reach. */
    public List<DirectMmio> mmioMappings() {
        List<DirectMmio> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e instanceof DirectMmio m) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * Adds RAM at {@code gpa} (page aligned) backed by {@code memory} from offset 0.
     *
     * @throws IllegalArgumentException on misalignment or overlap (a model-construction error)
     */
    public synchronized void addRam(long gpa, BackingMemory memory) {
        requirePageAligned(gpa, memory.size());
        insertOrThrow(new Ram(gpa, memory.size(), memory, 0));
        emit(Kind.ADD_RAM, gpa >>> PAGE_SHIFT, memory.size() >>> PAGE_SHIFT, -1);
    }

    /**
     * Traps {@code [gpa, gpa+size)} to {@code handler}.
     *
     * @throws IllegalArgumentException if the range overlaps any entry
     */
    public synchronized void addTrap(long gpa, long size, MmioHandler handler) {
        insertOrThrow(new Trapped(gpa, size, handler));
        emit(Kind.ADD_TRAP, gpa >>> PAGE_SHIFT, (size + PAGE_SIZE - 1) >>> PAGE_SHIFT, -1);
    }

    /** Removes the trap that starts at {@code gpa} with this handler; false if there is none. */
    public synchronized boolean removeTrap(long gpa, MmioHandler handler) {
        List<Entry> list = new ArrayList<>(List.of(entries));
        boolean removed = list.removeIf(e -> e instanceof Trapped t && t.gpa() == gpa && t.handler() == handler);
        if (removed) {
            entries = list.toArray(new Entry[0]);
            emit(Kind.REMOVE_TRAP, gpa >>> PAGE_SHIFT, 0, -1);
        }
        return removed;
    }

    /**
     * Maps {@code nr} pages of machine frames starting at {@code mfn} at guest frame {@code gfn}
     * (Xen's {@code map_mmio_regions}). Pages already mapped to exactly the same frames are
     * left as they are; any other overlap (RAM, a trap, a different frame) refuses the whole
     * request with {@code -EEXIST} and changes nothing.
     *
     * @return 0 or a negative errno
     */
    public synchronized int mapMmio(long gfn, long nr, long mfn) {
        if (nr <= 0) {
            return Errno.EINVAL.rc();
        }
        long gpa = gfn << PAGE_SHIFT;
        long size = nr << PAGE_SHIFT;
        long maddr = mfn << PAGE_SHIFT;
        for (Entry e : entries) {
            if (!overlaps(e, gpa, size)) {
                continue;
            }
            if (!(e instanceof DirectMmio m) || m.maddr() - m.gpa() != maddr - gpa) {
                return Errno.EEXIST.rc();
            }
        }
        // Carve out identical pages already present, then insert what is left.
        List<Entry> list = removeRange(gpa, size, e -> e instanceof DirectMmio);
        list.add(new DirectMmio(gpa, size, maddr));
        publish(list);
        emit(Kind.MAP_MMIO, gfn, nr, mfn);
        return 0;
    }

    /**
     * Removes every direct MMIO page in {@code [gfn, gfn+nr)} (Xen's {@code unmap_mmio_regions}).
     * RAM and traps in the range are left alone.
     *
     * @return 0
     */
    public synchronized int unmapMmio(long gfn, long nr) {
        long gpa = gfn << PAGE_SHIFT;
        long size = nr << PAGE_SHIFT;
        publish(removeRange(gpa, size, e -> e instanceof DirectMmio));
        emit(Kind.UNMAP_MMIO, gfn, nr, -1);
        return 0;
    }

    /**
     * Removes every direct MMIO page whose <em>machine</em> frame lies in
     * {@code [firstMfn, lastMfn]}, wherever the domain has it mapped. This is how a device that
     * leaves a domain is cut off completely: by what its BARs decode in hardware, independent of
     * any bookkeeping of where the guest put them or which frames another BAR also claims.
     *
     * @return the number of guest pages unmapped (0 if none)
     */
    public synchronized long unmapMachineFrames(long firstMfn, long lastMfn) {
        long removed = 0;
        List<long[]> cut = new ArrayList<>();
        for (Entry e : entries) {
            if (!(e instanceof DirectMmio m)) {
                continue;
            }
            long mfn0 = m.maddr() >>> PAGE_SHIFT;
            long mfn1 = mfn0 + (m.size() >>> PAGE_SHIFT) - 1;
            long lo = Math.max(mfn0, firstMfn);
            long hi = Math.min(mfn1, lastMfn);
            if (lo <= hi) {
                long gfn = (m.gpa() >>> PAGE_SHIFT) + (lo - mfn0);
                cut.add(new long[] {gfn, hi - lo + 1});
                removed += hi - lo + 1;
            }
        }
        for (long[] c : cut) {
            publish(removeRange(c[0] << PAGE_SHIFT, c[1] << PAGE_SHIFT, e -> e instanceof DirectMmio));
            emit(Kind.UNMAP_MMIO, c[0], c[1], -1);
        }
        return removed;
    }

    /**
     * Copies {@code length} bytes of guest RAM at {@code gpa} (Xen's {@code copy_from_guest}).
     *
     * @return the bytes, or null if any byte is not RAM (the hypercall then fails with -EFAULT)
     */
    public byte[] copyFromGuest(long gpa, int length) {
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            Entry e = lookup(gpa + done);
            if (!(e instanceof Ram r)) {
                return null;
            }
            int chunk = (int) Math.min(length - done, r.last() - (gpa + done) + 1);
            byte[] part = r.memory().readBytes(r.memOffset() + gpa + done - r.gpa(), chunk);
            System.arraycopy(part, 0, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    /**
     * Copies {@code data} into guest RAM at {@code gpa}.
     *
     * @return false (and writes nothing) if any byte is not RAM
     */
    public boolean copyToGuest(long gpa, byte[] data) {
        for (long off = 0; off < data.length; ) {
            Entry e = lookup(gpa + off);
            if (!(e instanceof Ram r)) {
                return false;
            }
            off += r.last() - (gpa + off) + 1;
        }
        int done = 0;
        while (done < data.length) {
            Ram r = (Ram) lookup(gpa + done);
            int chunk = (int) Math.min(data.length - done, r.last() - (gpa + done) + 1);
            byte[] part = new byte[chunk];
            System.arraycopy(data, done, part, 0, chunk);
            r.memory().writeBytes(r.memOffset() + gpa + done - r.gpa(), part);
            done += chunk;
        }
        return true;
    }

    private static boolean overlaps(Entry e, long gpa, long size) {
        long last = gpa + size - 1;
        return Long.compareUnsigned(gpa, e.last()) <= 0 && Long.compareUnsigned(e.gpa(), last) <= 0;
    }

    private void insertOrThrow(Entry n) {
        for (Entry e : entries) {
            if (overlaps(e, n.gpa(), n.size())) {
                throw new IllegalArgumentException("p2m of d" + domid + ": " + describe(n) + " overlaps " + describe(e));
            }
        }
        List<Entry> list = new ArrayList<>(List.of(entries));
        list.add(n);
        publish(list);
    }

    /** Removes the part of matching entries inside the range, splitting them at its edges. */
    private List<Entry> removeRange(long gpa, long size, java.util.function.Predicate<Entry> which) {
        long last = gpa + size - 1;
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (!which.test(e) || !overlaps(e, gpa, size)) {
                out.add(e);
                continue;
            }
            DirectMmio m = (DirectMmio) e;
            if (Long.compareUnsigned(m.gpa(), gpa) < 0) {
                out.add(new DirectMmio(m.gpa(), gpa - m.gpa(), m.maddr()));
            }
            if (Long.compareUnsigned(m.last(), last) > 0) {
                long keep = m.last() - last;
                out.add(new DirectMmio(last + 1, keep, m.maddr() + (last + 1 - m.gpa())));
            }
        }
        return out;
    }

    private void publish(List<Entry> list) {
        list.sort((a, b) -> Long.compareUnsigned(a.gpa(), b.gpa()));
        entries = list.toArray(new Entry[0]);
    }

    private void requirePageAligned(long gpa, long size) {
        if ((gpa & (PAGE_SIZE - 1)) != 0 || (size & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("p2m of d" + domid + ": " + Hex.of(gpa) + "+" + Hex.of(size) + " is not page aligned");
        }
    }

    private void emit(Kind kind, long gfn, long nr, long mfn) {
        if (trace.enabled(TraceCategory.P2M)) {
            trace.emit(new Events.P2mChange(domid, kind, gfn, nr, mfn));
        }
    }

    private static String describe(Entry e) {
        String what = e instanceof Ram ? "RAM" : e instanceof DirectMmio m ? "MMIO->" + Hex.of(m.maddr())
                : "trap " + ((Trapped) e).handler().name();
        return what + " " + Hex.of(e.gpa()) + "+" + Hex.of(e.size());
    }

}
