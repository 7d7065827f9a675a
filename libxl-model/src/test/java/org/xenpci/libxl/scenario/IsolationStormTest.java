package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Profile;
import org.xenpci.libxl.audit.Invariant;
import org.xenpci.libxl.audit.UpstreamFinding;

/**
 * Seeded adversarial storms ({@link IsolationStorm}) with the isolation auditor checking every
 * step. The normal run makes {@value #DEFAULT_ACCESSES} guest accesses per seed; a long run:
 *
 * <pre>
 * ./mvnw -B verify -pl libxl-model -am -Dtest=IsolationStormTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dxenpci.storm.accesses=10000000 [-Dxenpci.storm.seed=N]
 * </pre>
 *
 * (docs/security.md gives the figures of the last long run.)
 */
@DisplayName("Seeded adversarial storms keep every isolation invariant, step by step")
class IsolationStormTest {
    static final long DEFAULT_ACCESSES = 40_000;

    private static Level saved;

    /** The storm provokes every guest-visible warning thousands of times: keep the build log readable. */
    @BeforeAll
    static void quiet() {
        ch.qos.logback.classic.Logger xenpci = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.xenpci");
        saved = xenpci.getLevel();
        xenpci.setLevel(Level.ERROR);
    }

    @AfterAll
    static void loud() {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.xenpci")).setLevel(saved);
    }

    static long accesses() {
        return Long.getLong("xenpci.storm.accesses", DEFAULT_ACCESSES);
    }

    static long seed(long dflt) {
        return Long.getLong("xenpci.storm.seed", dflt);
    }

    @ParameterizedTest(name = "full profile, seed {0}")
    @ValueSource(longs = {0x5eed_0001L, 0x5eed_0002L, 0x5eed_0003L})
    @DisplayName("full profile: no violation, no upstream finding, the bystander's MSIs keep landing")
    void full(long seed) {
        IsolationStorm s = new IsolationStorm(Profile.FULL, seed(seed));
        IsolationStorm.Result r = s.run(accesses());
        System.out.println("full storm seed " + Long.toHexString(seed) + ": " + r);
        assertThat(r.accesses()).isGreaterThanOrEqualTo(accesses());
        assertThat(r.audited()).as("every step audited").isGreaterThanOrEqualTo(r.accesses());
        assertThat(r.findings()).isEmpty();
        assertThat(r.toolstackOps()).isPositive();
        assertThat(r.dmaFaults()).as("hostile DMA faults").isPositive();
        assertThat(r.bystanderMsis()).isPositive();
    }

    @Test
    @DisplayName("upstream profile: no violation; what Xen 4.23 leaves behind is reported as documented upstream findings")
    void upstream() {
        IsolationStorm s = new IsolationStorm(Profile.UPSTREAM, seed(0x5eed_0100L));
        IsolationStorm.Result r = s.run(accesses() / 4);
        System.out.println("upstream storm: " + r);
        assertThat(r.findings()).isNotEmpty();
        for (UpstreamFinding f : r.findings()) {
            System.out.println("upstream finding: " + f);
        }
        assertThat(r.findings()).allSatisfy(f -> {
            assertThat(f.invariant()).isEqualTo(Invariant.MMIO_MAPPING);
            assertThat(f.domid()).isZero();
            assertThat(f.xenPath()).startsWith("xen/arch/arm/domain_build.c");
        });
    }
}
