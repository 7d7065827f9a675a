package org.xenpci.vpci;

import java.util.ArrayList;
import java.util.List;

/**
 * A small version of Xen's {@code rangeset} over frame numbers: disjoint inclusive ranges,
 * ascending. Used only while {@code modifyBars} computes a plan (not on the access path).
 * Not thread-safe; confined to one computation.
 */
final class FrameRangeSet {
    private final List<long[]> ranges = new ArrayList<>();

    /** Adds {@code [start, end]}; the set must not already overlap it (Xen asserts an empty set). */
    void add(long start, long end) {
        int at = 0;
        while (at < ranges.size() && ranges.get(at)[0] < start) {
            at++;
        }
        ranges.add(at, new long[] {start, end});
    }

    /** Removes {@code [start, end]}, splitting ranges at its edges. */
    void remove(long start, long end) {
        List<long[]> out = new ArrayList<>();
        for (long[] r : ranges) {
            if (r[1] < start || r[0] > end) {
                out.add(r);
                continue;
            }
            if (r[0] < start) {
                out.add(new long[] {r[0], start - 1});
            }
            if (r[1] > end) {
                out.add(new long[] {end + 1, r[1]});
            }
        }
        ranges.clear();
        ranges.addAll(out);
    }

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** The ranges, ascending, as {start, end} pairs. */
    List<long[]> ranges() {
        return ranges;
    }
}
