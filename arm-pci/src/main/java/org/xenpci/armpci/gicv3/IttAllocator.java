package org.xenpci.armpci.gicv3;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The memory Xen hands out for Interrupt Translation Tables on one host ITS: a first-fit
 * allocator over one address range, with free and coalescing. It stands for the Xen heap that
 * {@code gicv3_its_map_guest_device} (xen/arch/arm/gic-v3-its.c) {@code _xzalloc}s each ITT from
 * and {@code xfree}s it back to on unmap: memory given back is reused, and neighbouring free
 * extents merge, so no sequence of allocate/free leaks or shatters the range for good.
 *
 * <p>Every extent starts and ends on a multiple of {@link #granule()} relative to the range
 * base (the ITS requires 256-byte aligned ITTs, {@code ITS_ITT_ALIGN}); sizes are rounded up to
 * it. The model never reads or writes the memory itself (the ITS model keeps ITTs as state), so
 * nothing is zeroed.
 *
 * <p>Not thread-safe: the owning {@link HostIts} calls it under its lock.
 */
final class IttAllocator {
    private final long base;
    private final long size;
    private final long granule;
    /** Free extents, start to length, address-ordered and never adjacent (always coalesced). */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    /** Allocated extents, start to length. */
    private final Map<Long, Long> used = new HashMap<>();
    private long freeBytes;

    /**
     * @param base first address of the range (a multiple of {@code granule})
     * @param size bytes in the range (a multiple of {@code granule})
     * @param granule alignment and size unit, a power of two
     */
    IttAllocator(long base, long size, long granule) {
        if (granule <= 0 || Long.bitCount(granule) != 1 || size < 0 || base % granule != 0 || size % granule != 0) {
            throw new IllegalArgumentException("bad ITT range " + base + "+" + size + " granule " + granule);
        }
        this.base = base;
        this.size = size;
        this.granule = granule;
        if (size > 0) {
            free.put(base, size);
        }
        this.freeBytes = size;
    }

    long granule() {
        return granule;
    }

    /** {@code bytes} rounded up to the granule (what {@link #allocate} really takes). */
    long roundUp(long bytes) {
        return (bytes + granule - 1) & -granule;
    }

    /**
     * Takes the lowest free extent of at least {@code bytes} (rounded up to the granule).
     *
     * @return its address, or -1 if no free extent is big enough (the caller's -ENOSPC)
     */
    long allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("ITT allocation of " + bytes + " bytes");
        }
        long want = roundUp(bytes);
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            if (e.getValue() >= want) {
                long at = e.getKey();
                long left = e.getValue() - want;
                free.remove(at);
                if (left > 0) {
                    free.put(at + want, left);
                }
                used.put(at, want);
                freeBytes -= want;
                return at;
            }
        }
        return -1;
    }

    /** Gives back the extent {@link #allocate} returned at {@code at}, merging it with free neighbours. */
    void free(long at) {
        Long len = used.remove(at);
        if (len == null) {
            throw new IllegalStateException("ITT at " + Long.toHexString(at) + " was not allocated");
        }
        long start = at;
        long length = len;
        Map.Entry<Long, Long> below = free.floorEntry(at);
        if (below != null && below.getKey() + below.getValue() == at) {
            free.remove(below.getKey());
            start = below.getKey();
            length += below.getValue();
        }
        Long above = free.get(at + len);
        if (above != null) {
            free.remove(at + len);
            length += above;
        }
        free.put(start, length);
        freeBytes += len;
    }

    /** Bytes in the range. */
    long totalBytes() {
        return size;
    }

    /** Bytes not allocated. */
    long freeBytes() {
        return freeBytes;
    }

    /** The biggest single allocation that can succeed now. */
    long largestFree() {
        long max = 0;
        for (long l : free.values()) {
            max = Math.max(max, l);
        }
        return max;
    }

    /** Number of free extents (1 when nothing is allocated: the range is whole again). */
    int freeExtents() {
        return free.size();
    }

    /** Length of the allocated extent at {@code at}, or 0. */
    long allocatedAt(long at) {
        Long l = used.get(at);
        return l == null ? 0 : l;
    }

    long base() {
        return base;
    }
}
