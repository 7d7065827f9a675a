package org.xenpci.armpci;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Errno;
import org.xenpci.core.Hex;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * Xen's DT host bridge discovery ({@code dt_pci_init} walking every node through
 * {@code device_init(node, DEVICE_PCI_HOSTBRIDGE)}, then {@code pci_host_common_probe} and
 * {@code gen_pci_init}; xen/arch/arm/pci/pci.c, pci-host-common.c). Runs once at boot, single-threaded.
 */
final class HostBridgeDiscovery {
    private static final Logger LOG = LoggerFactory.getLogger(HostBridgeDiscovery.class);

    /** R-Car Gen4 compatibles: Xen probes them with pci-host-rcar4.c over DesignWare. */
    static final List<String> RCAR_GEN4 = List.of("renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");

    /** What the walk produced. */
    record Result(List<HostBridge> bridges, Optional<ProbeFailure> failure) {
    }

    /** A probe failure inside {@code gen_pci_init}: Xen reports all of them as -ENOMEM. */
    static final class ProbeError extends Exception {
        private static final long serialVersionUID = 1L;

        ProbeError(String reason) {
            super(reason, null, false, false);
        }
    }

    private final List<HostBridgeDriver> drivers;
    private final PciDomainNumbering numbering;
    private final Trace trace;
    private final PhysicalAddressSpace space;

    HostBridgeDiscovery(List<HostBridgeDriver> drivers, PciDomainNumbering numbering, Trace trace,
            PhysicalAddressSpace space) {
        this.drivers = List.copyOf(drivers);
        this.numbering = numbering;
        this.trace = trace;
        this.space = space;
    }

    /**
     * Walks the tree in pre-order and registers every host bridge a driver probes successfully.
     *
     * @throws PciBootException where Xen would panic or run an unmodelled driver
     */
    Result discover(Fdt fdt) {
        List<HostBridge> bridges = new ArrayList<>();
        for (DtContext node : DtContext.preOrder(fdt)) {
            // device_init: unavailable or passthrough-marked nodes are -ENODEV, skipped.
            if (!node.isAvailable() || node.node.hasProperty("xen,passthrough")) {
                continue;
            }
            List<String> compatible = node.strings("compatible");
            HostBridgeDriver driver = match(compatible);
            if (driver == null) {
                continue; // -EBADF: not a host bridge Xen knows, skipped
            }
            Errno errno = Errno.ENOMEM;
            String reason;
            try {
                HostBridge b;
                try {
                    b = probe(node, driver);
                } catch (ProbeError e) {
                    if (driver != HostBridgeDriver.RCAR4) {
                        throw e;
                    }
                    // pci_host_rcar4_probe ignores dw_pcie_host_probe's error pointer and goes
                    // on to look up "app": missing, its error ends the probe; present, Xen stores
                    // its private data through the error pointer.
                    rcar4App(node, e.getMessage());
                    throw new PciBootException.DesignWareProbeBroken(node.path,
                            "the common probe failed (" + e.getMessage() + ") and Xen's R-Car probe dereferences the"
                                    + " error pointer it returned");
                }
                bridges.add(b);
                LOG.debug("host bridge {} ({}) registered: segment {}, {}", node.path, driver.name(), b.segment(), b.cfg());
                if (driver == HostBridgeDriver.RCAR4) {
                    designWareProbe(node, b);
                }
                continue;
            } catch (ProbeError e) {
                reason = e.getMessage();
            } catch (AppMissing e) {
                errno = e.errno;
                reason = e.getMessage();
            }
            // dt_pci_init returns the error and later nodes are never probed; Xen ignores the
            // initcall's result and keeps booting with the bridges it has.
            ProbeFailure f = new ProbeFailure(node.path, errno, reason);
            String msg = "PCI host bridge probe of " + node.path + " failed with -" + errno.name() + " (" + reason
                    + "); later DT nodes are not probed";
            LOG.warn("(XEN) {}", msg);
            if (trace.enabled(TraceCategory.FAULT)) {
                trace.emit(new Events.Warning(-1, msg));
            }
            return new Result(List.copyOf(bridges), Optional.of(f));
        }
        return new Result(List.copyOf(bridges), Optional.empty());
    }

    /** The R-Car probe's "app" lookup failed: its errno ends the walk. */
    private static final class AppMissing extends Exception {
        private static final long serialVersionUID = 1L;
        final transient Errno errno;

        AppMissing(Errno errno, String reason) {
            super(reason, null, false, false);
            this.errno = errno;
        }
    }

