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
    /**
     * Counts changes to the region set, bumped after each new snapshot is published; a
     * {@link Binding} resolved under an older count resolves again before its next access.
     */
    private volatile long generation;
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
        generation = generation + 1; // under this object's monitor: the only writer
        return r;
    }

    /**
     * The number of changes to the region set so far (a registration adds one). For callers
     * that cache a decode of this address space.
     */
    public long generation() {
        return generation;
    }

    /**
     * A binding of {@code [maddr, maddr + size)}: accesses relative to {@code maddr} that the
     * claiming device serves through its {@link MmioDevice#bind} without a decode of the
     * address space or of the device's own address. The binding follows the region set: when
     * a region is registered it asks the devices again. It serves nothing (every access
     * {@link MmioBinding#UNSERVED}) while no single region holds the whole range or its device
     * offers no binding; the caller then accesses through {@link #read}/{@link #write}, which
     * also trace the bus miss.
     *
     * @throws IllegalArgumentException if {@code size} is not positive or the range wraps past 2^64
     */
    public Binding bind(long maddr, long size) {
        if (size <= 0 || Long.compareUnsigned(maddr + size - 1, maddr) < 0) {
            throw new IllegalArgumentException("bad binding " + Hex.of(maddr) + "+" + Hex.of(size));
        }
        return new Binding(maddr, size);
    }

    /**
     * A range of the address space bound to the device that claims it ({@link #bind}).
     * Thread-safe and allocation-free per access (it allocates only when it resolves again
     * after a registration).
     */
    public final class Binding implements MmioBinding {
        private final long maddr;
        private final long size;
        private volatile Resolved resolved = Resolved.NONE;

        private Binding(long maddr, long size) {
            this.maddr = maddr;
            this.size = size;
        }

        /** First machine address of the range. */
        public long base() {
            return maddr;
        }

        /** True while the range is served by a device binding (as of the current region set). */
        public boolean bound() {
            return current() != null;
        }

        @Override
        public long read(long offset, int len) {
            MmioBinding b = current();
            if (b == null || offset < 0 || offset + len > size) {
                return UNSERVED;
            }
            return b.read(offset, len);
        }

        @Override
        public boolean write(long offset, int len, long value) {
            MmioBinding b = current();
            if (b == null || offset < 0 || offset + len > size) {
                return false;
            }
            return b.write(offset, len, value);
        }

        private MmioBinding current() {
            Resolved r = resolved;
            if (r.generation != generation) {
                // The count is read before the decode: a registration racing it leaves the
                // result filed under the older count, so the next access resolves again.
                long g = generation;
                Region region = find(maddr);
                MmioBinding b = region == null || !region.contains(maddr + size - 1) ? null
                        : region.device.bind(maddr - region.base, size);
                r = new Resolved(g, b);
                resolved = r;
            }
            return r.binding;
        }
    }

    /** A binding's device side under one region-set generation; final fields, so a racy read sees it whole. */
    private static final class Resolved {
        /** Before the first access: no generation matches it. */
        static final Resolved NONE = new Resolved(-1, null);
        final long generation;
        final MmioBinding binding;

        Resolved(long generation, MmioBinding binding) {
            this.generation = generation;
            this.binding = binding;
        }
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
