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
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.json.LibxlJson;
import org.xenpci.libxl.toolstack.AssignableDevice;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;
import org.xenpci.libxl.toolstack.PciListEntry;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * The {@code xenpci} command line (docs/cli.md, docs/cli-toolstack.md). Exit status: 0 success,
 * 1 a model, boot or libxl error, 2 a usage error; {@code xl ...} and {@code create} exit as xl
 * does for a rejected config (e.g. 6 for a {@code PCI_SPEC_STRING} refused with ERROR_INVAL). Messages go to stderr; stack traces only with {@code --debug}.
 */
public final class XenpciCli {
    static final String USAGE = String.join("\n",
            "usage: xenpci [--debug] COMMAND [OPTIONS]",
            "",
            "commands:",
            "  (none)                      the built-in demo: boot the default platform and report",
            "  boot [--platform FILE] [--profile upstream|full] [--json]",
            "                              boot Xen, run dom0's PCI enumeration, list host bridges and pdevs",
            "  lspci [--platform FILE] [--profile P] [--config GUEST.cfg]... --domain N",
            "                              a domain's view of every function's config space (lspci -xxxx text);",
            "                              --config creates guests first (and runs their reference guest)",
            "  create GUEST.cfg [--platform FILE] [--profile P] --out DIR",
            "                              boot, make the cfg's devices assignable, build the guest, assign,",
            "                              run its reference guest; write guest.dtb, guest.dts, guest-lspci.txt,",
            "                              trace.jsonl and summary.json into DIR",
            "  xl create -n GUEST.cfg      dry run: print the libxl domain config as JSON",
            "  xl pci-assignable-list [-n] [--platform F] [--profile P] [--config GUEST.cfg]... [--assignable BDF[,name=N]]...",
            "  xl pci-list DOMAIN [--platform F] [--profile P] [--config GUEST.cfg]... [--assignable BDF[,name=N]]...",
            "                              xl's listings after booting, running pci-assignable-add for each",
            "                              --assignable and creating the --config guests",
            "  classify [--profile P] [--markdown FILE] DTB...",
            "                              boot each bare DTB (both profiles unless --profile) and print one TSV",
            "                              line per DTB and profile: dtb, profile, outcome, bridges, Xen's reason",
            "                              (docs/boards.md); --markdown also writes the counts and per-reason lists",
            "  serve --socket PATH | --tcp PORT | --stdio [--ram-dir DIR]",
            "                              serve the simulator protocol (docs/simulator-protocol.md): a CPU",
            "                              simulator forwards MMIO faults, HVCs and interrupt acks; guest RAM is shared",
            "  dts FILE...                 decompile each DTB as dtc -I dtb -O dts does; a bad file prints",
            "                              FILE: error: REASON at offset 0xN and the next file follows",
            "  bench [--json]              a quick (a few seconds) in-process timing of the trap path with the",
            "                              default trace: ns/op, B/op and the ratio to a raw array read",
            "  help                        this text (COMMAND --help: that command's usage)",
            "  --version                   the xenpci version",
            "");

