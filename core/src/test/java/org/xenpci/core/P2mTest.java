package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class P2mTest {
    private Xen xen;
    private P2m p2m;

    @BeforeEach
    void boot() {
        xen = Xen.builder().hardware(TestHardware.hardware()).build();
        p2m = xen.createDomain(DomainConfig.guest("g", 1)).p2m();
    }

    @Test
    @DisplayName("mapping MMIO frames creates one entry from guest frame to machine frame")
    void mapsFrames() {
        assertThat(p2m.mapMmio(0x23000, 4, 0x8000010)).isZero();
        assertThat(p2m.mmioMappings()).containsExactly(new P2m.DirectMmio(0x23000000L, 0x4000, 0x8000010000L));
        assertThat(p2m.lookup(0x23003fffL)).isInstanceOf(P2m.DirectMmio.class);
        assertThat(p2m.lookup(0x23004000L)).isNull();
    }

    @Test
    @DisplayName("unmapping the middle page of a mapping splits it and keeps both neighbours")
    void unmapSplits() {
        p2m.mapMmio(0x100, 3, 0x900);
        p2m.unmapMmio(0x101, 1);
        assertThat(p2m.mmioMappings()).containsExactly(
                new P2m.DirectMmio(0x100000, 0x1000, 0x900000),
                new P2m.DirectMmio(0x102000, 0x1000, 0x902000));
    }

    @Test
    @DisplayName("mapping over RAM, a trap or a different frame is refused with -EEXIST and changes nothing")
    void refusesConflicts() {
        p2m.addRam(0x40000000L, new SparseMemory(0x10000));
        MmioHandler h = handler("t");
        p2m.addTrap(0x10000000L, 0x1000, h);
        p2m.mapMmio(0x200, 1, 0x300);
        List<P2m.Entry> before = p2m.entries();

        assertThat(p2m.mapMmio(0x40000, 1, 0x1)).isEqualTo(Errno.EEXIST.rc());
        assertThat(p2m.mapMmio(0x10000, 1, 0x1)).isEqualTo(Errno.EEXIST.rc());
        assertThat(p2m.mapMmio(0x1ff, 2, 0x2ff + 1)).isEqualTo(Errno.EEXIST.rc());
        assertThat(p2m.entries()).isEqualTo(before);
        // The identical mapping again is not a conflict.
        assertThat(p2m.mapMmio(0x1ff, 2, 0x2ff)).isZero();
        assertThat(p2m.mmioMappings()).containsExactly(new P2m.DirectMmio(0x1ff000, 0x2000, 0x2ff000));
    }

    @Test
    @DisplayName("overlapping RAM or traps is a model-construction error")
    void overlappingConstruction() {
        p2m.addRam(0x40000000L, new SparseMemory(0x2000));
        assertThatThrownBy(() -> p2m.addTrap(0x40001000L, 0x10, handler("x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps RAM 0x40000000+0x2000");
        assertThatThrownBy(() -> p2m.addRam(0x1234, new SparseMemory(0x1000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not page aligned");
    }

    @Test
    @DisplayName("copy from guest crosses RAM entries and fails (null) on anything that is not RAM")
    void copyFromGuest() {
        p2m.addRam(0x40000000L, new SparseMemory(0x1000));
        p2m.addRam(0x40001000L, new SparseMemory(0x1000));
        assertThat(p2m.copyToGuest(0x40000ffeL, new byte[] {1, 2, 3, 4})).isTrue();
        assertThat(p2m.copyFromGuest(0x40000ffeL, 4)).containsExactly(1, 2, 3, 4);
        assertThat(p2m.copyFromGuest(0x40001ffeL, 4)).isNull();
        assertThat(p2m.copyToGuest(0x40001ffeL, new byte[4])).isFalse();
        assertThat(p2m.copyFromGuest(0x40001ffeL, 2)).containsExactly(0, 0);
    }

    @Test
    @DisplayName("readers during concurrent map/unmap see whole entries only")
    void concurrentReaders() throws Exception {
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 2000; i++) {
                p2m.mapMmio(0x500, 16, 0x7000);
                p2m.unmapMmio(0x500, 16);
            }
        });
        writer.start();
        long seen = 0;
        while (writer.isAlive()) {
            P2m.Entry e = p2m.lookup(0x508000L);
            if (e != null) {
                assertThat(e).isEqualTo(new P2m.DirectMmio(0x500000, 0x10000, 0x7000000));
                seen++;
            }
        }
        writer.join();
        assertThat(seen).isGreaterThanOrEqualTo(0);
    }

    static MmioHandler handler(String name) {
        return new MmioHandler() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                return 0;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
            }
        };
    }

    @Test
    @DisplayName("a vCPU's last-hit memo never outlives a change: unmap, split and remap are seen on the next access")
    void lastHitFollowsEveryChange() {
        P2m.LastHit hit = new P2m.LastHit();
        p2m.mapMmio(0x100, 3, 0x900);
        assertThat(p2m.lookup(0x101000L, hit)).isEqualTo(new P2m.DirectMmio(0x100000, 0x3000, 0x900000));
        p2m.unmapMmio(0x101, 1);
        assertThat(p2m.lookup(0x101000L, hit)).isNull();
        assertThat(p2m.lookup(0x100000L, hit)).isEqualTo(new P2m.DirectMmio(0x100000, 0x1000, 0x900000));
        p2m.unmapMmio(0x100, 1);
        p2m.mapMmio(0x100, 1, 0x700);
        assertThat(p2m.lookup(0x100800L, hit)).isEqualTo(new P2m.DirectMmio(0x100000, 0x1000, 0x700000));
    }

    @Test
    @DisplayName("seeded: the memoised lookup answers as the walk does after every map and unmap")
    void lastHitAgreesWithTheWalk() {
        long seed = 0x5eed_12L;
        java.util.Random r = new java.util.Random(seed);
        P2m.LastHit hit = new P2m.LastHit();
        for (int step = 0; step < 20_000; step++) {
            long gfn = 0x100 + r.nextInt(64);
            switch (r.nextInt(4)) {
                case 0 -> p2m.mapMmio(gfn, 1 + r.nextInt(4), 0x9000 + r.nextInt(64));
                case 1 -> p2m.unmapMmio(gfn, 1 + r.nextInt(4));
                default -> {
                    long gpa = (gfn << P2m.PAGE_SHIFT) + r.nextInt(4096);
                    assertThat(p2m.lookup(gpa, hit)).as("seed %#x step %d gpa %#x", seed, step, gpa).isEqualTo(p2m.lookup(gpa));
                }
            }
        }
    }
}
