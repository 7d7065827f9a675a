package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PendingInterruptsTest {
    @Test
    @DisplayName("the bitmap behaves as the sorted set it replaced, for SGIs, SPIs, LPIs and out-of-range IDs (seed 12)")
    void behavesAsASortedSet() {
        PendingInterrupts p = new PendingInterrupts();
        TreeSet<Integer> model = new TreeSet<>();
        Random r = new Random(12);
        int[] pool = {0, 15, 31, 32, 1019, 8191, 8192, 8193, 65535, 65536, (1 << 24) - 1, 1 << 24, -1, Integer.MIN_VALUE,
            Integer.MAX_VALUE};
        for (int i = 0; i < 20_000; i++) {
            int id = r.nextBoolean() ? pool[r.nextInt(pool.length)] : 8192 + r.nextInt(1 << 18);
            switch (r.nextInt(3)) {
                case 0 -> {
                    p.add(id);
                    model.add(id);
                }
                case 1 -> assertThat(p.remove(id)).isEqualTo(model.remove(id));
                default -> assertThat(p.contains(id)).isEqualTo(model.contains(id));
            }
        }
        assertThat(p.snapshot()).containsExactlyElementsOf(model);
    }

    @Test
    @DisplayName("two threads making different LPIs of one word pending lose none")
    void concurrentInjectsLoseNothing() throws InterruptedException {
        PendingInterrupts p = new PendingInterrupts();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int parity = t;
            threads.add(new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                for (int id = 8192 + parity; id < 8192 + 4096; id += 2) {
                    p.add(id);
                }
            }));
        }
        threads.forEach(Thread::start);
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(p.snapshot()).hasSize(4096).first().isEqualTo(8192);
    }
}
