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
 * search tree (a treap ordered by guest address) published through a volatile
 * field. An update copies only the O(log n) nodes on its paths, so building a map of n entries
 * costs O(n log n), not the O(n^2) of copying a sorted array per insert. A reader (a vCPU taking
 * a stage-2 fault) sees the map entirely before or entirely after an update, never half of it,
 * and a lookup is an O(log n) walk that allocates nothing. RAM and MMIO mappings are page (4 KiB) granular; trap ranges are byte
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
    /** The current map: root of an immutable treap, null when empty. */
    private volatile Node root;

    /**
     * One immutable treap node: a binary search tree by {@code entry.gpa()} (unsigned) that is
     * also a max-heap by {@code prio}. The priority is a fixed hash of the address, so the shape
     * depends only on the set of entries, and its expected depth is O(log n) for any layout
     * (BARs and RAM come in ascending order, which would degenerate an unbalanced tree).
     */
    private static final class Node {
        final Entry entry;
        final int prio;
        final Node left;
        final Node right;

        Node(Entry entry, int prio, Node left, Node right) {
            this.entry = entry;
            this.prio = prio;
            this.left = left;
            this.right = right;
        }

        Node withLeft(Node l) {
            return new Node(entry, prio, l, right);
        }

        Node withRight(Node r) {
            return new Node(entry, prio, left, r);
        }
    }

    P2m(int domid, Trace trace) {
        this.domid = domid;
        this.trace = trace;
    }

    /** The entry containing {@code gpa}, or null. Allocation-free O(log n) tree walk. */
    public Entry lookup(long gpa) {
        return find(root, gpa);
    }

    private static Entry find(Node n, long gpa) {
        while (n != null) {
            Entry e = n.entry;
            if (Long.compareUnsigned(gpa, e.gpa()) < 0) {
                n = n.left;
            } else if (Long.compareUnsigned(gpa, e.last()) > 0) {
                n = n.right;
            } else {
                return e;
            }
        }
        return null;
    }

    /**
     * One reader's memo of the entry it found last, for {@link #lookup(long, LastHit)}. Owned by
     * one thread at a time (a vCPU's: see {@link Vcpu}); plain fields, since the entry is
     * immutable and was published through the volatile root it is recorded with.
     */
    static final class LastHit {
        private Node root;
        private Entry entry;
    }

    /**
     * {@link #lookup(long)} that first tries the entry {@code hit} found last: a vCPU's accesses
     * mostly land in the region it touched last (a driver polling its device's config space).
     * The memo counts only while the map is the one it was found in: every update publishes a
     * new root, so any change to the map (a BAR unmapped, a trap removed) invalidates it before
     * the next access, exactly as the walk would see the change. Allocation-free.
     */
    Entry lookup(long gpa, LastHit hit) {
        Node r = root;
        Entry e = hit.entry;
        if (hit.root == r && e != null && e.contains(gpa)) {
            return e;
        }
        e = find(r, gpa);
        if (e != null) {
            hit.entry = e;
            hit.root = r;
        }
        return e;
    }

    /** A snapshot of every entry, by address. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        inOrder(root, out);
        return List.copyOf(out);
    }

    /** The direct MMIO entries only, by address: what device memory the domain can reach. */
    public List<DirectMmio> mmioMappings() {
        List<DirectMmio> out = new ArrayList<>();
        for (Entry e : entries()) {
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
        Entry e = lookup(gpa);
        if (!(e instanceof Trapped t && t.gpa() == gpa && t.handler() == handler)) {
            return false;
        }
        root = delete(root, gpa);
        emit(Kind.REMOVE_TRAP, gpa >>> PAGE_SHIFT, 0, -1);
        return true;
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
        for (Entry e : overlapping(root, gpa, size)) {
            if (!(e instanceof DirectMmio m) || m.maddr() - m.gpa() != maddr - gpa) {
                return Errno.EEXIST.rc();
            }
        }
        // Carve out identical pages already present, then insert the whole range; one publish.
        Node next = removeRange(root, gpa, size, e -> e instanceof DirectMmio);
        root = insert(next, new DirectMmio(gpa, size, maddr));
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
        root = removeRange(root, gpa, size, e -> e instanceof DirectMmio);
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
        for (Entry e : entries()) {
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
            root = removeRange(root, c[0] << PAGE_SHIFT, c[1] << PAGE_SHIFT, e -> e instanceof DirectMmio);
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

    private void insertOrThrow(Entry n) {
        List<Entry> clash = overlapping(root, n.gpa(), n.size());
        if (!clash.isEmpty()) {
            throw new IllegalArgumentException("p2m of d" + domid + ": " + describe(n) + " overlaps " + describe(clash.get(0)));
        }
        root = insert(root, n);
    }

    /**
     * Removes the part of matching entries inside the range, splitting them at its edges.
     *
     * @return the new root (the tree {@code t} is not changed)
     */
    private static Node removeRange(Node t, long gpa, long size, java.util.function.Predicate<Entry> which) {
        long last = gpa + size - 1;
        for (Entry e : overlapping(t, gpa, size)) {
            if (!which.test(e)) {
                continue;
            }
            t = delete(t, e.gpa());
            DirectMmio m = (DirectMmio) e;
            if (Long.compareUnsigned(m.gpa(), gpa) < 0) {
                t = insert(t, new DirectMmio(m.gpa(), gpa - m.gpa(), m.maddr()));
            }
            if (Long.compareUnsigned(m.last(), last) > 0) {
                long keep = m.last() - last;
                t = insert(t, new DirectMmio(last + 1, keep, m.maddr() + (last + 1 - m.gpa())));
            }
        }
        return t;
    }

    /* ---- the persistent treap: every operation returns a new root and leaves its input intact ---- */

    /** The treap priority of an entry at {@code gpa}: a fixed 64-bit mix (SplitMix64's finaliser). */
    private static int priority(long gpa) {
        long z = gpa + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int) (z ^ (z >>> 31));
    }

    /** Inserts {@code e}, whose address no entry of {@code t} has. */
    private static Node insert(Node t, Entry e) {
        if (t == null) {
            return new Node(e, priority(e.gpa()), null, null);
        }
        if (Long.compareUnsigned(e.gpa(), t.entry.gpa()) < 0) {
            Node l = insert(t.left, e);
            if (l.prio > t.prio) { // rotate right: l becomes the subtree's root
                return l.withRight(t.withLeft(l.right));
            }
            return t.withLeft(l);
        }
        Node r = insert(t.right, e);
        if (r.prio > t.prio) { // rotate left
            return r.withLeft(t.withRight(r.left));
        }
        return t.withRight(r);
    }

    /** Removes the entry starting at {@code gpa} (present in {@code t}). */
    private static Node delete(Node t, long gpa) {
        if (t == null) {
            return null;
        }
        int c = Long.compareUnsigned(gpa, t.entry.gpa());
        if (c < 0) {
            return t.withLeft(delete(t.left, gpa));
        }
        if (c > 0) {
            return t.withRight(delete(t.right, gpa));
        }
        return merge(t.left, t.right);
    }

    /** Joins two treaps, every address of {@code a} below every address of {@code b}. */
    private static Node merge(Node a, Node b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        if (a.prio > b.prio) {
            return a.withRight(merge(a.right, b));
        }
        return b.withLeft(merge(a, b.left));
    }

    /** The entries of {@code t} overlapping {@code [gpa, gpa+size)}, by address. */
    private static List<Entry> overlapping(Node t, long gpa, long size) {
        List<Entry> out = new ArrayList<>(2);
        collect(t, gpa, gpa + size - 1, out);
        return out;
    }

    private static void collect(Node n, long first, long last, List<Entry> out) {
        if (n == null) {
            return;
        }
        Entry e = n.entry;
        // Entries are disjoint and ordered: the left subtree ends below e.gpa(), the right starts above e.last().
        if (Long.compareUnsigned(first, e.gpa()) < 0) {
            collect(n.left, first, last, out);
        }
        if (Long.compareUnsigned(first, e.last()) <= 0 && Long.compareUnsigned(e.gpa(), last) <= 0) {
            out.add(e);
        }
        if (Long.compareUnsigned(last, e.last()) > 0) {
            collect(n.right, first, last, out);
        }
    }

    private static void inOrder(Node n, List<Entry> out) {
        while (n != null) {
            inOrder(n.left, out);
            out.add(n.entry);
            n = n.right;
        }
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