    /**
     * The rest of {@code dw_pcie_host_probe} and {@code pci_host_rcar4_probe} for a bridge the
     * common probe already registered: "atu" (required; Xen goes on with an error pointer or a
     * NULL iATU base without it, refused here), {@code num-viewport} (default 2), then "app"
     * (missing: the probe fails with its errno, the bridge stays registered without the R-Car
     * private data and with DWC version 0, since {@code dw_pcie_set_version} is never reached).
     */
    private void designWareProbe(DtContext node, HostBridge b) throws AppMissing, ProbeError {
        List<RegEntry> regs = regs(node);
        int atuIdx = HostBridgeDriver.matchRegName(node.node, "atu");
        if (atuIdx < 0 || atuIdx >= regs.size() || regs.get(atuIdx).size() == 0) {
            throw new PciBootException.DesignWareProbeBroken(node.path,
                    "no usable \"atu\" reg entry: Xen's DesignWare probe returns an error pointer the R-Car probe uses");
        }
        long atu = regs.get(atuIdx).address();
        int numViewport = (int) node.firstCell("num-viewport").orElse(2);
        LOG.info("(XEN) iATU at [mem {}-{}]; {} number of view ports: {}", Hex.of(atu),
                Hex.of(atu + regs.get(atuIdx).size() - 1), node.path, numViewport);
        EcamWindow child = b.childCfg().orElseThrow();
        int appIdx = HostBridgeDriver.matchRegName(node.node, "app");
        if (appIdx < 0 || appIdx >= regs.size()) {
            b.designWare(new DesignWarePcie(node.path, space, b.cfg().physBase(), child, atu, -1, numViewport, 0));
            rcar4App(node, null);
        }
        long app = regs.get(appIdx).address();
        LOG.info("(XEN) APP at [mem {}-{}]", Hex.of(app), Hex.of(app + regs.get(appIdx).size() - 1));
        b.designWare(new DesignWarePcie(node.path, space, b.cfg().physBase(), child, atu, app, numViewport,
                DesignWarePcie.RCAR4_DWC_VERSION));
    }

    /** The R-Car probe's "app" lookup: throws its failure; returns if "app" exists. */
    private static void rcar4App(DtContext node, String earlier) throws AppMissing, ProbeError {
        int appIdx = HostBridgeDriver.matchRegName(node.node, "app");
        String after = earlier == null ? "" : " (after: " + earlier + ")";
        if (appIdx < 0) {
            throw new AppMissing(appIdx == Errno.EINVAL.rc() ? Errno.EINVAL : Errno.ENODATA,
                    "Cannot find \"app\" range index in device tree" + after);
        }
        if (appIdx >= regs(node).size()) {
            throw new AppMissing(Errno.EINVAL, "Cannot find \"app\" range in device tree" + after);
        }
    }

    private HostBridgeDriver match(List<String> compatible) {
        for (HostBridgeDriver d : drivers) {
            for (String c : d.compatibles()) {
                if (compatible.contains(c)) {
                    return d;
                }
            }
        }
        return null;
    }

    /** {@code pci_host_common_probe}: the root window, the segment, then the child window if the driver has child ops. */
    private HostBridge probe(DtContext node, HostBridgeDriver driver) throws ProbeError {
        // gen_pci_init: bus range first, then the config window.
        int[] busRange = busRange(node);
        EcamWindow cfg = window(node, driver.cfgRegIndex(node.node), busRange[0], busRange[1]);
        int segment = numbering.findDomainNr(node);
        if (segment < 0) {
            throw new PciBootException.InconsistentPciDomain(node.path);
        }
        java.util.OptionalInt childIndex = driver.childCfgRegIndex(node.node);
        EcamWindow child = null;
        if (childIndex.isPresent()) {
            // pci_generic_init_bus_range_child: the child takes start + 1 (a u8) .. end; the root
            // bus is cut down to its first bus, which holds only the root port.
            child = window(node, childIndex.getAsInt(), (busRange[0] + 1) & 0xff, busRange[1]);
            cfg = new EcamWindow(cfg.physBase(), cfg.size(), busRange[0], busRange[0]);
            LOG.info("(XEN) Root bus end updated: [bus {}-{}]", Integer.toHexString(cfg.busStart()),
                    Integer.toHexString(cfg.busEnd()));
        }
        return new HostBridge(node, driver.name(), segment, cfg, child, regs(node), ranges(node));
    }

