package org.xenpci.libxl.dt;

import java.util.SplittableRandom;

/**
 * Where the 128 bytes of {@code /chosen/rng-seed} come from, injectable so DTBs are reproducible in tests. libxl uses the host's
 * random source; the model injects one so that DTBs are reproducible.
 */
@FunctionalInterface
public interface RngSeedSource {

    /** Length of libxl's rng-seed, bytes. */
    int RNG_SEED_BYTES = 128;

    /**
     * Returns fresh seed bytes.
     *
     * @param length number of bytes wanted
     * @return exactly {@code length} bytes
     */
    byte[] seed(int length);

    /**
     * A deterministic source: the same seed gives the same bytes, call after call (each call
     * restarts the sequence, so every DT built with it carries the same rng-seed).
     *
     * @param seed the generator seed
     * @return the source
     */
    static RngSeedSource seeded(long seed) {
        return length -> {
            SplittableRandom r = new SplittableRandom(seed);
            byte[] b = new byte[length];
            for (int i = 0; i < length; i++) {
                b[i] = (byte) r.nextInt(256);
            }
            return b;
        };
    }

    /**
     * A source of zero bytes.
     *
     * @return the source
     */
    static RngSeedSource zeros() {
        return byte[]::new;
    }
}
