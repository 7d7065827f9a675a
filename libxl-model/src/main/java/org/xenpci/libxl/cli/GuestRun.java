package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.core.Domain;
import org.xenpci.core.Hex;
import org.xenpci.core.P2m;
import org.xenpci.core.fdt.DtsWriter;
import org.xenpci.core.fdt.FdtWriter;
import org.xenpci.libxl.config.PciSpecException;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigException;
import org.xenpci.libxl.guest.ConfigView;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;
import org.xenpci.libxl.toolstack.LibxlException;
import org.xenpci.libxl.toolstack.PciListEntry;
import org.xenpci.vpci.MsixState;
import org.xenpci.vpci.Vpci;
import org.xenpci.vpci.VpciBar;
import org.xenpci.vpci.VpciDevice;
import org.xenpci.vpci.VpciHeader;

/**
 * What {@code xenpci create} (and {@code lspci --config}, {@code xl ... --config}, the demo) do
 * with guest configs: make the listed devices assignable, build each domain, run its reference
 * guest; and the files {@code create} writes (docs/cli-toolstack.md).
 */
final class GuestRun {
    private static final ObjectMapper M = new ObjectMapper();

    /** A built guest and what its reference guest found. */
    record Created(LibxlDomain domain, ReferenceGuest.Probe probe) {
    }

    private GuestRun() {
    }

    /**
     * Reads and parses an xl config; xl's messages and exit statuses on failure
     * ({@code tools/xl/xl_vmcontrol.c: parse_config_data}). The config's warnings
     * ({@link XlConfig#warnings()}) go to {@code err}, one {@code FILE:LINE: warning: MESSAGE}
     * line each, as xl's config parser reports to stderr ({@code tools/libs/util/libxlu_cfg.c}).
     */
    static XlConfig load(String file, java.io.PrintStream err) {
        String text;
        try {
            text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new XlExit(1, "Failed to read config file: `" + file + "': " + org.xenpci.core.IoReason.of(e) + "\n");
        }
        XlConfig c = parse(text, file);
        for (org.xenpci.libxl.config.XlWarning w : c.warnings()) {
            err.println(w);
        }
        return c;
    }

    /** Parses config text as xl does, turning rejections into xl's output. */
    static XlConfig parse(String text, String file) {
        try {
            return XlConfig.parse(text, file);
        } catch (XlConfigException e) {
            if (e.getCause() instanceof PciSpecException) {
                PciSpecException p = (PciSpecException) e.getCause();
                // The parser's own message has no newline (tools/libs/util/libxlu_pci.c, tools/xl/xl_parse.c); xl's line follows it.
                throw new XlExit(-p.code(), p.xlMessage().orElse("")
                        + "unable to parse PCI_SPEC_STRING `" + p.spec() + "' for passthrough\n");
            }
            throw new XlExit(1, e.getMessage() + "\nFailed to parse config: Invalid argument\n");
        }
    }

    /**
     * Makes each config's devices assignable, creates the domain, runs its reference guest. On a
     * libxl failure the {@link XlExit} carries what xl's stderr shows: every message libxl logged
     * during the failed step ({@link #libxlLines}), and only when libxl logged none, one
     * {@code xl: cannot create domain NAME: CODE} line so that the failure is never silent.
     */
    static List<Created> createAll(Libxl libxl, List<XlConfig> configs) {
        List<Created> out = new ArrayList<>();
        for (XlConfig c : configs) {
            int logged = libxl.log().size();
            try {
                libxl.makeAssignable(c);
                LibxlDomain d = libxl.createDomain(c);
                out.add(new Created(d, new ReferenceGuest(d.domain()).probe()));
            } catch (LibxlException e) {
                String lines = libxlLines(libxl.log().subList(logged, libxl.log().size()));
                throw new XlExit(1, lines.isEmpty()
                        ? "xl: cannot create domain " + c.name().orElse("?") + ": " + e.getMessage() + "\n"
                        : lines, e);
            }
        }
        return out;
    }

    /**
     * libxl's log messages as xl prints them on stderr at its default level (xl's logger is a
     * stdio logger at XTL_PROGRESS, so info, warn and error messages show): {@code libxl: LEVEL:
     * MESSAGE}, with libxl's {@code Domain N:} prefix (LOGD) for a message about a domain. libxl's
     * {@code file:line:function:} part is not modelled and not printed.
     */
    static String libxlLines(List<org.xenpci.libxl.toolstack.LibxlLogEntry> entries) {
        StringBuilder b = new StringBuilder();
        for (org.xenpci.libxl.toolstack.LibxlLogEntry e : entries) {
            b.append("libxl: ").append(e.level()).append(": ");
            if (e.domid() >= 0) {
                b.append("Domain ").append(e.domid()).append(':');
            }
            b.append(e.message()).append('\n');
        }
        return b.toString();
    }

    /** A domain's view of its functions as {@code lspci -xxxx} text ({@code lspci -F} readable). */
    static String lspci(Domain d) {
        StringBuilder b = new StringBuilder();
        for (ConfigView.Function f : ConfigView.of(d)) {
            String desc = String.format("Class %04x: Device %04x:%04x", f.read(0x0a, 2), f.read(0, 2), f.read(2, 2));
            b.append(ConfigDumps.formatLspci(f.sbdf(), desc, f.config()));
        }
        return b.toString();
    }

