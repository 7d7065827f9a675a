package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The tree-backed p2m against a page-by-page reference model: seeded random maps, unmaps,
 * traps and trap removals, then every page of the arena compared. Also the properties the tree
 * exists for: many entries inserted in ascending address order (as dom0 maps BARs) stay
 * searchable and ordered.
 */
class P2mModelTest {
    private static final long ARENA = 512; // pages

    private static P2m fresh() {
        Xen xen = Xen.builder().hardware(TestHardware.hardware()).build();
        return xen.createDomain(DomainConfig.guest("g", 1)).p2m();
    }

    @Test
    @DisplayName("seeded random map/unmap/trap sequences match a page-by-page model, return codes included")
    void matchesPageModel() {
        for (long seed = 1; seed <= 40; seed++) {
            Random rnd = new Random(seed);
            P2m p2m = fresh();
            Map<Long, Long> mmio = new HashMap<>(); // gfn -> mfn
            Map<Long, MmioHandler> traps = new HashMap<>(); // gfn -> handler (traps here are whole pages)
            Map<Long, Long> trapStart = new HashMap<>(); // first gfn -> pages
            for (int op = 0; op < 300; op++) {
                long gfn = rnd.nextInt((int) ARENA - 16);
                long nr = 1 + rnd.nextInt(12);
                switch (rnd.nextInt(4)) {
                    case 0, 1 -> {
                        long mfn = rnd.nextBoolean() ? 0x9000 + gfn : 0x5000 + rnd.nextInt(64);
                        boolean clash = false;
                        for (long p = gfn; p < gfn + nr; p++) {
                            Long m = mmio.get(p);
                            clash |= traps.containsKey(p) || (m != null && m - p != mfn - gfn);
                        }
                        int rc = p2m.mapMmio(gfn, nr, mfn);
                        assertThat(rc).as("seed %d op %d map", seed, op).isEqualTo(clash ? Errno.EEXIST.rc() : 0);
                        if (!clash) {
                            for (long p = gfn; p < gfn + nr; p++) {
                                mmio.put(p, mfn + (p - gfn));
                            }
                        }
                    }
                    case 2 -> {
                        p2m.unmapMmio(gfn, nr);
                        for (long p = gfn; p < gfn + nr; p++) {
                            mmio.remove(p);
                        }
                    }
                    default -> {
                        boolean free = true;
                        for (long p = gfn; p < gfn + nr; p++) {
                            free &= !mmio.containsKey(p) && !traps.containsKey(p);
                        }
                        if (free) {
                            MmioHandler h = P2mTest.handler("t" + op);
                            p2m.addTrap(gfn << P2m.PAGE_SHIFT, nr << P2m.PAGE_SHIFT, h);
                            for (long p = gfn; p < gfn + nr; p++) {
                                traps.put(p, h);
                            }
                            trapStart.put(gfn, nr);
                        } else if (!trapStart.isEmpty()) {
                            long first = trapStart.keySet().iterator().next();
                            assertThat(p2m.removeTrap(first << P2m.PAGE_SHIFT, traps.get(first))).isTrue();
                            for (long p = first; p < first + trapStart.get(first); p++) {
                                traps.remove(p);
                            }
                            trapStart.remove(first);
                        }
                    }
                }
            }
            for (long p = 0; p < ARENA; p++) {
                P2m.Entry e = p2m.lookup((p << P2m.PAGE_SHIFT) + 0x123);
                if (mmio.containsKey(p)) {
                    assertThat(e).as("seed %d page %x", seed, p).isInstanceOf(P2m.DirectMmio.class);
                    P2m.DirectMmio m = (P2m.DirectMmio) e;
                    assertThat((m.maddr() + (p << P2m.PAGE_SHIFT) - m.gpa()) >>> P2m.PAGE_SHIFT).isEqualTo(mmio.get(p));
                } else if (traps.containsKey(p)) {
                    assertThat(e).as("seed %d page %x", seed, p).isInstanceOf(P2m.Trapped.class);
                    assertThat(((P2m.Trapped) e).handler()).isSameAs(traps.get(p));
                } else {
                    assertThat(e).as("seed %d page %x", seed, p).isNull();
                }
            }
            List<P2m.Entry> all = p2m.entries();
            for (int i = 1; i < all.size(); i++) {
                assertThat(all.get(i).gpa()).isGreaterThan(all.get(i - 1).last());
            }
        }
    }

    @Test
    @DisplayName("65536 BAR-sized mappings in ascending order: all found, all in order")
    void manyAscendingMappings() {
        P2m p2m = fresh();
        int n = 65536;
        for (int i = 0; i < n; i++) {
            assertThat(p2m.mapMmio(0x100000L + 4L * i, 4, 0x800000L + 4L * i)).isZero();
        }
        assertThat(p2m.entries()).hasSize(n);
        for (int i = 0; i < n; i += 97) {
            assertThat(p2m.lookup((0x100000L + 4L * i + 3) << P2m.PAGE_SHIFT))
                    .isEqualTo(new P2m.DirectMmio((0x100000L + 4L * i) << P2m.PAGE_SHIFT, 0x4000, (0x800000L + 4L * i) << P2m.PAGE_SHIFT));
        }
    }
}
