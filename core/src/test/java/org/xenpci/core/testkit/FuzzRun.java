package org.xenpci.core.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One seeded mutation-fuzzing run over one input kind: runs each case, classifies what it did
 * (loaded, or failed with the input's documented error), and bounds each case in time and in
 * allocated memory.
 *
 * <p>Plain JUnit 5 support, no fuzzing library. Volumes and seeds come from system properties so
 * a long run is the same test with other figures: {@code xenpci.fuzz.iterations} (every kind)
 * or {@code xenpci.fuzz.KIND.iterations} (one kind), {@code xenpci.fuzz.seed}.
 *
 * <p>Measures, per case, the CPU time of the test thread
 * ({@code ThreadMXBean#getCurrentThreadCpuTime}: what the input costs, not how busy the shared
 * machine is; wall time when the JVM cannot measure thread CPU time) and the bytes it allocated
 * ({@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes}). A case over the time limit
 * is run again once before it counts (a JIT compilation is not the input's fault); a case over
 * the allocation limit fails at once, since allocation is deterministic. Not thread-safe: one
 * run per test thread.
 */
public final class FuzzRun {
    /** What a failed case threw, judged against the input's documented errors. */
    @FunctionalInterface
    public interface Judge {
        /**
         * @return null if {@code t} is a documented error of the input (typed, with a message),
         *     else why it is not
         */
        String undocumented(Throwable t);
    }

    /** One fuzz case: returns normally when the input loads, throws when it is refused. */
    @FunctionalInterface
    public interface Case {
        void run() throws Exception;
    }

    /*
     * com.sun.management.ThreadMXBean, reached reflectively: the test sources compile inside the
     * module, which does not read java.management (tests run on the class path).
     */
    private static final Object THREADS;
    private static final Method ALLOCATED;
    private static final Method CPU_TIME;

    static {
        try {
            THREADS = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> bean = Class.forName("com.sun.management.ThreadMXBean");
            bean.getMethod("setThreadAllocatedMemoryEnabled", boolean.class).invoke(THREADS, true);
            ALLOCATED = bean.getMethod("getThreadAllocatedBytes", long.class);
            Class<?> std = Class.forName("java.lang.management.ThreadMXBean");
            boolean cpu = (Boolean) std.getMethod("isCurrentThreadCpuTimeSupported").invoke(THREADS);
            if (cpu) {
                std.getMethod("setThreadCpuTimeEnabled", boolean.class).invoke(THREADS, true);
            }
            CPU_TIME = cpu ? std.getMethod("getCurrentThreadCpuTime") : null;
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static long allocatedBytes(long threadId) {
        try {
            return (Long) ALLOCATED.invoke(THREADS, threadId);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The test thread's CPU time in ns, or wall time where the JVM cannot measure it. */
    private static long cpuNanos() {
        if (CPU_TIME == null) {
            return System.nanoTime();
        }
        try {
            return (Long) CPU_TIME.invoke(THREADS);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private final String kind;
    private final long seed;
    private final int iterations;
    private final Judge judge;
    private final long timeLimitNanos;
    private final long allocLimitBytes;
    private final Map<String, Integer> outcomes = new TreeMap<>();
    private final Map<String, String> escapes = new LinkedHashMap<>();
    private final List<String> overLimit = new ArrayList<>();
    private long slowestNanos;
    private String slowestCase = "";
    private long maxAlloc;
    private String maxAllocCase = "";
    private long started;
    private long wallNanos;
    private int cases;

    /**
     * @param kind the input kind (also names its iterations property)
     * @param defaultSeed the seed of the normal test run
     * @param defaultIterations the volume of the normal test run
     * @param judge tells documented errors from escapes
     * @param timeLimitMillis per-case bound on the test thread's CPU time
     * @param allocLimitBytes per-case allocation bound
     */
    public FuzzRun(String kind, long defaultSeed, int defaultIterations, Judge judge, long timeLimitMillis,
            long allocLimitBytes) {
        this.kind = kind;
        this.seed = Long.getLong("xenpci.fuzz." + kind + ".seed", Long.getLong("xenpci.fuzz.seed", defaultSeed));
        this.iterations = Integer.getInteger("xenpci.fuzz." + kind + ".iterations",
                Integer.getInteger("xenpci.fuzz.iterations", defaultIterations));
        this.judge = judge;
        this.timeLimitNanos = timeLimitMillis * 1_000_000L;
        this.allocLimitBytes = allocLimitBytes;
    }

    /**
     * The bytes the calling thread allocates while {@code body} runs (whatever it throws is
     * rethrown unchecked); for regression tests of allocation bounds.
     */
    public static long allocatedBy(Case body) {
        long tid = Thread.currentThread().getId();
        long a0 = allocatedBytes(tid);
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return allocatedBytes(tid) - a0;
    }

    /** The seed of this run. */
    public long seed() {
        return seed;
    }

    /** How many cases this run makes. */
    public int iterations() {
        return iterations;
    }

    /**
     * Runs every case: {@code make} builds case {@code i} (from the run's random source, which
     * the caller owns) as a label and a body.
     */
    public void runAll(Function<Integer, Labelled> make) {
        started = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            Labelled c = make.apply(i);
            run(i + " (" + c.label() + ", seed " + seed + ")", c.body());
        }
        wallNanos = System.nanoTime() - started;
    }

    /** A case and how a failure report names it. */
    public record Labelled(String label, Case body) {
    }

    /** Runs one case and records its outcome, time and allocation. */
    public void run(String label, Case body) {
        cases++;
        String outcome = attempt(label, body, true);
        outcomes.merge(outcome, 1, Integer::sum);
    }

    private String attempt(String label, Case body, boolean mayRetry) {
        long tid = Thread.currentThread().getId();
        long a0 = allocatedBytes(tid);
        long t0 = cpuNanos();
        String outcome;
        try {
            body.run();
            outcome = "loaded";
        } catch (Throwable t) { // StackOverflowError and OutOfMemoryError are escapes too
            String why = judge.undocumented(t);
            if (t.getMessage() == null || t.getMessage().isBlank()) {
                why = why != null ? why : "no message";
            }
            if (why != null) {
                escapes.putIfAbsent(site(t), "case " + label + ": " + why + ": " + stack(t));
                outcome = "ESCAPE " + t.getClass().getSimpleName();
            } else {
                outcome = t.getClass().getSimpleName()
                        + (t.getCause() == null ? "" : "/" + t.getCause().getClass().getSimpleName());
            }
        }
        long dt = cpuNanos() - t0;
        long alloc = allocatedBytes(tid) - a0;
        if (alloc > allocLimitBytes) {
            overLimit.add("case " + label + " allocated " + alloc + " bytes (limit " + allocLimitBytes + ")");
        }
        if (dt > timeLimitNanos) {
            if (mayRetry) {
                return attempt(label, body, false);
            }
            overLimit.add("case " + label + " took " + dt / 1_000_000 + " ms of CPU twice (limit " + timeLimitNanos / 1_000_000 + " ms)");
        }
        if (dt > slowestNanos) {
            slowestNanos = dt;
            slowestCase = label;
        }
        if (alloc > maxAlloc) {
            maxAlloc = alloc;
            maxAllocCase = label;
        }
        return outcome;
    }

    /** Outcome name to count, e.g. {@code loaded}, {@code XlConfigException}. */
    public Map<String, Integer> outcomes() {
        return outcomes;
    }

    /** The figures of the run, one line (printed by {@link #assertClean()}). */
    public String summary() {
        return String.format("fuzz %s: seed %#x, %d cases in %.1f s, outcomes %s, slowest %.2f ms (case %s), "
                        + "max allocation %d KiB (case %s)", kind, seed, cases, wallNanos / 1e9, outcomes,
                slowestNanos / 1e6, slowestCase, maxAlloc / 1024, maxAllocCase);
    }

    /** Fails with every escape and every case over a bound; prints the figures. */
    public void assertClean() {
        System.out.println(summary());
        assertThat(escapes.values()).as("undocumented errors; " + summary()).isEmpty();
        assertThat(overLimit).as("cases over the time or allocation bound; " + summary()).isEmpty();
    }

    /** Where an escape comes from: its innermost class and first frame outside java.*. */
    private static String site(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        for (StackTraceElement f : c.getStackTrace()) {
            if (!f.getClassName().startsWith("java.") && !f.getClassName().startsWith("jdk.")) {
                return e.getClass().getName() + "/" + c.getClass().getName() + " at " + f;
            }
        }
        return e.getClass().getName() + "/" + c.getClass().getName();
    }

    private static String stack(Throwable e) {
        StringBuilder sb = new StringBuilder(String.valueOf(e));
        if (sb.length() > 400) {
            sb.setLength(400);
            sb.append("...");
        }
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
            sb.append(" <- ").append(c.getClass().getName());
        }
        StackTraceElement[] st = c.getStackTrace();
        for (int k = 0; k < Math.min(8, st.length); k++) {
            sb.append("\n    at ").append(st[k]);
        }
        return sb.toString();
    }
}