    /** {@code gen_pci_init}'s window part: the reg entry at {@code index}, which must exist and be non-empty. */
    private static EcamWindow window(DtContext node, int index, int busStart, int busEnd) throws ProbeError {
        if (index < 0) {
            throw new ProbeError("no config window: cfg_reg_index returned " + index);
        }
        List<RegEntry> regs = regs(node);
        if (index >= regs.size()) {
            throw new ProbeError("reg entry " + index + " missing (reg has " + regs.size() + " entries)");
        }
        RegEntry cfgReg = regs.get(index);
        if (cfgReg.size() == 0) {
            // ioremap of an empty window fails.
            throw new ProbeError("config window " + Hex.of(cfgReg.address()) + " has size 0");
        }
        return new EcamWindow(cfgReg.address(), cfgReg.size(), busStart, busEnd);
    }

    /**
     * {@code pci_dt_bus_range}-style parse (xen/arch/arm/pci/pci-host-common.c: gen_pci_init): absent/short gives 0..0xff; otherwise each
     * cell is stored straight into a u8, and only then is the {@code end > start + 0xff} clamp
     * applied, to the truncated values, so it can never fire.
     */
    static int[] busRange(DtContext node) {
        Optional<FdtProperty> p = node.node.property("bus-range");
        if (p.isEmpty() || p.get().length() < 8) {
            LOG.info("(XEN) {}: No bus range found for pci controller; using 0x00-0xff", node.path);
            return new int[] {0, 0xff};
        }
        int start = (int) (p.get().asLong(0, 1) & 0xff);
        int end = (int) (p.get().asLong(1, 1) & 0xff);
        if (end > start + 0xff) {
            end = start + 0xff; // unreachable after the u8 truncation; kept because Xen has it
        }
        return new int[] {start, end};
    }

    /**
     * Every {@code reg} entry, translated (Xen's {@code dt_device_get_address} per index).
     *
     * @throws ProbeError if there is no {@code reg}, or an address cannot be translated
     */
    static List<RegEntry> regs(DtContext node) throws ProbeError {
        Optional<FdtProperty> p = node.node.property("reg");
        if (p.isEmpty()) {
            throw new ProbeError("no reg property");
        }
        int na = node.addressCellsForReg();
        int ns = node.sizeCellsForReg();
        if (na < 1 || na > 2 || ns > 2) {
            throw new ProbeError("unsupported #address-cells " + na + " / #size-cells " + ns);
        }
        List<String> names = node.strings("reg-names");
        int count = p.get().length() / 4 / (na + ns);
        List<RegEntry> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long addr = p.get().asLong(i * (na + ns), na);
            long size = p.get().asLong(i * (na + ns) + na, ns);
            OptionalLong t = node.translate(addr);
            if (t.isEmpty()) {
                throw new ProbeError("reg[" + i + "] " + Hex.of(addr) + " cannot be translated to a CPU address");
            }
            out.add(new RegEntry(i, t.getAsLong(), size, i < names.size() ? Optional.of(names.get(i)) : Optional.empty()));
        }
        return out;
    }

    /**
     * Parses {@code ranges}: entries of 3 PCI address cells, the parent's address cells and the
     * node's size cells; CPU addresses translated upward. A missing or malformed property gives
     * an empty list and a warning: Xen's probe never reads {@code ranges}, so it cannot fail the
     * probe; only later users (BAR checks, dom0 mappings) see nothing.
     */
    static List<PciRange> ranges(DtContext node) {
        Optional<FdtProperty> p = node.node.property("ranges");
        if (p.isEmpty()) {
            return List.of();
        }
        int na = node.ownAddressCells();
        int pna = node.addressCellsForReg();
        int ns = node.ownSizeCells();
        int entry = na + pna + ns;
        if (na != 3 || pna < 1 || pna > 2 || ns < 1 || ns > 2 || p.get().length() % (entry * 4) != 0) {
            LOG.warn("(XEN) {}: ranges not parsed (#address-cells {}, parent #address-cells {}, #size-cells {}, {} bytes)",
                    node.path, na, pna, ns, p.get().length());
            return List.of();
        }
        FdtProperty r = p.get();
        int count = r.length() / 4 / entry;
        List<PciRange> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int base = i * entry;
            int flags = (int) r.asLong(base, 1);
            long pci = r.asLong(base + 1, 2);
            long cpu = r.asLong(base + 3, pna);
            long size = r.asLong(base + 3 + pna, ns);
            OptionalLong t = node.translate(cpu);
            if (t.isEmpty()) {
                LOG.warn("(XEN) {}: ranges entry {} CPU address {} cannot be translated; skipped", node.path, i, Hex.of(cpu));
                continue;
            }
            out.add(PciRange.of(flags, pci, t.getAsLong(), size));
        }
        return out;
    }
}