    /** Per-command usage ({@code COMMAND --help}), keyed as typed ({@code "xl pci-list"}). */
    static final Map<String, String> COMMAND_USAGE = Map.ofEntries(
            Map.entry("boot", "usage: xenpci boot [--platform FILE] [--profile upstream|full] [--json]\n"
                    + "  boot Xen, run dom0's PCI enumeration, list host bridges and pdevs (--json: docs/cli.md)\n"),
            Map.entry("lspci", "usage: xenpci lspci [--platform FILE] [--profile P] [--config GUEST.cfg]... --domain N\n"
                    + "  domain N's view of every function's config space (lspci -xxxx text)\n"),
            Map.entry("create", "usage: xenpci create GUEST.cfg [--platform FILE] [--profile P] --out DIR\n"
                    + "  build the guest and write guest.dtb, guest.dts, guest-lspci.txt, trace.jsonl, summary.json\n"),
            Map.entry("classify", "usage: xenpci classify [--profile P] [--markdown FILE] DTB...\n"
                    + "  boot each bare DTB and print one TSV line per DTB and profile\n"),
            Map.entry("bench", "usage: xenpci bench [--json]\n"
                    + "  time the guest config-read trap path (default trace) against a raw array read (docs/cli.md)\n"),
            Map.entry("dts", "usage: xenpci dts FILE...\n  decompile each DTB as dtc -I dtb -O dts does\n"),
            Map.entry("serve", "usage: xenpci serve --socket PATH | --tcp PORT | --stdio [--ram-dir DIR]\n"
                    + "  serve the simulator protocol (docs/simulator-protocol.md) until killed or SHUTDOWN\n"),
            Map.entry("xl", "usage: xenpci xl SUBCOMMAND [OPTIONS]\n"
                    + "  create -n GUEST.cfg, pci-assignable-list [-n], pci-list DOMAIN (xenpci xl SUBCOMMAND --help)\n"),
            Map.entry("xl create", "usage: xenpci xl create -n GUEST.cfg\n  dry run: print the libxl domain config as JSON\n"),
            Map.entry("xl pci-assignable-list", "usage: xenpci xl pci-assignable-list [-n|--show-names] [--platform F] "
                    + "[--profile P] [--config GUEST.cfg]... [--assignable BDF[,name=N]]...\n"
                    + "  list the functions bound to pciback and assigned to no domain\n"),
            Map.entry("xl pci-list", "usage: xenpci xl pci-list DOMAIN [--platform F] [--profile P] [--config GUEST.cfg]... "
                    + "[--assignable BDF[,name=N]]...\n  list the PCI devices of DOMAIN (a name or a domid; 0 is dom0)\n"));

