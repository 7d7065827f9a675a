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
            "  dts FILE...                 decompile each DTB as dtc -I dtb -O dts does; a bad file prints",
            "                              FILE: error: REASON at offset 0xN and the next file follows",
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
                case "classify":
                    return classify(args);
                case "create":
                    return create(args);
                case "xl":
                    return xl(args);
                case "dts":
                    return dts(args);
                case "help":
                case "--help":
                case "-h":
                    out.print(USAGE);
                    return 0;
                default:
                    throw new UsageException("unknown command \"" + cmd + "\"");
            }
        } catch (XlExit e) {
            err.print(e.stderr());
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

    private int dts(List<String> argv) {
        for (String a : argv) {
            if (a.startsWith("--")) {
                throw new UsageException("dts takes no option " + a);
            }
        }
        return DtsCommand.run(argv, out, err);
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
        XlConfig cfg = GuestRun.load(a.positional().get(0));
        XenHost host = XenHost.boot(platform(a), profile(a));
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
                out.println(LibxlJson.toPrettyJson(GuestRun.load(a.positional().get(0))));
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
                LibxlDomain d = libxl.domainByName(id).or(() -> parseDomid(id).flatMap(libxl::domain))
                        .orElseThrow(() -> new XlExit(1, "Invalid domain identifier: " + id + "\n"));
                List<PciListEntry> list = libxl.pciList(d.domid());
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
            cfgs.add(GuestRun.load(f));
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
                throw new XlExit(1, "libxl: error: " + e.libxlMessage() + "\n");
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
                throw new IllegalArgumentException(dtb + ": cannot read: " + e.getMessage(), e);
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
                throw new IllegalArgumentException(a.get("markdown") + ": cannot write: " + e.getMessage(), e);
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
