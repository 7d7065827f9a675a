package org.xenpci.libxl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.libxl.guest.ConfigView;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * The {@code xenpci} command line (docs/cli.md). Exit status: 0 success, 1 a model or boot
 * error, 2 a usage error. Messages go to stderr; stack traces only with {@code --debug}.
 */
public final class XenpciCli {
    static final String USAGE = String.join("\n",
            "usage: xenpci [--debug] COMMAND [OPTIONS]",
            "",
            "commands:",
            "  (none)                      the built-in demo: boot the default platform and report",
            "  boot [--platform FILE] [--profile upstream|full] [--json]",
            "                              boot Xen, run dom0's PCI enumeration, list host bridges and pdevs",
            "  lspci [--platform FILE] [--profile P] --domain N",
            "                              a domain's view of every function's config space (lspci -xxxx text)",
            "  help                        this text",
            "");

    private final PrintStream out;
    private final PrintStream err;

    public XenpciCli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Entry point of the runnable jar. */
    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "xenpci-cli-logback.xml");
        }
        System.exit(new XenpciCli(System.out, System.err).run(args));
    }

    /** Runs one command line; returns the exit status. */
    public int run(String... argv) {
        List<String> args = new ArrayList<>(Arrays.asList(argv));
        boolean debug = args.remove("--debug");
        try {
            if (args.isEmpty()) {
                return demo();
            }
            String cmd = args.remove(0);
            switch (cmd) {
                case "boot":
                    return boot(args);
                case "lspci":
                    return lspci(args);
                case "help":
                case "--help":
                case "-h":
                    out.print(USAGE);
                    return 0;
                default:
                    throw new UsageException("unknown command \"" + cmd + "\"");
            }
        } catch (UsageException e) {
            err.println("xenpci: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (RuntimeException e) {
            err.println("xenpci: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    private int demo() {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        out.println("xenpci demo: the built-in default platform (QEMU virt, GICv3 + ITS + SMMUv3)");
        out.println();
        BootReport.text(host, out);
        return 0;
    }

    private int boot(List<String> argv) {
        Args a = Args.parse(argv, Set.of("platform", "profile"), Set.of("json"), Map.of());
        noPositional(a);
        XenHost host = XenHost.boot(platform(a), profile(a));
        if (a.flag("json")) {
            out.println(json(BootReport.json(host)));
        } else {
            BootReport.text(host, out);
        }
        return 0;
    }

    private int lspci(List<String> argv) {
        Args a = Args.parse(argv, Set.of("platform", "profile", "domain"), Set.of(), Map.of());
        noPositional(a);
        String d = a.get("domain");
        if (d == null) {
            throw new UsageException("lspci needs --domain N");
        }
        int domid;
        try {
            domid = Integer.parseInt(d);
        } catch (NumberFormatException e) {
            throw new UsageException("--domain takes a domain ID, not \"" + d + "\"");
        }
        XenHost host = XenHost.boot(platform(a), profile(a));
        Domain dom = host.xen().domain(domid).filter(x -> !x.isSystemDomain())
                .orElseThrow(() -> new IllegalArgumentException("no domain " + domid));
        for (ConfigView.Function f : ConfigView.of(dom)) {
            String desc = String.format("Class %04x: Device %04x:%04x", f.read(0x0a, 2), f.read(0, 2), f.read(2, 2));
            out.print(ConfigDumps.formatLspci(f.sbdf(), desc, f.config()));
        }
        return 0;
    }

    private static void noPositional(Args a) {
        if (!a.positional().isEmpty()) {
            throw new UsageException("unexpected argument \"" + a.positional().get(0) + "\"");
        }
    }

    private static Platform platform(Args a) {
        String p = a.get("platform");
        return p == null ? DefaultPlatform.build() : Platform.build(PlatformFile.load(Path.of(p)));
    }

    private static Profile profile(Args a) {
        String p = a.get("profile");
        if (p == null) {
            return Profile.FULL;
        }
        try {
            return Profile.named(p);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static String json(ObjectNode node) {
        try {
            return new ObjectMapper().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
