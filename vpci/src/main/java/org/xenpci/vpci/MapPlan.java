package org.xenpci.vpci;

import java.util.List;

/**
 * The p2m work {@code modify_bars} computed (Xen keeps it as per-BAR rangesets in the vCPU):
 * guest frame ranges to map onto host frames, or to unmap. Frames are 4 KiB.
 *
 * @param map true to map, false to unmap
 * @param ranges ranges in BAR-slot order, each slot's ranges ascending
 */
public record MapPlan(boolean map, List<Range> ranges) {

    /**
     * One contiguous range.
     *
     * @param bar BAR slot index the range belongs to
     * @param gfn first guest frame
     * @param nr number of frames
     * @param mfn first host frame ({@code PFN(addr) + gfn - PFN(guest_addr)})
     */
    public record Range(int bar, long gfn, long nr, long mfn) {
    }

    public MapPlan {
        ranges = List.copyOf(ranges);
    }

    /** True if there is nothing to change in the p2m (state flags may still change). */
    public boolean isEmpty() {
        return ranges.isEmpty();
    }
}
