package org.xenpci.core;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * The machine's physical address space: which device answers at which machine address.
 * This is the hardware's view and knows nothing of Xen.
 *
 * <p>Regions are registered while the platform is assembled and may be added later (hot-add);
 * lookups read an immutable snapshot published through a volatile field, so concurrent
 * accesses never see a half-registered region and allocate nothing. Unclaimed reads return
 * all-ones and unclaimed writes are dropped (a bus error on real hardware; traced as
 * {@link Events.BusMiss}).
 */
public final class PhysicalAddressSpace {

    /** One registered region. */
    public record Region(String name, long base, long size, MmioDevice device) {
        public Region {
            if (size <= 0 || base + size - 1 < base) {
                throw new IllegalArgumentException("bad region " + name + " " + Hex.of(base) + "+" + Hex.of(size));
            }
        }

        /** Last byte address, inclusive. */
        public long last() {
            return base + size - 1;
        }

        boolean contains(long addr) {
            return Long.compareUnsigned(addr, base) >= 0 && Long.compareUnsigned(addr, last()) <= 0;
        }
    }

    private volatile Region[] regions = new Region[0];
    private volatile Trace trace;

    /** Attaches a trace for bus misses (the platform's first booted Xen sets it). */
    public void trace(Trace trace) {
        this.trace = trace;
    }

    /**
     * Registers a device at {@code [base, base+size)}.
     *
     * @throws IllegalArgumentException if the region overlaps one already registered
     */
    public synchronized Region register(String name, long base, long size, MmioDevice device) {
        Region r = new Region(name, base, size, device);
        List<Region> list = new ArrayList<>(List.of(regions));
        for (Region o : list) {
            if (Long.compareUnsigned(r.base, o.last()) <= 0 && Long.compareUnsigned(o.base, r.last()) <= 0) {
                throw new IllegalArgumentException("region " + name + " " + Hex.of(base) + "+" + Hex.of(size)
                        + " overlaps " + o.name() + " " + Hex.of(o.base()) + "+" + Hex.of(o.size()));
            }
        }
        list.add(r);
        list.sort((a, b) -> Long.compareUnsigned(a.base, b.base));
        regions = list.toArray(new Region[0]);
        return r;
    }

    /** The registered regions, by base address. */
    public List<Region> regions() {
        return List.of(regions);
    }

    /** The region containing {@code maddr}, or null. Allocation-free binary search. */
    public Region find(long maddr) {
        Region[] rs = regions;
        int lo = 0;
        int hi = rs.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Region r = rs[mid];
            if (Long.compareUnsigned(maddr, r.base) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(maddr, r.last()) > 0) {
                lo = mid + 1;
            } else {
                return r;
            }
        }
        return null;
    }

    /** A load of {@code size} bytes (1, 2, 4, 8) at machine address {@code maddr}. */
    public long read(long maddr, int size) {
        Region r = find(maddr);
        if (r == null || !r.contains(maddr + size - 1)) {
            miss(maddr, size, false);
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
        return r.device.read(maddr - r.base, size);
    }

    /** A store of {@code size} bytes (1, 2, 4, 8) at machine address {@code maddr}. */
    public void write(long maddr, int size, long value) {
        Region r = find(maddr);
        if (r == null || !r.contains(maddr + size - 1)) {
            miss(maddr, size, true);
            return;
        }
        r.device.write(maddr - r.base, size, value);
    }

    private void miss(long maddr, int size, boolean write) {
        Trace t = trace;
        if (t != null && t.enabled(TraceCategory.BUS)) {
            t.emit(new Events.BusMiss(maddr, size, write));
        }
    }
}
