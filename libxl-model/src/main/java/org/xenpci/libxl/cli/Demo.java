package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.Hex;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.DtsWriter;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.dt.GuestDtBuilder;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * The built-in demo ({@code java -jar xenpci.jar} without arguments): boots the default
 * platform with the {@code full} profile, creates the built-in guest
 * ({@code org/xenpci/libxl/demo/demo-guest.cfg}), runs its reference guest and prints a report;
 * the {@code create} files go to {@code <base>/demo-full/}.
 */
final class Demo {
    static final String GUEST_CFG = "/org/xenpci/libxl/demo/demo-guest.cfg";

    private Demo() {
    }

    static int run(PrintStream out, Path base) {
        return run(out, base, Profile.FULL);
    }

    /** The demo with another profile (tests; the CLI always uses {@code full}). */
    static int run(PrintStream out, Path base, Profile profile) {
        // trace.jsonl is a product of the demo: every category, the per-access ones too (docs/cli-toolstack.md).
        XenHost host = XenHost.boot(DefaultPlatform.build(), profile, new org.xenpci.core.trace.Trace());
        Libxl libxl = new Libxl(host);
        XlConfig cfg = GuestRun.parse(resource(GUEST_CFG), "demo-guest.cfg");
        List<GuestRun.Created> created = GuestRun.createAll(libxl, List.of(cfg));
        GuestRun.Created g = created.get(0);
        Path dir = base.resolve("demo-" + profile.name());
        GuestRun.writeFiles(dir, libxl, created);

        out.println("xenpci demo: the built-in default platform (QEMU virt, GICv3 + ITS + SMMUv3), profile "
                + profile.name());
        out.println();
        out.println("Host PCI tree (dom0's enumeration, lspci -tv style):");
        hostTree(host, out);
        out.println();
        out.printf("Guest d%d \"%s\": pci = %s%n", g.domain().domid(), g.domain().name(),
                cfg.pciDevices().stream().map(p -> p.bdfText()).toList());
        out.println();
        out.println("Guest view (its reference guest probed pcie@10000000, lspci style):");
        if (g.probe().functions().isEmpty()) {
            out.printf("  (nothing: %d config accesses aborted)%n", g.probe().configAborts());
        }
        for (ProbedFunction f : g.probe().functions()) {
            out.printf("  %02x:%02x.%d %s [%04x]: %04x:%04x%s%n", f.sbdf().bus(), f.sbdf().device(), f.sbdf().function(),
                    className(f.classCode() >> 8), f.classCode() >> 8, f.vendor(), f.device(),
                    f.revision() != 0 ? String.format(" (rev %02x)", f.revision()) : "");
        }
        out.println();
        out.println("Guest DT PCI node:");
        out.print(indent(DtsWriter.write(Fdt.of(FdtNode.root().child(g.domain().deviceTree().node("/" + GuestDtBuilder.VPCI_NODE_NAME)
                .orElseThrow()).build()))));
        out.println();
        out.println("BAR mappings (guest -> host, from vPCI's header state):");
        var summary = GuestRun.summary(libxl, created);
        summary.get("domains").get(0).get("devices").forEach(d -> {
            out.printf("  %s as %s%n", d.get("machineSbdf").asText(), d.get("guestSbdf").isNull() ? "-" : d.get("guestSbdf").asText());
            if (d.get("bars").isEmpty()) {
                out.println("      (no vPCI BAR state)");
            }
            d.get("bars").forEach(b -> out.printf("      BAR%d %-5s %12s  guest %-12s -> host %-12s %s%n", b.get("index").asInt(),
                    b.get("type").asText(), b.get("size").asText(), b.get("guestAddress").asText(),
                    b.get("hostAddress").asText(), b.get("mapped").asBoolean() ? "mapped" : "not mapped"));
        });
        out.println();
        out.println("Interrupt routes (MSI-X, from Xen's vPCI and vITS state):");
        interruptRoutes(host, g, summary.get("domains").get(0).get("devices"), out);
        out.println();
        out.println("Files written to " + dir.toAbsolutePath() + ": guest.dtb guest.dts guest-lspci.txt trace.jsonl summary.json");
        return 0;
    }

