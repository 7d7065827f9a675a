package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code xenpci bench}: the JSON contract of docs/cli-json.md and sane figures (no timing thresholds). */
class BenchCommandTest {
    private static final ObjectMapper M = new ObjectMapper();

    @Test
    @DisplayName("bench --json prints the versioned keys with positive timings, a consistent ratio and zero allocation")
    void jsonContract() throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int status = new XenpciCli(new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8)).run("bench", "--json");
        assertThat(status).as(e.toString(StandardCharsets.UTF_8)).isZero();
        String text = o.toString(StandardCharsets.UTF_8).strip();
        assertThat(text.lines()).hasSize(1);
        JsonNode j = M.readTree(text);
        assertThat(j.get("benchVersion").asInt()).isEqualTo(BenchCommand.VERSION);
        assertThat(j.get("profile").asText()).isEqualTo("full");
        assertThat(j.get("trace").asText()).isEqualTo("default");
        for (String k : new String[] {"guestConfigReadNs", "rawArrayReadNs", "guestCommandWriteNs", "hwdomTrappedReadNs"}) {
            assertThat(j.get(k).isNumber()).as(k).isTrue();
            assertThat(j.get(k).asDouble()).as(k).isPositive();
        }
        double ratio = j.get("guestConfigReadNs").asDouble() / j.get("rawArrayReadNs").asDouble();
        assertThat(j.get("ratio").asDouble()).isCloseTo(ratio, org.assertj.core.data.Percentage.withPercentage(5));
        // The JVM's counter is TLAB-granular; the trap path allocates nothing, so well under 1 B/op.
        assertThat(j.get("allocBytesPerOp").asDouble()).isLessThan(1.0);
        assertThat(j.get("guestCommandWriteAllocBytesPerOp").asDouble()).isLessThan(1.0);
        assertThat(j.get("hwdomTrappedReadAllocBytesPerOp").asDouble()).isLessThan(1.0);
        assertThat(j.get("rounds").asInt()).isEqualTo(BenchCommand.ROUNDS);
        assertThat(j.get("elapsedMs").asLong()).isLessThan(30_000);
        assertThat(j.get("cpus").asInt()).isPositive();
    }

    @Test
    @DisplayName("bench without --json prints ns/op, B/op and the ratio as text; bench --help shows its usage")
    void textAndHelp() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        XenpciCli cli = new XenpciCli(new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(cli.run("bench", "--help")).isZero();
        assertThat(o.toString(StandardCharsets.UTF_8)).startsWith("usage: xenpci bench [--json]");
        o.reset();
        assertThat(cli.run("bench")).isZero();
        assertThat(o.toString(StandardCharsets.UTF_8))
                .contains("guest dword config read (default trace):", "ns/op", "B/op", "raw int[] read:", "ratio guest read / raw read:");
    }

    @Test
    @DisplayName("bench takes no positional argument: a usage error")
    void refusesArguments() {
        XenpciCli cli = new XenpciCli(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(cli.run("bench", "extra")).isEqualTo(2);
    }
}
