package org.xenpci.core.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the real Device Tree Compiler for interop tests. Shared with other modules through
 * core's test-jar (package {@code org.xenpci.core.testkit}).
 *
 * <p>When {@code dtc} is missing the calling test is skipped with a visible message, except when
 * the environment variable {@code CI=true}: then it fails, so CI cannot go green by silently
 * skipping the interop tests. The environment variable {@code DTC} overrides the location
 * (set it to a missing path to see the skip / CI failure behaviour).
 */
public final class DtcTool {
    /** Result of one dtc run: its stdout (the compiled output), stderr (warnings) and exit code. */
    public record DtcResult(byte[] output, String stderr, int exitCode) {
        /** Returns the output as text (for {@code -O dts}). */
        public String text() {
            return new String(output, StandardCharsets.UTF_8);
        }
    }

    private static final long TIMEOUT_SECONDS = 20;
    private static final Path DTC = locate();

    private DtcTool() {
    }

    /** Whether dtc is installed (for tests that only use it when it is there). */
    public static boolean available() {
        return DTC != null;
    }

    /** Skips (or, with CI=true, fails) the calling test when dtc is not installed. */
    public static void requireDtc() {
        if (DTC != null) {
            return;
        }
        String missing = "dtc (Device Tree Compiler) not found via $DTC, PATH or /usr/bin";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(missing + "; CI=true requires the interop tests to run");
        }
        Assumptions.abort(missing + "; interop test skipped");
    }

    /** Compiles DTS source to a blob; fails the test on any dtc error or warning. */
    public static byte[] compileDts(String dts) {
        DtcResult r = run(dts.getBytes(StandardCharsets.UTF_8), "-I", "dts", "-O", "dtb");
        if (r.exitCode() != 0 || !r.stderr().isEmpty()) {
            fail("dtc -I dts -O dtb: exit " + r.exitCode() + ", stderr:\n" + r.stderr() + "\nsource:\n" + dts);
        }
        return r.output();
    }

    /** Compiles DTS source to a blob and returns the result including warnings. */
    public static DtcResult compile(String dts) {
        return run(dts.getBytes(StandardCharsets.UTF_8), "-I", "dts", "-O", "dtb");
    }

    /** Decompiles a blob to DTS ({@code dtc -I dtb -O dts}). */
    public static DtcResult decompile(byte[] dtb) {
        return run(dtb, "-I", "dtb", "-O", "dts");
    }

    /** Re-emits a blob through dtc ({@code dtc -I dtb -O dtb}). */
    public static DtcResult recompile(byte[] dtb) {
        return run(dtb, "-I", "dtb", "-O", "dtb");
    }

    /**
     * Runs dtc on {@code input} (fed on stdin) with the given arguments; the output is dtc's
     * stdout. stdin, stdout and stderr are pumped concurrently so large trees cannot deadlock.
     */
    public static DtcResult run(byte[] input, String... args) {
        requireDtc();
        List<String> cmd = new ArrayList<>();
        cmd.add(DTC.toString());
        cmd.addAll(List.of(args));
        cmd.add("-");
        try {
            Process p = new ProcessBuilder(cmd).start();
            CompletableFuture<Void> feed = CompletableFuture.runAsync(() -> {
                try (var in = p.getOutputStream()) {
                    in.write(input);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
                try (var e = p.getErrorStream()) {
                    return e.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            byte[] output;
            try (var out = p.getInputStream()) {
                output = out.readAllBytes();
            }
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("dtc timed out after " + TIMEOUT_SECONDS + " s: " + cmd);
            }
            feed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String stderr = new String(err.get(TIMEOUT_SECONDS, TimeUnit.SECONDS), StandardCharsets.UTF_8);
            return new DtcResult(output, stderr, p.exitValue());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("dtc I/O failed: " + cmd, e);
        }
    }

    /** Reads a test resource as text. */
    public static String resource(String name) {
        try (var in = DtcTool.class.getResourceAsStream("/fdt/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("missing test resource /fdt/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path locate() {
        String override = System.getenv("DTC");
        if (override != null && !override.isEmpty()) {
            Path p = Path.of(override);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv().getOrDefault("PATH", "");
        List<String> dirs = new ArrayList<>(List.of(path.split(java.io.File.pathSeparator)));
        dirs.add("/usr/bin");
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(d, "dtc");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
