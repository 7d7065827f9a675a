package org.xenpci.armpci;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.BootException;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;

/**
 * A PCI host bridge node as the device tree describes it, before any driver looks at it: every
 * top-level {@code device_type = "pci"} node (one whose parent is not a PCI node), with its
 * translated {@code reg} entries, raw bus range, {@code linux,pci-domain} and parsed
 * {@code ranges}. Used by whoever needs the board's description rather than Xen's view of it
 * (the platform builder, tests). Parsing uses the same rules as Xen's discovery.
 *
 * @param path node path
 * @param node the node
 * @param compatible its compatible strings
 * @param available status absent, "okay" or "ok"
 * @param regs translated {@code reg} entries, empty if absent or untranslatable
 * @param busStart first bus (u8-truncated cell, default 0)
 * @param busEnd last bus (u8-truncated cell, default 0xff)
 * @param pciDomain {@code linux,pci-domain} truncated to 16 bits, if present
 * @param ranges parsed {@code ranges}
 */
public record HostBridgeNode(String path, FdtNode node, List<String> compatible, boolean available, List<RegEntry> regs,
        int busStart, int busEnd, OptionalInt pciDomain, List<PciRange> ranges) {

    public HostBridgeNode {
        compatible = List.copyOf(compatible);
        regs = List.copyOf(regs);
        ranges = List.copyOf(ranges);
    }

    /** Every top-level PCI host bridge node, in DT order. */
    public static List<HostBridgeNode> scan(Fdt fdt) {
        List<HostBridgeNode> out = new ArrayList<>();
        for (DtContext ctx : DtContext.preOrder(fdt)) {
            if (!ctx.deviceTypeIs("pci") || (ctx.parent != null && ctx.parent.deviceTypeIs("pci"))) {
                continue;
            }
            out.add(BootException.readingNode(ctx.path, () -> of(ctx)));
        }
        return out;
    }

    private static HostBridgeNode of(DtContext ctx) {
        List<RegEntry> regs;
        try {
            regs = HostBridgeDiscovery.regs(ctx);
        } catch (HostBridgeDiscovery.ProbeError e) {
            regs = List.of();
        }
        int[] bus = HostBridgeDiscovery.busRange(ctx);
        OptionalLong dom = ctx.firstCell("linux,pci-domain");
        return new HostBridgeNode(ctx.path, ctx.node, ctx.strings("compatible"), ctx.isAvailable(), regs, bus[0], bus[1],
                dom.isPresent() ? OptionalInt.of((int) (dom.getAsLong() & 0xffff)) : OptionalInt.empty(),
                HostBridgeDiscovery.ranges(ctx));
    }

    /**
     * The config (ECAM) window as the matching Xen driver picks it: the {@code reg} entry named
     * {@code cfg} for ZynqMP NWL ({@code cfg_reg_index}), the one named {@code dbi} for R-Car
     * Gen4 (the root bus's window; {@code rcar4_cfg_reg_index}), reg[0] for everything else.
     */
    public Optional<RegEntry> configRegion() {
        if (compatible.contains("xlnx,nwl-pcie-2.11")) {
            return named("cfg");
        }
        if (compatible.stream().anyMatch(HostBridgeDiscovery.RCAR_GEN4::contains)) {
            return named("dbi");
        }
        return regs.isEmpty() ? Optional.empty() : Optional.of(regs.get(0));
    }

    /** The {@code reg} entry whose {@code reg-names} string is {@code name}. */
    public Optional<RegEntry> named(String name) {
        return regs.stream().filter(r -> r.name().filter(name::equals).isPresent()).findFirst();
    }
}
