package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Fuzzing the reader with corrupted blobs")
class FdtReaderFuzzTest {
    private static final long SEED = 0xF0221_2026L;
    private static final int ROUNDS = 5000;
    /** Interesting 32-bit values for header fields and token words. */
    private static final int[] EDGE_VALUES = {0, 1, 2, 3, 4, 9, 16, 17, 0x28, 0x7fffffff, 0x80000000, -1, -4};

    @Test
    @DisplayName("random flips, word overwrites and truncations yield a tree or FdtFormatException, never anything else")
    void onlyFormatExceptions() {
        Random random = new Random(SEED);
        List<byte[]> bases = new ArrayList<>();
        bases.add(Blobs.small());
        RandomTrees trees = new RandomTrees(SEED);
        for (int i = 0; i < 8; i++) {
            bases.add(FdtWriter.write(trees.tree()));
        }
        Set<FdtFormatException.Reason> seen = EnumSet.noneOf(FdtFormatException.Reason.class);
        int[] parsed = {0};
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int round = 0; round < ROUNDS; round++) {
                byte[] base = bases.get(random.nextInt(bases.size()));
                byte[] blob = mutate(base, random);
                try {
                    Fdt fdt = FdtReader.read(blob);
                    parsed[0]++;
                    // Whatever parsed must serialise and parse back to itself.
                    assertThat(FdtReader.read(FdtWriter.write(fdt))).isEqualTo(fdt);
                } catch (FdtFormatException e) {
                    seen.add(e.reason());
                    assertThat(e.offset()).as("round %d: %s", round, e.getMessage()).isBetween(0L, (long) blob.length);
                }
            }
        });
        // The fuzzer must actually reach deep into the parser, not just trip over the magic.
        assertThat(seen).contains(FdtFormatException.Reason.BAD_MAGIC, FdtFormatException.Reason.BAD_TOTALSIZE,
                FdtFormatException.Reason.UNKNOWN_TOKEN, FdtFormatException.Reason.TRUNCATED_HEADER);
        assertThat(seen.size()).isGreaterThanOrEqualTo(12);
        assertThat(parsed[0]).isPositive();
    }

    private static byte[] mutate(byte[] base, Random random) {
        byte[] b = base.clone();
        int kind = random.nextInt(4);
        switch (kind) {
            case 0 -> {
                int flips = 1 + random.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> {
                int at = random.nextInt(b.length / 4) * 4;
                int v = random.nextBoolean() ? EDGE_VALUES[random.nextInt(EDGE_VALUES.length)] : random.nextInt(b.length + 16);
                FdtProperty.putInt(b, at, v);
            }
            case 2 -> b = Arrays.copyOf(b, random.nextInt(b.length));
            default -> {
                // Keep the header consistent but shrink totalsize, a common real-world corruption.
                int t = random.nextInt(b.length + 1);
                FdtProperty.putInt(b, 4, t);
            }
        }
        return b;
    }
}
