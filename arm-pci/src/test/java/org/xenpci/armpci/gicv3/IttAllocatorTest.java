package org.xenpci.armpci.gicv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("ITT memory allocator: first fit, freed memory reused, neighbours coalesce")
class IttAllocatorTest {
    private static final long BASE = 0x4ff1_0000L;
    private static final long SIZE = 0xf_0000L; // 960 KiB: Xen's ITS memory after the 64 KiB queue

    @Test
    @DisplayName("the reproduction's churn (MAPD 32 KiB / unmap, then 256 B / unmap) never moves past the first extent")
    void churnReuses() {
        IttAllocator a = new IttAllocator(BASE, SIZE, 256);
        for (int i = 0; i < 40; i++) {
            long at = a.allocate(4096 * 8);
            assertThat(at).isEqualTo(BASE);
            a.free(at);
        }
        for (int i = 0; i < 200; i++) {
            long at = a.allocate(32 * 8);
            assertThat(at).isEqualTo(BASE);
            a.free(at);
        }
        assertThat(a.freeBytes()).isEqualTo(SIZE);
        assertThat(a.freeExtents()).isEqualTo(1);
    }

    @Test
    @DisplayName("sizes round up to 256 bytes; a freed hole between two live extents is reused; exhaustion returns -1 and changes nothing")
    void holesAndExhaustion() {
        IttAllocator a = new IttAllocator(BASE, 0x1000, 256);
        long x = a.allocate(1);
        long y = a.allocate(0x200);
        long z = a.allocate(0x100);
        assertThat(new long[] {x, y, z}).containsExactly(BASE, BASE + 0x100, BASE + 0x300);
        assertThat(a.allocatedAt(x)).isEqualTo(0x100);
        a.free(y);
        assertThat(a.freeExtents()).isEqualTo(2);
        assertThat(a.allocate(0x100)).as("first fit takes the hole").isEqualTo(BASE + 0x100);
        assertThat(a.allocate(0x1000)).isEqualTo(-1);
        assertThat(a.freeBytes()).isEqualTo(0x1000 - 0x300);
        assertThat(a.largestFree()).isEqualTo(0x1000 - 0x400);
        assertThatThrownBy(() -> a.free(BASE + 0x40)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> a.free(y + 0x100)).as("never allocated").isInstanceOf(IllegalStateException.class);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 0x5eed, 20240601})
    @DisplayName("seeded random allocate/free: extents aligned, inside the range, never overlapping; freeing all restores one extent")
    void randomNoOverlapFullCoalesce(long seed) {
        Random rnd = new Random(seed);
        IttAllocator a = new IttAllocator(BASE, SIZE, 256);
        TreeMap<Long, Long> live = new TreeMap<>();
        int failures = 0;
        for (int step = 0; step < 20_000; step++) {
            if (!live.isEmpty() && rnd.nextInt(100) < 45) {
                List<Long> keys = new ArrayList<>(live.keySet());
                long at = keys.get(rnd.nextInt(keys.size()));
                a.free(at);
                live.remove(at);
            } else {
                // ITT sizes Xen asks for: 8 bytes per event, 32..65536 events (powers of two), plus odd sizes.
                long bytes = rnd.nextBoolean() ? 8L << (5 + rnd.nextInt(12)) : 1 + rnd.nextInt(20_000);
                long at = a.allocate(bytes);
                if (at < 0) {
                    failures++;
                    assertThat(a.largestFree()).as("-1 only when nothing fits").isLessThan(a.roundUp(bytes));
                    continue;
                }
                long len = a.allocatedAt(at);
                assertThat(len).isEqualTo((bytes + 255) / 256 * 256);
                assertThat((at - BASE) % 256).isZero();
                assertThat(at).isGreaterThanOrEqualTo(BASE);
                assertThat(at + len).isLessThanOrEqualTo(BASE + SIZE);
                var below = live.floorEntry(at);
                assertThat(below == null || below.getKey() + below.getValue() <= at).as("no overlap below").isTrue();
                var above = live.ceilingEntry(at);
                assertThat(above == null || at + len <= above.getKey()).as("no overlap above").isTrue();
                live.put(at, len);
            }
            long used = live.values().stream().mapToLong(Long::longValue).sum();
            assertThat(a.freeBytes()).isEqualTo(SIZE - used);
        }
        assertThat(failures).as("the pool was driven to exhaustion at least once").isPositive();
        for (long at : new ArrayList<>(live.keySet())) {
            a.free(at);
        }
        assertThat(a.freeBytes()).isEqualTo(SIZE);
        assertThat(a.freeExtents()).isEqualTo(1);
        assertThat(a.largestFree()).isEqualTo(SIZE);
        assertThat(a.allocate(SIZE)).as("the whole range is one extent again").isEqualTo(BASE);
    }
}
