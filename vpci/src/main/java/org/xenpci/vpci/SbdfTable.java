package org.xenpci.vpci;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Devices by packed SBDF ({@code seg << 16 | bus << 8 | devfn}): a page table of segment, then
 * bus (a page of 256 devfns allocated on first use). Lookup is O(1) and allocation-free and
 * takes no lock (volatile reads through {@link AtomicReferenceArray}); writers synchronize on
 * the table. Used for a domain's machine-SBDF lookups, which Xen does by walking the domain's
 * device list ({@code pci_get_pdev}); the walk made bring-up quadratic in the number of functions.
 */
final class SbdfTable {
    private static final int[] NO_SEGMENTS = new int[0];

    /** Segment numbers present, parallel to {@link #buses}; replaced whole when a segment is added. */
    private volatile int[] segments = NO_SEGMENTS;
    @SuppressWarnings("unchecked")
    private volatile AtomicReferenceArray<AtomicReferenceArray<VpciDevice>>[] buses = new AtomicReferenceArray[0];

    /** The device at {@code sbdf}, or null. */
    VpciDevice get(int sbdf) {
        int seg = sbdf >>> 16;
        int[] segs = segments;
        AtomicReferenceArray<AtomicReferenceArray<VpciDevice>>[] bs = buses;
        for (int i = 0; i < segs.length && i < bs.length; i++) {
            if (segs[i] == seg) {
                AtomicReferenceArray<VpciDevice> page = bs[i].get((sbdf >> 8) & 0xff);
                return page == null ? null : page.get(sbdf & 0xff);
            }
        }
        return null;
    }

    /** Records {@code dev} at {@code sbdf}. */
    synchronized void put(int sbdf, VpciDevice dev) {
        int seg = sbdf >>> 16;
        int i = indexOf(seg);
        if (i < 0) {
            AtomicReferenceArray<AtomicReferenceArray<VpciDevice>>[] bs = Arrays.copyOf(buses, buses.length + 1);
            bs[bs.length - 1] = new AtomicReferenceArray<>(256);
            int[] segs = Arrays.copyOf(segments, segments.length + 1);
            segs[segs.length - 1] = seg;
            buses = bs; // the new page array first: a reader bounds its scan by both lengths
            segments = segs;
            i = segs.length - 1;
        }
        AtomicReferenceArray<AtomicReferenceArray<VpciDevice>> pages = buses[i];
        int bus = (sbdf >> 8) & 0xff;
        AtomicReferenceArray<VpciDevice> page = pages.get(bus);
        if (page == null) {
            page = new AtomicReferenceArray<>(256);
            pages.set(bus, page);
        }
        page.set(sbdf & 0xff, dev);
    }

    /** Forgets {@code dev} at {@code sbdf} (no-op if another device or none is there). */
    synchronized void remove(int sbdf, VpciDevice dev) {
        int i = indexOf(sbdf >>> 16);
        if (i < 0) {
            return;
        }
        AtomicReferenceArray<VpciDevice> page = buses[i].get((sbdf >> 8) & 0xff);
        if (page != null) {
            page.compareAndSet(sbdf & 0xff, dev, null);
        }
    }

    private int indexOf(int seg) {
        int[] segs = segments;
        for (int i = 0; i < segs.length; i++) {
            if (segs[i] == seg) {
                return i;
            }
        }
        return -1;
    }
}