    /** {@code summary.json}: the contract documented in docs/cli-toolstack.md. */
    static ObjectNode summary(Libxl libxl, List<Created> created) {
        ObjectNode root = M.createObjectNode();
        root.put("profile", libxl.host().xen().profile().name());
        ArrayNode doms = root.putArray("domains");
        Vpci vpci = libxl.host().vpci();
        for (Created c : created) {
            Domain d = c.domain().domain();
            ObjectNode o = doms.addObject();
            o.put("domid", d.domid());
            o.put("name", d.name());
            ArrayNode devs = o.putArray("devices");
            for (PciListEntry e : libxl.pciList(d.domid())) {
                ObjectNode dev = devs.addObject();
                dev.put("machineSbdf", e.machine().toString());
                VpciDevice v = vpci.device(d, e.machine());
                if (v == null || v.guestSbdfRecord() == null) {
                    dev.putNull("guestSbdf");
                } else {
                    dev.put("guestSbdf", v.guestSbdfRecord().toString());
                }
                ArrayNode bars = dev.putArray("bars");
                if (v != null) {
                    VpciHeader h = v.header();
                    for (int i = 0; i <= h.numBars(); i++) {
                        VpciBar b = h.bar(i);
                        if (!b.mappable() || b.size() == 0) {
                            continue;
                        }
                        ObjectNode bo = bars.addObject();
                        bo.put("index", b.index());
                        bo.put("type", barType(b.type()));
                        bo.put("size", Hex.of(b.size()));
                        bo.put("hostAddress", Hex.of(b.addr()));
                        bo.put("guestAddress", Hex.of(b.guestAddr()));
                        bo.put("mapped", b.enabled());
                    }
                }
                msix(dev, libxl, d, v);
            }
            ObjectNode probe = o.putObject("guestProbe");
            probe.put("functions", c.probe().functions().size());
            probe.put("configAborts", c.probe().configAborts());
        }
        // Added with trace.jsonl format 2 (docs/cli-toolstack.md): the format of the trace beside it.
        root.put("traceFormat", TraceJsonl.VERSION);
        return root;
    }

    /**
     * The {@code msix} object of one device, from Xen's state only: vPCI's MSI-X emulation
     * ({@link MsixState}) and, per entry, where the guest's vITS translation sends its EventID
     * ({@link ItsLayer#guestLpi}). {@code null} without vPCI MSI-X emulation for the device.
     * {@code vectors} lists the entries Xen delivers now: MSI-X enabled and the function not
     * masked, the entry unmasked and bound in hardware, and its EventID mapped to a guest LPI
     * behind the guest doorbell it holds.
     */
    private static void msix(ObjectNode dev, Libxl libxl, Domain d, VpciDevice v) {
        MsixState st = v == null ? null : MsixState.of(v);
        if (st == null) {
            dev.putNull("msix");
            return;
        }
        ObjectNode m = dev.putObject("msix");
        m.put("enabled", st.enabled());
        ArrayNode vectors = m.putArray("vectors");
        ItsLayer its = libxl.host().xen().service(ItsLayer.class).orElse(null);
        if (its == null || !st.enabled() || st.functionMasked()) {
            return;
        }
        for (MsixState.Entry e : st.entries()) {
            if (e.masked() || !e.bound()) {
                continue;
            }
            its.guestLpi(d, v.machineSbdf(), e.address(), e.data()).ifPresent(l -> {
                ObjectNode o = vectors.addObject();
                o.put("entry", e.index());
                o.put("lpi", l.vlpi());
                o.put("vcpu", l.vcpu());
            });
        }
    }

    static String barType(VpciBar.Type t) {
        switch (t) {
            case MEM32: return "mem32";
            case MEM64_LO: return "mem64";
            case ROM: return "rom";
            case IO: return "io";
            default: return t.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** True if the p2m maps some page of [gpa, gpa + size) to the matching host page. */
    static boolean inP2m(Domain d, long gpa, long host, long size) {
        for (P2m.DirectMmio m : d.p2m().mmioMappings()) {
            if (m.gpa() < gpa + size && gpa < m.gpa() + m.size() && m.maddr() - m.gpa() == host - gpa) {
                return true;
            }
        }
        return false;
    }

    /** Writes guest.dtb, guest.dts, guest-lspci.txt, trace.jsonl and summary.json into {@code dir}. */
    static void writeFiles(Path dir, Libxl libxl, List<Created> created) {
        try {
            Files.createDirectories(dir);
            Created first = created.get(0);
            Files.write(dir.resolve("guest.dtb"), FdtWriter.write(first.domain().deviceTree()));
            Files.writeString(dir.resolve("guest.dts"), DtsWriter.write(first.domain().deviceTree()), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("guest-lspci.txt"), lspci(first.domain().domain()), StandardCharsets.US_ASCII);
            Files.writeString(dir.resolve("trace.jsonl"), TraceJsonl.write(libxl.host().xen().trace().events()),
                    StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("summary.json"),
                    M.writerWithDefaultPrettyPrinter().writeValueAsString(summary(libxl, created)) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }
}