    /**
     * Each guest device's MSI-X vectors (entry -> guest LPI -> vCPU, as summary.json has them),
     * then each vector fired once by the host function ({@link PciFunction#signal}) and where it
     * landed: the vCPU whose pending set gained the LPI (the demo then acknowledges it, as the
     * guest's handler would).
     */
    static void interruptRoutes(XenHost host, GuestRun.Created g, JsonNode devices, PrintStream out) {
        Domain d = g.domain().domain();
        boolean any = false;
        for (JsonNode dev : devices) {
            JsonNode msix = dev.get("msix");
            if (msix == null || msix.isNull()) {
                continue;
            }
            any = true;
            Sbdf machine = Sbdf.parse(dev.get("machineSbdf").asText());
            out.printf("  %s as %s: MSI-X %s, %d vector(s)%n", machine, dev.get("guestSbdf").asText(),
                    msix.get("enabled").asBoolean() ? "enabled" : "disabled", msix.get("vectors").size());
            for (JsonNode v : msix.get("vectors")) {
                out.printf("      entry %d -> LPI %d -> d%dv%d%n", v.get("entry").asInt(), v.get("lpi").asInt(), d.domid(),
                        v.get("vcpu").asInt());
            }
            PciFunction f = host.platform().function(machine).orElse(null);
            for (JsonNode v : msix.get("vectors")) {
                int entry = v.get("entry").asInt();
                int lpi = v.get("lpi").asInt();
                SignalResult r = f == null ? SignalResult.NOT_CONNECTED : f.signal(entry);
                String where = "nowhere (" + r + ")";
                for (Vcpu c : d.vcpus()) {
                    if (c.pendingInterrupts().contains(lpi)) {
                        where = "pending on d" + d.domid() + "v" + c.id();
                        c.acknowledge(lpi);
                    }
                }
                out.printf("      fired: entry %d -> LPI %d %s%n", entry, lpi, where);
            }
        }
        if (!any) {
            out.println(host.xen().profile().vpciMsi()
                    ? "  none: no assigned device has MSI-X emulation in the guest"
                    : "  none: the guest has no MSI (as Xen 4.23: Arm builds no vPCI MSI/MSI-X emulation, guests get no ITS)");
        }
    }

    /** An {@code lspci -tv}-like tree of what dom0 found: one root per segment, bridges nest. */
    static void hostTree(XenHost host, PrintStream out) {
        Map<Integer, Map<Integer, List<ProbedFunction>>> bySegBus = new TreeMap<>();
        for (HardwareDomainGuest.Reported r : host.enumeration().functions()) {
            ProbedFunction f = r.function();
            bySegBus.computeIfAbsent(f.sbdf().segment(), k -> new TreeMap<>())
                    .computeIfAbsent(f.sbdf().bus(), k -> new ArrayList<>()).add(f);
        }
        for (Map.Entry<Integer, Map<Integer, List<ProbedFunction>>> seg : bySegBus.entrySet()) {
            String head = String.format("-[%04x:00]-", seg.getKey());
            bus(seg.getValue(), 0, head, " ".repeat(head.length()), out);
        }
    }

    private static void bus(Map<Integer, List<ProbedFunction>> buses, int bus, String first, String pad, PrintStream out) {
        List<ProbedFunction> fs = buses.getOrDefault(bus, List.of());
        for (int i = 0; i < fs.size(); i++) {
            ProbedFunction f = fs.get(i);
            boolean last = i == fs.size() - 1;
            String lead = (i == 0 ? first : pad) + (fs.size() == 1 ? "--" : i == 0 ? "+-" : last ? "\\-" : "+-");
            String name = String.format("%02x.%d", f.sbdf().device(), f.sbdf().function());
            String desc = String.format("  %04x:%04x %s", f.vendor(), f.device(), className(f.classCode() >> 8));
            if (f.isBridge() && buses.containsKey(f.secondaryBus())) {
                String here = lead + name + String.format("-[%02x]--", f.secondaryBus());
                String childPad = pad + (last || fs.size() == 1 ? "  " : "| ") + " ".repeat(here.length() - pad.length() - 2);
                bus(buses, f.secondaryBus(), here, childPad, out);
            } else {
                out.println(lead + name + desc);
            }
        }
    }

    /** pci.ids class names for the classes the default platform has. */
    static String className(int cls) {
        switch (cls) {
            case 0x0108: return "Non-Volatile memory controller";
            case 0x0200: return "Ethernet controller";
            case 0x0403: return "Audio device";
            case 0x0500: return "RAM memory";
            case 0x0604: return "PCI bridge";
            case 0x0700: return "Serial controller";
            default: return String.format("Class %04x", cls);
        }
    }

    private static String indent(String s) {
        StringBuilder b = new StringBuilder();
        for (String line : s.split("\n")) {
            b.append("  ").append(line).append('\n');
        }
        return b.toString();
    }

    private static String resource(String name) {
        try (InputStream in = Demo.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new UncheckedIOException(new IOException("missing built-in resource " + name));
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unused")
    private static String hex(long v) {
        return Hex.of(v);
    }
}