    /** The system property xenpci-cli-logback.xml takes its levels from; {@code --debug} sets DEBUG. */
    static final String LOG_LEVEL_PROPERTY = "xenpci.log.level";

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
        // Set before anything logs, so that logback starts at DEBUG (xenpci-cli-logback.xml).
        if (Arrays.asList(args).contains("--debug") && System.getProperty(LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(LOG_LEVEL_PROPERTY, "DEBUG");
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
            String help = helpFor(args);
            if (help != null) {
                out.print(help);
                return 0;
            }
            String cmd = args.remove(0);
            switch (cmd) {
                case "boot":
                    return boot(args);
                case "lspci":
                    return lspci(args);
                case "classify":
                    return classify(args);
                case "create":
                    return create(args);
                case "xl":
                    return xl(args);
                case "dts":
                    return dts(args);
                case "serve":
                    return serve(args);
                case "bench":
                    return bench(args);
                case "help":
                case "--help":
                case "-h":
                    out.print(USAGE);
                    return 0;
                case "--version":
                case "-V":
                    out.println("xenpci " + version());
                    return 0;
                default:
                    throw new UsageException("unknown command \"" + cmd + "\"");
            }
        } catch (XlExit e) {
            err.print(e.stderr());
            if (debug && e.getCause() != null) {
                e.getCause().printStackTrace(err);
            }
            return e.status();
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

    /**
     * The usage of the command {@code args} names when it asks for help ({@code --help} or
     * {@code -h} anywhere after it, as xl and the GNU tools take it), else null. An unknown
     * command falls through to the usual "unknown command" error.
     */
    static String helpFor(List<String> args) {
        if (!args.contains("--help") && !args.contains("-h")) {
            return null;
        }
        String cmd = args.get(0);
        if (cmd.equals("xl") && args.size() > 1 && COMMAND_USAGE.containsKey("xl " + args.get(1))) {
            return COMMAND_USAGE.get("xl " + args.get(1));
        }
        return COMMAND_USAGE.get(cmd);
    }

    /**
     * The version Maven wrote into {@code version.properties} (a filtered resource; the jar's
     * manifest carries the same as {@code Implementation-Version}).
     */
    static String version() {
        try (java.io.InputStream in = XenpciCli.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private int bench(List<String> argv) {
        Args a = Args.parse(argv, Set.of(), Set.of("json"), Map.of());
        noPositional(a);
        return BenchCommand.run(a, out);
    }

    private int dts(List<String> argv) {
        for (String a : argv) {
            if (a.startsWith("--")) {
                throw new UsageException("dts takes no option " + a);
            }
        }
        return DtsCommand.run(argv, out, err);
    }

    private int serve(List<String> argv) {
        Args a = Args.parse(argv, Set.of("socket", "tcp", "ram-dir"), Set.of("stdio"), Map.of());
        noPositional(a);
        int given = (a.get("socket") != null ? 1 : 0) + (a.get("tcp") != null ? 1 : 0) + (a.flag("stdio") ? 1 : 0);
        if (given != 1) {
            throw new UsageException("serve needs exactly one of --socket PATH, --tcp PORT, --stdio");
        }
        org.xenpci.libxl.serve.ServeCommand.Transport t;
        if (a.get("socket") != null) {
            t = new org.xenpci.libxl.serve.ServeCommand.UnixSocket(Path.of(a.get("socket")));
        } else if (a.get("tcp") != null) {
            int port;
            try {
                port = Integer.parseInt(a.get("tcp"));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 0 || port > 65535) {
                throw new UsageException("--tcp takes a port number 0..65535, not \"" + a.get("tcp") + "\"");
            }
            t = new org.xenpci.libxl.serve.ServeCommand.Tcp(port);
        } else {
            t = new org.xenpci.libxl.serve.ServeCommand.Stdio();
        }
        Path ramDir = a.get("ram-dir") == null ? null : Path.of(a.get("ram-dir"));
        try {
            return org.xenpci.libxl.serve.ServeCommand.run(t, ramDir, out);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("serve: " + org.xenpci.core.IoReason.of(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private int demo() {
        return Demo.run(out, Path.of("xenpci-out"));
    }

    private int create(List<String> argv) {
        Args a = Args.parse(argv, Set.of("platform", "profile", "out"), Set.of(), Map.of());
        if (a.positional().size() != 1) {
            throw new UsageException("create needs exactly one GUEST.cfg");
        }
        String outDir = a.get("out");
        if (outDir == null) {
            throw new UsageException("create needs --out DIR");
        }
        XlConfig cfg = GuestRun.load(a.positional().get(0), err);
        // trace.jsonl is one of create's products: a one-shot run records every access,
        // the hot-path TRAP/CONFIG events too (docs/cli.md), unlike the library's default.
        XenHost host = XenHost.boot(platform(a), profile(a), new org.xenpci.core.trace.Trace());
        Libxl libxl = new Libxl(host);
        List<GuestRun.Created> created = GuestRun.createAll(libxl, List.of(cfg));
        GuestRun.writeFiles(Path.of(outDir), libxl, created);
        GuestRun.Created c = created.get(0);
        out.printf("created d%d \"%s\" (%s profile): %d device(s) assigned, guest found %d function(s)%s%n", c.domain().domid(),
                c.domain().name(), host.xen().profile().name(), libxl.pciList(c.domain().domid()).size(),
                c.probe().functions().size(), c.probe().configAborts() > 0
                        ? ", " + c.probe().configAborts() + " config access(es) aborted" : "");
        out.println("wrote " + Path.of(outDir).resolve("summary.json") + " and 4 more files");
        return 0;
    }

    private int xl(List<String> argv) {
        if (argv.isEmpty()) {
            throw new UsageException("xl needs a subcommand: create -n, pci-assignable-list, pci-list");
        }
        String sub = argv.remove(0);
        switch (sub) {
            case "create": {
                Args a = Args.parse(argv, Set.of(), Set.of("dryrun"), Map.of("n", "dryrun"));
                if (!a.flag("dryrun")) {
                    throw new UsageException("xl create is a dry run here: use xl create -n GUEST.cfg, or xenpci create");
                }
                if (a.positional().size() != 1) {
                    throw new UsageException("xl create -n needs exactly one GUEST.cfg");
                }
                out.println(LibxlJson.toPrettyJson(GuestRun.load(a.positional().get(0), err)));
                return 0;
            }
            case "pci-assignable-list": {
                Args a = Args.parse(argv, Set.of("platform", "profile", "config", "assignable"), Set.of("show-names"),
                        Map.of("n", "show-names"), Set.of("config", "assignable"));
                noPositional(a);
                Libxl libxl = bootWithGuests(a);
                for (AssignableDevice d : libxl.pciAssignableList()) {
                    out.println(d.xlLine(a.flag("show-names")));
                }
                return 0;
            }
            case "pci-list": {
                Args a = Args.parse(argv, Set.of("platform", "profile", "config", "assignable"), Set.of(), Map.of(),
                        Set.of("config", "assignable"));
                if (a.positional().size() != 1) {
                    throw new UsageException("xl pci-list needs exactly one DOMAIN");
                }
                Libxl libxl = bootWithGuests(a);
                String id = a.positional().get(0);
                // dom0 is no LibxlDomain (the toolstack runs in it), but xl names it 0 or Domain-0.
                int domid = id.equals("Domain-0") ? 0 : libxl.domainByName(id).map(LibxlDomain::domid)
                        .or(() -> parseDomid(id).filter(n -> n == 0 || libxl.domain(n).isPresent()))
                        .orElseThrow(() -> new XlExit(1, "Invalid domain identifier: " + id + "\n"));
                List<PciListEntry> list = libxl.pciList(domid);
                if (!list.isEmpty()) {
                    out.println("Vdev Device");
                }
                for (PciListEntry e : list) {
                    out.println(e.xlLine());
                }
                return 0;
            }
            default:
                throw new UsageException("unknown xl subcommand \"" + sub + "\"");
        }
    }

    private static java.util.Optional<Integer> parseDomid(String s) {
        try {
            return java.util.Optional.of(Integer.parseInt(s));
        } catch (NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    /** Boots and creates every {@code --config} guest (running their reference guests). */
    private Libxl bootWithGuests(Args a) {
        List<XlConfig> cfgs = new ArrayList<>();
        for (String f : a.all("config")) {
            cfgs.add(GuestRun.load(f, err));
        }
        Libxl libxl = new Libxl(XenHost.boot(platform(a), profile(a)));
        for (String spec : a.all("assignable")) {
            int comma = spec.indexOf(",name=");
            String bdf = comma < 0 ? spec : spec.substring(0, comma);
            java.util.Optional<String> name = comma < 0 ? java.util.Optional.empty()
                    : java.util.Optional.of(spec.substring(comma + ",name=".length()));
            org.xenpci.core.pci.Sbdf sbdf;
            try {
                sbdf = org.xenpci.core.pci.Sbdf.parse(bdf);
            } catch (IllegalArgumentException e) {
                throw new XlExit(2, "pci-assignable-add: malformed BDF \"" + bdf + "\"\n");
            }
            try {
                libxl.pciAssignableAdd(sbdf, name, true);
            } catch (org.xenpci.libxl.toolstack.LibxlException e) {
                throw new XlExit(1, "libxl: error: " + e.libxlMessage() + "\n", e);
            }
        }
        GuestRun.createAll(libxl, cfgs);
        return libxl;
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

    private int classify(List<String> argv) {
        Args a = Args.parse(argv, Set.of("profile", "markdown"), Set.of(), Map.of());
        if (a.positional().isEmpty()) {
            throw new UsageException("classify needs at least one DTB");
        }
        List<Profile> profiles = a.get("profile") == null ? List.of(Profile.UPSTREAM, Profile.FULL) : List.of(profile(a));
        List<org.xenpci.libxl.boards.BoardResult> results = new ArrayList<>();
        out.println(org.xenpci.libxl.boards.BoardResult.TSV_HEADER);
        for (String dtb : a.positional()) {
            byte[] bytes;
            try {
                bytes = java.nio.file.Files.readAllBytes(Path.of(dtb));
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(dtb + ": cannot read: " + org.xenpci.core.IoReason.of(e), e);
            }
            for (Profile p : profiles) {
                org.xenpci.libxl.boards.BoardResult r = org.xenpci.libxl.boards.BoardClassifier.classify(dtb, bytes, p);
                results.add(r);
                out.println(r.tsv());
            }
        }
        if (a.get("markdown") != null) {
            try {
                java.nio.file.Files.writeString(Path.of(a.get("markdown")), org.xenpci.libxl.boards.BoardSweepReport.markdown(results));
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(a.get("markdown") + ": cannot write: " + org.xenpci.core.IoReason.of(e), e);
            }
        }
        return 0;
    }

    private int lspci(List<String> argv) {
        Args a = Args.parse(argv, Set.of("platform", "profile", "domain", "config"), Set.of(), Map.of(), Set.of("config"));
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
        Libxl libxl = bootWithGuests(a);
        Domain dom = libxl.host().xen().domain(domid).filter(x -> !x.isSystemDomain())
                .orElseThrow(() -> new IllegalArgumentException("no domain " + domid));
        out.print(GuestRun.lspci(dom));
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
