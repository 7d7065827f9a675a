package org.xenpci.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The interrupts pending on one vCPU, as a set of interrupt IDs: a bitmap, the way a GIC
 * keeps pending state (GICv3 LPI pending tables are one bit per LPI). Making an interrupt
 * pending and acknowledging it are one atomic OR / AND-NOT on a word, allocation-free once the
 * 64 Ki-ID chunk holding the ID exists (chunks are created on first use: an LPI pending on a
 * vCPU costs 8 KiB for its chunk, not the whole ID space). IDs 0 to 2^24-1 (GICv3's largest ID
 * space, GICD_TYPER.IDbits) use the bitmap; anything else falls back to a sorted set, so no
 * value is refused.
 *
 * <p>Thread-safe: devices on other threads make interrupts pending while the vCPU acknowledges.
 */
final class PendingInterrupts {
    private static final int CHUNK_BITS = 16;
    private static final int CHUNK_WORDS = (1 << CHUNK_BITS) / 64;
    private static final int ID_LIMIT = 1 << 24;
    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final AtomicReferenceArray<long[]> chunks = new AtomicReferenceArray<>(ID_LIMIT >>> CHUNK_BITS);
    private final ConcurrentSkipListSet<Integer> outside = new ConcurrentSkipListSet<>();

    /** Makes {@code intid} pending; true if it was not pending before. */
    boolean add(int intid) {
        if (intid < 0 || intid >= ID_LIMIT) {
            return outside.add(intid);
        }
        long[] c = chunks.get(intid >>> CHUNK_BITS);
        if (c == null) {
            c = new long[CHUNK_WORDS];
            if (!chunks.compareAndSet(intid >>> CHUNK_BITS, null, c)) {
                c = chunks.get(intid >>> CHUNK_BITS);
            }
        }
        long bit = 1L << intid;
        return ((long) WORDS.getAndBitwiseOr(c, word(intid), bit) & bit) == 0;
    }

    /** Clears {@code intid}; true if it was pending. */
    boolean remove(int intid) {
        if (intid < 0 || intid >= ID_LIMIT) {
            return outside.remove(intid);
        }
        long[] c = chunks.get(intid >>> CHUNK_BITS);
        if (c == null) {
            return false;
        }
        long bit = 1L << intid;
        return ((long) WORDS.getAndBitwiseAnd(c, word(intid), ~bit) & bit) != 0;
    }

    /** True if {@code intid} is pending. */
    boolean contains(int intid) {
        if (intid < 0 || intid >= ID_LIMIT) {
            return outside.contains(intid);
        }
        long[] c = chunks.get(intid >>> CHUNK_BITS);
        return c != null && ((long) WORDS.getVolatile(c, word(intid)) & 1L << intid) != 0;
    }

    /** The pending IDs, ascending (signed order, as the former sorted set). */
    List<Integer> snapshot() {
        List<Integer> out = new ArrayList<>();
        for (Integer n : outside) {
            if (n < 0) {
                out.add(n);
            }
        }
        for (int ci = 0; ci < chunks.length(); ci++) {
            long[] c = chunks.get(ci);
            if (c == null) {
                continue;
            }
            for (int w = 0; w < CHUNK_WORDS; w++) {
                long bits = (long) WORDS.getVolatile(c, w);
                while (bits != 0) {
                    int b = Long.numberOfTrailingZeros(bits);
                    out.add((ci << CHUNK_BITS) | (w << 6) | b);
                    bits &= bits - 1;
                }
            }
        }
        for (Integer n : outside) {
            if (n >= 0) {
                out.add(n);
            }
        }
        return List.copyOf(out);
    }

    private static int word(int intid) {
        return (intid & ((1 << CHUNK_BITS) - 1)) >>> 6;
    }
}
