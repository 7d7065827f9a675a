package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The index modify_bars uses instead of walking every device: for any query range it must
 * return exactly the recorded BARs a brute-force scan finds overlapping it, whatever their
 * sizes (one page to 1 GiB of frames) and however they overlap each other.
 */
class BarIndexTest {
    private record Range(long first, long last) {
    }

    @Test
    @DisplayName("seeded puts, moves and removes: every overlap query equals a brute-force scan")
    void matchesBruteForce() {
        for (long seed = 1; seed <= 30; seed++) {
            Random rnd = new Random(seed);
            BarIndex index = new BarIndex();
            Map<VpciBar, Range> model = new IdentityHashMap<>();
            List<VpciBar> bars = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                bars.add(VpciBar.implemented(i % 6, VpciBar.Type.MEM32, 0, 0x1000, false));
            }
            for (int op = 0; op < 2000; op++) {
                VpciBar b = bars.get(rnd.nextInt(bars.size()));
                if (rnd.nextInt(4) == 0) {
                    index.remove(b);
                    model.remove(b);
                } else {
                    long len = 1L << rnd.nextInt(rnd.nextBoolean() ? 4 : 19); // mostly small, some huge
                    long first = rnd.nextInt(1 << 20);
                    index.put(null, b, first, first + len - 1); // re-put moves it
                    model.put(b, new Range(first, first + len - 1));
                }
                long qf = rnd.nextInt(1 << 20);
                long ql = qf + rnd.nextInt(64);
                Set<VpciBar> expect = new HashSet<>();
                model.forEach((bar, r) -> {
                    if (r.first <= ql && r.last >= qf) {
                        expect.add(bar);
                    }
                });
                Set<VpciBar> got = new HashSet<>();
                for (BarIndex.Entry e : index.overlapping(qf, ql)) {
                    assertThat(got.add(e.bar())).as("seed %d: each BAR once", seed).isTrue();
                    assertThat(new Range(e.first(), e.last())).isEqualTo(model.get(e.bar()));
                }
                assertThat(got).as("seed %d op %d query [%x, %x]", seed, op, qf, ql).isEqualTo(expect);
            }
            assertThat(index.size()).isEqualTo(model.size());
        }
    }

    @Test
    @DisplayName("two BARs on the same page and a 1 GiB BAR covering both are all found from any frame")
    void overlappingBars() {
        BarIndex index = new BarIndex();
        VpciBar a = VpciBar.implemented(0, VpciBar.Type.MEM32, 0, 0x1000, false);
        VpciBar b = VpciBar.implemented(1, VpciBar.Type.MEM32, 0, 0x1000, false);
        VpciBar big = VpciBar.implemented(2, VpciBar.Type.MEM32, 0, 0x1000, false);
        index.put(null, a, 0x80000, 0x80000);
        index.put(null, b, 0x80000, 0x80000);
        index.put(null, big, 0x40000, 0x7ffff + 0x40000);
        assertThat(index.overlapping(0x80000, 0x80000)).extracting(BarIndex.Entry::bar).containsExactlyInAnyOrder(a, b, big);
        assertThat(index.overlapping(0x7ffff, 0x7ffff)).extracting(BarIndex.Entry::bar).containsExactly(big);
        index.remove(b);
        assertThat(index.overlapping(0x80000, 0x80000)).extracting(BarIndex.Entry::bar).containsExactlyInAnyOrder(a, big);
    }
}
