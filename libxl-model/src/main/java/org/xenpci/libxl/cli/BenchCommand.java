package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * {@code xenpci bench [--json]}: a quick in-process measurement of the trap path for users
 * without JMH (docs/cli.md, JSON contract in docs/cli-json.md). Boots the default platform
 * (full profile) with the trace as {@code XenHost.boot(platform, profile)} gives it, passes the
 * NVMe to a guest as 00:00.0, runs the reference guest, then times, each after a warm-up and
 * as the median of {@link #ROUNDS} rounds: the guest's dword config read over the header, the
 * guest's COMMAND write of its current value, the hardware domain's trapped dword read, and a
 * raw {@code int[]} read whose index depends on the previous load (so the JIT can neither hoist
 * nor vectorise it). Allocation per operation comes from the JVM's per-thread allocation
 * counter ({@code com.sun.management.ThreadMXBean}). A few seconds in all; a JMH run
 * (docs/performance.md) is the reference, this is a sanity check on the user's machine.
 */
final class BenchCommand {
    /** Version of the JSON document; bumped only on incompatible changes (docs/cli-json.md). */
    static final int VERSION = 1;
    static final int ROUNDS = 7;
    private static final long GUEST_CFG = 0x10000000L;
    private static final long HWDOM_NVME = 0x40_1000_0000L + (2 << 15);
    private static final ObjectMapper M = new ObjectMapper();

    /** One timed operation: {@link #run} performs {@code n} of them and returns a value to keep. */
    private interface Op {
        long run(int n);
    }

    /** Nanoseconds and allocated bytes per operation, medians over the rounds. */
    record Figure(double nsPerOp, double allocBytesPerOp) {
    }

    private final long opsPerRound;

    BenchCommand(long opsPerRound) {
        this.opsPerRound = opsPerRound;
    }

    static int run(Args a, PrintStream out) {
        ObjectNode r = new BenchCommand(1_000_000).measure();
        if (a.flag("json")) {
            out.println(r.toString());
        } else {
            out.printf("guest dword config read (default trace): %8.1f ns/op  %6.1f B/op%n",
                    r.get("guestConfigReadNs").asDouble(), r.get("allocBytesPerOp").asDouble());
            out.printf("guest COMMAND write (default trace):     %8.1f ns/op  %6.1f B/op%n",
                    r.get("guestCommandWriteNs").asDouble(), r.get("guestCommandWriteAllocBytesPerOp").asDouble());
            out.printf("hwdom trapped dword read (default trace): %7.1f ns/op  %6.1f B/op%n",
                    r.get("hwdomTrappedReadNs").asDouble(), r.get("hwdomTrappedReadAllocBytesPerOp").asDouble());
            out.printf("raw int[] read:                           %7.2f ns/op%n", r.get("rawArrayReadNs").asDouble());
            out.printf("ratio guest read / raw read: %.1fx (JMH figures and targets: docs/performance.md)%n",
                    r.get("ratio").asDouble());
        }
        return 0;
    }

    /** Boots, measures, and returns the JSON document of docs/cli-json.md. */
    ObjectNode measure() {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        XlConfig cfg = XlConfigParser.parse("name = \"bench\"\nmemory = 256\nvcpus = 1\npci = [ \"0000:00:02.0\" ]\n",
                "bench.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        Domain guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        Vcpu gv = guest.vcpu(0);
        Vcpu hv = host.xen().hardwareDomain().vcpu(0);
        int command = (int) gv.mmioRead(GUEST_CFG + PciRegs.PCI_COMMAND, 2);
        int[] words = new int[16];
        for (int i = 0; i < words.length; i++) {
            words[i] = 2 * i + 1; // odd steps: the chase visits every slot
        }
        Op guestRead = n -> {
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += gv.mmioRead(GUEST_CFG + ((i << 2) & 0x3c), 4);
            }
            return sum;
        };
        Op commandWrite = n -> {
            for (int i = 0; i < n; i++) {
                gv.mmioWrite(GUEST_CFG + PciRegs.PCI_COMMAND, 2, command);
            }
            return n;
        };
        Op hwdomRead = n -> {
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += hv.mmioRead(HWDOM_NVME + ((i << 2) & 0x3c), 4);
            }
            return sum;
        };
        Op raw = n -> {
            int idx = 0;
            long sum = 0;
            for (int i = 0; i < n; i++) {
                int w = words[idx];
                sum += w;
                idx = (idx + w) & 15;
            }
            return sum;
        };
        long started = System.nanoTime();
        Figure g = time(guestRead);
        Figure w = time(commandWrite);
        Figure h = time(hwdomRead);
        Figure rw = time(raw);
        ObjectNode o = M.createObjectNode();
        o.put("benchVersion", VERSION);
        o.put("profile", host.xen().profile().name());
        o.put("trace", "default");
        o.put("guestConfigReadNs", round(g.nsPerOp()));
        o.put("rawArrayReadNs", round(rw.nsPerOp()));
        o.put("ratio", round(g.nsPerOp() / rw.nsPerOp()));
        o.put("allocBytesPerOp", round(g.allocBytesPerOp()));
        o.put("guestCommandWriteNs", round(w.nsPerOp()));
        o.put("guestCommandWriteAllocBytesPerOp", round(w.allocBytesPerOp()));
        o.put("hwdomTrappedReadNs", round(h.nsPerOp()));
        o.put("hwdomTrappedReadAllocBytesPerOp", round(h.allocBytesPerOp()));
        o.put("rounds", ROUNDS);
        o.put("opsPerRound", opsPerRound);
        o.put("elapsedMs", (System.nanoTime() - started) / 1_000_000);
        o.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        o.put("cpus", Runtime.getRuntime().availableProcessors());
        return o;
    }

    /** Warm-up (two rounds' worth), then {@link #ROUNDS} timed rounds; medians. */
    private Figure time(Op op) {
        int n = (int) Math.min(Integer.MAX_VALUE, opsPerRound);
        long keep = op.run(n) + op.run(n);
        double[] ns = new double[ROUNDS];
        double[] bytes = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            long a0 = allocated();
            long t0 = System.nanoTime();
            keep += op.run(n);
            long t1 = System.nanoTime();
            long a1 = allocated();
            ns[r] = (double) (t1 - t0) / n;
            bytes[r] = (double) (a1 - a0) / n;
        }
        if (keep == 42) { // never true in practice; keeps the results observable to the JIT
            System.out.print("");
        }
        return new Figure(median(ns), median(bytes));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
