package org.xenpci.vpci;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The guest frames of one domain's mapped ({@link VpciBar#enabled}) BARs, indexed for
 * {@code modify_bars}' overlap step (xen/drivers/vpci/header.c: modify_bars, the
 * {@code for_each_pdev} loop that removes from the new rangesets every frame another enabled
 * BAR of the same owner already maps). Xen walks every device of the domain on each COMMAND
 * write, so bringing up n devices costs O(n^2); this index answers "which enabled BARs overlap
 * [s, e]" in O(log n + k) instead, with the same result.
 *
 * <p>Shape: BARs are grouped by size class (class c holds ranges of fewer than 2^c frames), and
 * each class is a tree by first frame. A range of class c that overlaps [s, e] starts in
 * [s - 2^c + 1, e], so each non-empty class is searched over that key range only. BARs may
 * overlap one another (a guest can place two BARs on the same page); nothing here assumes they
 * are disjoint.
 *
 * <p>Memory: one {@link Entry} and one tree node per mapped BAR. Each class is a tree of the
 * entries themselves, ordered by first frame and then by the order they were put (BARs that
 * start on the same frame stay apart), not a map from a boxed first frame to an array of
 * entries (that cost a {@code Long} and a one-element array more per BAR).
 *
 * <p>Maintained where a BAR's mapped state changes ({@code modify_decoding}, a departing
 * device's decoding turned off) and when a device leaves the domain; a BAR's addresses change
 * only while it is not mapped (BAR writes are ignored while mapped, header.c), so an entry stays
 * valid while present. Thread-safe (every method synchronizes on the index); not on the
 * config-access path.
 */
final class BarIndex {
    /** One mapped BAR: {@code bar} of {@code dev}, guest frames {@code [first, last]}. */
    static final class Entry {
        private final VpciDevice dev;
        private final VpciBar bar;
        private final long first;
        private final long last;
        /** Order among entries starting on the same frame (the put order). */
        private final long seq;

        Entry(VpciDevice dev, VpciBar bar, long first, long last, long seq) {
            this.dev = dev;
            this.bar = bar;
            this.first = first;
            this.last = last;
            this.seq = seq;
        }

        VpciDevice dev() {
            return dev;
        }

        VpciBar bar() {
            return bar;
        }

        long first() {
            return first;
        }

        long last() {
            return last;
        }

        @Override
        public String toString() {
            return "Entry[" + bar + " frames 0x" + Long.toHexString(first) + "-0x" + Long.toHexString(last) + "]";
        }
    }

    private static final Comparator<Entry> ORDER = (a, b) -> a.first != b.first
            ? Long.compare(a.first, b.first) : Long.compare(a.seq, b.seq);

    private final List<TreeSet<Entry>> classes = new ArrayList<>(65);
    private final Map<VpciBar, Entry> byBar = new IdentityHashMap<>();
    private long puts;

    BarIndex() {
        for (int c = 0; c <= 64; c++) {
            classes.add(null);
        }
    }

    /** Records {@code bar} of {@code dev} as mapped at guest frames {@code [first, last]} (replacing an older entry). */
    synchronized void put(VpciDevice dev, VpciBar bar, long first, long last) {
        remove(bar);
        Entry e = new Entry(dev, bar, first, last, puts++);
        byBar.put(bar, e);
        int c = sizeClass(first, last);
        TreeSet<Entry> t = classes.get(c);
        if (t == null) {
            t = new TreeSet<>(ORDER);
            classes.set(c, t);
        }
        t.add(e);
    }

    /** Forgets {@code bar} (no longer mapped); no-op if absent. */
    synchronized void remove(VpciBar bar) {
        Entry e = byBar.remove(bar);
        if (e == null) {
            return;
        }
        classes.get(sizeClass(e.first, e.last)).remove(e);
    }

    /** Forgets every BAR of {@code dev}. */
    synchronized void removeDevice(VpciDevice dev) {
        List<VpciBar> gone = new ArrayList<>();
        for (Entry e : byBar.values()) {
            if (e.dev == dev) {
                gone.add(e.bar);
            }
        }
        for (VpciBar b : gone) {
            remove(b);
        }
    }

    /** Every recorded BAR whose frames overlap {@code [first, last]}, in no particular order. */
    synchronized List<Entry> overlapping(long first, long last) {
        List<Entry> out = new ArrayList<>();
        for (int c = 0; c <= 64; c++) {
            TreeSet<Entry> t = classes.get(c);
            if (t == null || t.isEmpty()) {
                continue;
            }
            // A class-c range is shorter than 2^c frames: to reach `first` it must start after first - 2^c.
            long from = c >= 63 || first < (1L << c) ? Long.MIN_VALUE : first - (1L << c) + 1;
            Entry lo = new Entry(null, null, from, 0, Long.MIN_VALUE);
            Entry hi = new Entry(null, null, last, 0, Long.MAX_VALUE);
            for (Entry e : t.subSet(lo, true, hi, true)) {
                if (e.last >= first) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    /** Number of BARs recorded (tests). */
    synchronized int size() {
        return byBar.size();
    }

    /** The class of a range of {@code last - first + 1} frames: the smallest c with length < 2^c. */
    private static int sizeClass(long first, long last) {
        long len = last - first + 1;
        return len <= 0 ? 64 : 64 - Long.numberOfLeadingZeros(len);
    }
}
