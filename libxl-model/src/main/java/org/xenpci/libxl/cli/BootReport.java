package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.PciConf;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.smmu.IommuPlacement;
import org.xenpci.core.Domain;
import org.xenpci.core.Hex;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.host.XenHost;

/**
 * The {@code xenpci boot} report: host bridges Xen registered and the pdevs it knows, with
 * each function's IDs (read by Xen through {@code pci_conf}) and its BARs (as dom0 sized them).
 * The JSON form is a contract, documented in docs/cli.md.
 */
final class BootReport {
    private BootReport() {
    }

    static ObjectNode json(XenHost host) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        ArrayNode bridges = root.putArray("hostBridges");
        for (HostBridge b : host.pci().hostBridges().all()) {
            ObjectNode o = bridges.addObject();
            o.put("segment", b.segment());
            o.put("node", b.path());
            o.put("compatible", matchedCompatible(b));
            o.put("ecamBase", Hex.of(b.cfg().physBase()));
            o.put("ecamSize", Hex.of(b.cfg().size()));
            o.put("busStart", b.cfg().busStart());
            o.put("busEnd", b.cfg().busEnd());
            ArrayNode iommus = o.putArray("iommus");
            IommuPlacement.bridgeIommus(host.xen(), b).forEach(iommus::add);
        }
        Map<Sbdf, ProbedFunction> probed = new HashMap<>();
        for (HardwareDomainGuest.Reported r : host.enumeration().functions()) {
            probed.put(r.function().sbdf(), r.function());
        }
        PciConf conf = host.pci().conf();
        ArrayNode pdevs = root.putArray("pdevs");
        for (Pdev p : sorted(host.pci().pdevs().all())) {
            Sbdf s = p.sbdf();
            ObjectNode o = pdevs.addObject();
            o.put("sbdf", s.toString());
            o.put("vendor", String.format("0x%04x", conf.read16(s, PciRegs.PCI_VENDOR_ID)));
            o.put("device", String.format("0x%04x", conf.read16(s, PciRegs.PCI_DEVICE_ID)));
            o.put("class", String.format("0x%06x", conf.read32(s, PciRegs.PCI_CLASS_REVISION) >>> 8));
            int header = conf.read8(s, PciRegs.PCI_HEADER_TYPE);
            o.put("headerType", header & PciRegs.PCI_HEADER_TYPE_MASK);
            o.put("multiFunction", (header & PciRegs.PCI_HEADER_TYPE_MFD) != 0);
            Domain owner = p.owner();
            if (owner == null) {
                o.putNull("owner");
            } else {
                o.put("owner", owner.domid());
            }
            ArrayNode bars = o.putArray("bars");
            ProbedFunction f = probed.get(s);
            if (f != null) {
                for (ProbedFunction.ProbedBar b : f.bars()) {
                    ObjectNode bo = bars.addObject();
                    bo.put("index", b.type().equals("rom") ? 6 : b.index());
                    bo.put("type", b.type());
                    bo.put("prefetchable", b.prefetchable());
                    bo.put("size", Hex.of(b.size()));
                }
            }
            IommuPlacement placement = IommuPlacement.of(host.xen(), s);
            if (placement instanceof IommuPlacement.Behind behind) {
                ObjectNode io = o.putObject("iommu");
                io.put("node", behind.iommuNode());
                io.put("streamId", Hex.of(behind.streamId()));
            } else {
                o.putNull("iommu");
            }
        }
        return root;
    }

    static void text(XenHost host, PrintStream out) {
        out.printf("Xen %s profile, command line \"%s\"%n", host.xen().profile().name(), host.xen().bootOptions().cmdline());
        List<HostBridge> bridges = host.pci().hostBridges().all();
        out.printf("%nHost bridges (%d):%n", bridges.size());
        for (HostBridge b : bridges) {
            List<String> iommus = IommuPlacement.bridgeIommus(host.xen(), b);
            out.printf("  %04x  %-28s %-22s ECAM %s+%s  buses %02x-%02x  IOMMU %s%n", b.segment(), b.path(), matchedCompatible(b),
                    Hex.of(b.cfg().physBase()), Hex.of(b.cfg().size()), b.cfg().busStart(), b.cfg().busEnd(),
                    iommus.isEmpty() ? "none" : String.join(", ", iommus));
        }
        ObjectNode j = json(host);
        out.printf("%nPCI devices registered with Xen (%d):%n", j.get("pdevs").size());
        j.get("pdevs").forEach(p -> {
            out.printf("  %s  %s:%s  class %s  %s  owner %s%n", p.get("sbdf").asText(), p.get("vendor").asText().substring(2),
                    p.get("device").asText().substring(2), p.get("class").asText().substring(2),
                    p.get("headerType").asInt() == 1 ? "bridge  " : "endpoint", p.get("owner").isNull() ? "-" : "d" + p.get("owner").asInt());
            IommuPlacement placement = IommuPlacement.of(host.xen(), Sbdf.parse(p.get("sbdf").asText()));
            out.printf("      IOMMU: %s%n", placement instanceof IommuPlacement.Behind b
                    ? b.iommuNode() + " stream ID " + Hex.of(b.streamId())
                    : "none (" + ((IommuPlacement.NotBehind) placement).reason() + ")");
            p.get("bars").forEach(b -> out.printf("      %s %-5s %s%s%n", b.get("index").asInt() == 6 ? "ROM " : "BAR" + b.get("index").asInt(),
                    b.get("type").asText(), b.get("size").asText(), b.get("prefetchable").asBoolean() ? " prefetchable" : ""));
        });
        host.pci().probeFailure().ifPresent(f -> out.printf("%nHost bridge probe stopped at %s: %s%n", f.nodePath(), f.reason()));
    }

    /** The compatible string the Xen driver matched on (the first of the node's that it claims). */
    static String matchedCompatible(HostBridge b) {
        for (String c : b.compatible()) {
            if (org.xenpci.libxl.guest.PciHostNode.DRIVEN.contains(c)) {
                return c;
            }
        }
        return b.compatible().isEmpty() ? "" : b.compatible().get(0);
    }

    private static List<Pdev> sorted(List<Pdev> pdevs) {
        return pdevs.stream().sorted(Comparator.comparing(Pdev::sbdf)).collect(Collectors.toList());
    }
}
