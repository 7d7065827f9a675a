package org.xenpci.armpci.platform;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.xenpci.armpci.HostBridgeNode;
import org.xenpci.armpci.PciRange;
import org.xenpci.armpci.RegEntry;
import org.xenpci.armpci.hw.ApertureKind;
import org.xenpci.armpci.hw.DesignWareRootComplex;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.InboundTranslator;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.its.ItsHardware;
import org.xenpci.armpci.its.ItsNode;
import org.xenpci.armpci.smmu.SmmuV2;
import org.xenpci.armpci.smmu.SmmuV2Driver;
import org.xenpci.armpci.smmu.SmmuV3;
import org.xenpci.armpci.hw.PciBus;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.dump.ConfigDumpException;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.core.BootException;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtException;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.pci.Sbdf;

/**
 * An assembled board: the host device tree, host RAM and one {@link HostBridgeHardware} per PCI
 * host bridge node the model has hardware for ({@code pci-host-ecam-generic},
 * {@code xlnx,nwl-pcie-2.11}), with the listed PCI functions placed on their buses, every
 * enabled GICv3 ITS node as {@link ItsHardware} (host bridges reach it through their
 * {@code msi-map} / {@code msi-parent}), every {@code arm,smmu-v3} node as {@link SmmuV3} (host
 * bridges translate their DMA through the one their {@code iommu-map} names), all registered on
 * one physical address space. Build it from a {@link PlatformFile} or in code
 * with {@link #builder(Fdt)}; then boot Xen on {@link #hardware()}.
 *
 * <p>Placement: a host bridge node's segment is its {@code linux,pci-domain}, else its position
 * among the available nodes without one (the numbering Xen and Linux use). A function on the
 * bridge's first bus sits on the root bus; one on bus B sits behind the listed bridge whose
 * secondary bus register (in its config data) is B.
 */
public final class Platform {
    /** DeviceID and EventID widths of the modelled ITSes (QEMU's GITS_TYPER: 16 and 16). */
    public static final int ITS_ID_BITS = 16;

    /** Host bridge compatibles the hardware model implements. */
    public static final List<String> MODELLED = List.of("pci-host-ecam-generic", "xlnx,nwl-pcie-2.11",
            "renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");

    /** The DesignWare (R-Car Gen4) compatibles among {@link #MODELLED}. */
    public static final List<String> DESIGNWARE = List.of("renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");

    private final Fdt hostDeviceTree;
    private final String cmdline;
    private final Hardware hardware;
    private final Map<String, HostBridgeHardware> hostBridges;
    private final Map<Sbdf, PciFunction> functions;

    private Platform(Fdt fdt, String cmdline, Hardware hw, Map<String, HostBridgeHardware> bridges,
            Map<Sbdf, PciFunction> functions) {
        this.hostDeviceTree = fdt;
        this.cmdline = cmdline;
        this.hardware = hw;
        this.hostBridges = Collections.unmodifiableMap(bridges);
        this.functions = Collections.unmodifiableMap(functions);
    }

    /** The host device tree firmware hands to Xen. */
    public Fdt hostDeviceTree() {
        return hostDeviceTree;
    }

    /** The Xen command line the platform was described with. */
    public String cmdline() {
        return cmdline;
    }

    /** The hardware to boot Xen on. */
    public Hardware hardware() {
        return hardware;
    }

    /** Host bridge hardware by DT node path, in DT order. */
    public Map<String, HostBridgeHardware> hostBridges() {
        return hostBridges;
    }

    /** Every placed function by the address the platform gave it. */
    public Map<Sbdf, PciFunction> functions() {
        return functions;
    }

    /**
     * The function placed at {@code sbdf}, else the SR-IOV virtual function that answers there now
     * (VFs come and go with their PF's VF Enable, so they are not placed), if any.
     */
    public Optional<PciFunction> function(Sbdf sbdf) {
        PciFunction placed = functions.get(sbdf);
        if (placed != null) {
            return Optional.of(placed);
        }
        int rid = sbdf.bus() << 8 | sbdf.devfn();
        for (Map.Entry<Sbdf, PciFunction> e : functions.entrySet()) {
            if (e.getKey().segment() != sbdf.segment() || e.getValue().sriov().isEmpty()) {
                continue;
            }
            for (PciFunction vf : e.getValue().sriov().get().virtualFunctions()) {
                if (vf.requesterId() == rid) {
                    return Optional.of(vf);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Assembles a platform file's board.
     *
     * @throws PlatformFileException naming file, field and value for any problem
     */
    public static Platform build(PlatformFile file) {
        String src = file.source();
        Fdt fdt;
        try {
            fdt = FdtReader.read(file.hostDtb());
        } catch (FdtException e) {
            throw new PlatformFileException(src, "/hostDtb", null, "malformed DTB: " + e.getMessage(), e);
        }
        Builder b = builder(fdt).cmdline(file.cmdline());
        for (int i = 0; i < file.devices().size(); i++) {
            PlatformFile.DeviceEntry d = file.devices().get(i);
            String at = "/devices/" + i;
            byte[] config;
            try {
                config = decodeConfig(d.config());
            } catch (ConfigDumpException e) {
                throw new PlatformFileException(src, at + "/config", d.configSource(), e.getMessage(), e);
            }
            PciFunction f;
            try {
                f = PciFunction.fromConfig(config, d.barSizes(), d.romSize());
                DeviceCatalog.installDeviceModel(f);
            } catch (HardwareConfigException e) {
                throw new PlatformFileException(src, at + "/bars", d.barSizes().toString(), e.getMessage(), e);
            }
            b.device(d.sbdf(), f, at);
        }
        try {
            return b.build();
        } catch (PlacementException e) {
            throw new PlatformFileException(src, e.field + "/sbdf", e.sbdf.toString(), e.getMessage(), e);
        } catch (BootException e) {
            throw new PlatformFileException(src, "/hostDtb", null, "unusable device tree: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new PlatformFileException(src, "", null, e.getMessage(), e);
        }
    }

    /** A config file's bytes: {@code lspci -xxxx} text if it is printable text, else a binary dump. */
    static byte[] decodeConfig(byte[] raw) {
        boolean text = raw.length > 0;
        for (byte c : raw) {
            if (!(c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f))) {
                text = false;
                break;
            }
        }
        if (text && raw.length != 256 && raw.length != 4096) {
            return ConfigDumps.parseLspci(new String(raw, java.nio.charset.StandardCharsets.US_ASCII));
        }
        if (text) {
            // A dump of exactly 256 or 4096 printable bytes is ambiguous; text that parses wins.
            try {
                return ConfigDumps.parseLspci(new String(raw, java.nio.charset.StandardCharsets.US_ASCII));
            } catch (ConfigDumpException e) {
                return ConfigDumps.readBinary(raw);
            }
        }
        return ConfigDumps.readBinary(raw);
    }

    /** Starts a platform in code on a host device tree. */
    public static Builder builder(Fdt hostDeviceTree) {
        return new Builder(hostDeviceTree);
    }

    /** A device that cannot be placed (no host bridge for its segment, no bridge for its bus). */
    public static final class PlacementException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final transient Sbdf sbdf;
        private final String field;

        PlacementException(Sbdf sbdf, String field, String message) {
            super(message);
            this.sbdf = sbdf;
            this.field = field;
        }

        /** The device that could not be placed. */
        public Sbdf sbdf() {
            return sbdf;
        }
    }

    /** Assembles a platform in code. */
    public static final class Builder {
        private final Fdt fdt;
        private String cmdline = PlatformFile.DEFAULT_CMDLINE;
        private final Map<Sbdf, PciFunction> devices = new LinkedHashMap<>();
        private final Map<Sbdf, String> fields = new LinkedHashMap<>();

        private Builder(Fdt fdt) {
            this.fdt = Objects.requireNonNull(fdt, "fdt");
        }

        public Builder cmdline(String c) {
            cmdline = Objects.requireNonNull(c, "cmdline");
            return this;
        }

        /** Places a function at {@code sbdf} (see the class comment for how buses are resolved). */
        public Builder device(Sbdf sbdf, PciFunction function) {
            return device(sbdf, function, sbdf.toString());
        }

        Builder device(Sbdf sbdf, PciFunction function, String field) {
            if (devices.putIfAbsent(sbdf, function) != null) {
                throw new PlacementException(sbdf, field, "device " + sbdf + " placed twice");
            }
            fields.put(sbdf, field);
            return this;
        }

        /**
         * Builds the hardware and registers it on a new physical address space.
         *
         * @throws PlacementException if a device has no host bridge or no bridge routes its bus
         * @throws BootException naming the node and property if the device tree describes RAM,
         *     an ITS or a host bridge the hardware model cannot build (a malformed value, regions
         *     that overlap)
         */
        public Platform build() {
            PhysicalAddressSpace space = new PhysicalAddressSpace();
            Hardware hw = new Hardware(fdt, space);
            // Every enabled GICv3 ITS of the DT is hardware the host bridges can send MSIs to.
            Map<Integer, ItsHardware> itsByPhandle = new LinkedHashMap<>();
            for (ItsNode n : ItsNode.find(fdt)) {
                ItsHardware its;
                try {
                    its = new ItsHardware(n.base(), ITS_ID_BITS, ITS_ID_BITS);
                    its.attach(space);
                } catch (IllegalArgumentException e) {
                    throw BootException.badProperty(n.path(), "reg", "ITS frame cannot be placed: " + e.getMessage(), e);
                }
                itsByPhandle.put(n.phandle(), its);
            }
            // Every arm,smmu-v3 node is an SMMU the host bridges' iommu-map can name (whether Xen
            // then takes it is Xen's business: a disabled node's SMMU stays in bypass).
            Map<Integer, InboundTranslator> smmuByPhandle = new LinkedHashMap<>();
            fdt.forEachNode((path, node) -> BootException.readingNode(path, () -> {
                List<String> compat = node.property("compatible").map(FdtProperty::asStringList).orElse(List.of());
                boolean v3 = compat.contains("arm,smmu-v3");
                SmmuV2.Version v2 = compat.stream().map(SmmuV2Driver.COMPATIBLES::get).filter(java.util.Objects::nonNull)
                        .findFirst().orElse(null);
                long[] reg = v3 || v2 != null ? firstReg(fdt, path, node) : null;
                if (reg == null) {
                    return null;
                }
                InboundTranslator s;
                try {
                    s = v3 ? new SmmuV3(path, node.phandle().orElse(0), reg[0], reg[1]) : smmuV2(fdt, path, node, v2, reg);
                } catch (IllegalArgumentException e) {
                    throw BootException.badProperty(path, "reg", "SMMU cannot be built: " + e.getMessage(), e);
                }
                try {
                    if (s instanceof SmmuV3 s3) {
                        s3.attach(space);
                    } else {
                        ((SmmuV2) s).attach(space);
                    }
                } catch (IllegalArgumentException e) {
                    throw BootException.badProperty(path, "reg", "SMMU register frame cannot be placed: " + e.getMessage(), e);
                }
                if (node.phandle().isPresent()) {
                    smmuByPhandle.put(node.phandle().getAsInt(), s);
                }
                return null;
            }));
            Map<String, HostBridgeHardware> bridges = new LinkedHashMap<>();
            Map<Integer, Boolean> segmentUsed = new TreeMap<>();
            int auto = 0;
            java.util.Set<Sbdf> placed = new java.util.HashSet<>();
            // Listed devices per (segment, bus), in listing order: placeBus visits each bus once.
            Map<Integer, List<Map.Entry<Sbdf, PciFunction>>> byBus = new java.util.HashMap<>();
            for (Map.Entry<Sbdf, PciFunction> e : devices.entrySet()) {
                byBus.computeIfAbsent(e.getKey().segment() << 8 | e.getKey().bus(), k -> new ArrayList<>()).add(e);
            }
            List<String> notBuilt = new ArrayList<>();
            for (HostBridgeNode node : HostBridgeNode.scan(fdt)) {
                if (node.compatible().stream().noneMatch(MODELLED::contains)) {
                    notBuilt.add(node.path() + " (compatible " + String.join(", ", node.compatible())
                            + ": no host bridge model; modelled: " + String.join(", ", MODELLED) + ")");
                    continue;
                }
                Optional<RegEntry> cfg = node.configRegion();
                if (cfg.isEmpty()) {
                    notBuilt.add(node.path() + " (no config window in its reg)");
                    continue; // no config window described: nothing to build (Xen's probe fails too)
                }
                int segment;
                if (node.pciDomain().isPresent()) {
                    segment = node.pciDomain().getAsInt();
                } else if (node.available()) {
                    segment = auto++;
                } else {
                    segment = -1; // a disabled node without a domain number: hardware, but nothing placed on it
                }
                String at = node.path();
                HostBridgeHardware.Builder hb = HostBridgeHardware.builder()
                        .name(at.substring(at.lastIndexOf('/') + 1));
                boolean dw = node.compatible().stream().anyMatch(DESIGNWARE::contains);
                if (dw) {
                    hostBridgeProperty(at, "reg-names", () -> hb.designWare(new DesignWareRootComplex.Regions(
                            named(node, "dbi").address(), named(node, "dbi").size(), named(node, "atu").address(),
                            named(node, "atu").size(), named(node, "app").address(), named(node, "app").size(),
                            named(node, "config").address(), named(node, "config").size())));
                } else {
                    hostBridgeProperty(at, "reg", () -> hb.ecam(cfg.get().address(), cfg.get().size()));
                }
                hostBridgeProperty(at, "bus-range", () -> hb.firstBus(node.busStart()));
                for (PciRange r : node.ranges()) {
                    ApertureKind kind = kindOf(r);
                    // DesignWare I/O space goes through an iATU region shared with the config
                    // window (the R-Car DT puts both at the same CPU address): not modelled.
                    if (kind != null && !(dw && kind == ApertureKind.IO)) {
                        hostBridgeProperty(at, "ranges",
                                () -> hb.aperture(r.cpuAddress(), r.pciAddress(), r.size(), kind, r.prefetchable()));
                    }
                }
                Optional<int[]> msiMap = cells(node, "msi-map");
                Optional<int[]> msiParent = cells(node, "msi-parent");
                if (msiMap.isPresent() || msiParent.isPresent()) {
                    hostBridgeProperty(at, msiMap.isPresent() ? "msi-map" : "msi-parent", () -> hb.msiMap(
                            MsiMap.of(msiMap.orElse(null), cells(node, "msi-map-mask").orElse(null), msiParent.orElse(null))));
                    itsByPhandle.forEach(hb::msiController);
                }
                Optional<int[]> iommuMap = cells(node, "iommu-map");
                if (iommuMap.isPresent()) {
                    hostBridgeProperty(at, "iommu-map",
                            () -> hb.iommuMap(iommuMap.get(), cells(node, "iommu-map-mask").orElse(null)));
                    smmuByPhandle.forEach(hb::iommu);
                }
                if (dw && segment >= 0) {
                    for (Sbdf s : devices.keySet()) {
                        if (s.segment() == segment && s.bus() == node.busStart() && (s.device() != 0 || !devices.get(s).isBridge())) {
                            throw new PlacementException(s, fields.get(s), "device " + s + ": the root bus of DesignWare host bridge "
                                    + at + " holds only its root port, a bridge at device 0");
                        }
                    }
                }
                if (segment >= 0 && segmentUsed.putIfAbsent(segment, true) == null) {
                    placeBus(segment, node.busStart(), new BusTarget() {
                        @Override
                        public void slot(int dev, int fn, PciFunction f) {
                            hb.slot(dev, fn, f);
                        }

                        @Override
                        public void bridge(int dev, int fn, PciFunction f, PciBus.Builder subtree) {
                            hb.bridge(dev, fn, f, subtree);
                        }
                    }, placed, byBus, 0);
                }
                HostBridgeHardware[] built = new HostBridgeHardware[1];
                hostBridgeProperty(at, "reg", () -> {
                    built[0] = hb.build();
                    built[0].attach(space);
                });
                bridges.put(node.path(), built[0]);
            }
            for (Sbdf s : devices.keySet()) {
                if (!placed.contains(s)) {
                    boolean segmentKnown = segmentUsed.containsKey(s.segment());
                    throw new PlacementException(s, fields.get(s), segmentKnown
                            ? "device " + s + ": no listed bridge has secondary bus " + String.format("%02x", s.bus())
                            : "device " + s + ": no host bridge in the device tree has segment " + s.segment()
                                    + (notBuilt.isEmpty() ? "" : "; host bridge nodes not built: " + String.join("; ", notBuilt)));
                }
            }
            return new Platform(fdt, cmdline, hw, bridges, new LinkedHashMap<>(devices));
        }

        /**
         * Runs one step of building a host bridge from its node; a value the hardware model
         * refuses (an ECAM window that is not a whole number of buses, an aperture or window that
         * overlaps another region, a malformed msi-map) becomes a {@link BootException} naming
         * the node and the property it came from.
         */
        private static void hostBridgeProperty(String nodePath, String property, Runnable step) {
            try {
                BootException.readingNode(nodePath, () -> {
                    step.run();
                    return null;
                });
            } catch (PlacementException e) {
                throw e;
            } catch (IllegalArgumentException e) {
                throw BootException.badProperty(nodePath, property, e.getMessage(), e);
            }
        }

        private interface BusTarget {
            void slot(int dev, int fn, PciFunction f);

            void bridge(int dev, int fn, PciFunction f, PciBus.Builder subtree);
        }

        private void placeBus(int segment, int bus, BusTarget target, java.util.Set<Sbdf> placed,
                Map<Integer, List<Map.Entry<Sbdf, PciFunction>>> byBus, int depth) {
            if (depth > 256) {
                return; // a bus loop in the listed bridges' registers
            }
            for (Map.Entry<Sbdf, PciFunction> e : byBus.getOrDefault(segment << 8 | bus, List.of())) {
                Sbdf s = e.getKey();
                if (placed.contains(s)) {
                    continue;
                }
                PciFunction f = e.getValue();
                placed.add(s);
                int secondary = f.isBridge() ? f.secondaryBus() : 0;
                if (f.isBridge() && secondary > bus) {
                    PciBus.Builder sub = PciBus.builder();
                    placeBus(segment, secondary, new BusTarget() {
                        @Override
                        public void slot(int dev, int fn, PciFunction g) {
                            sub.slot(dev, fn, g);
                        }

                        @Override
                        public void bridge(int dev, int fn, PciFunction g, PciBus.Builder subtree) {
                            sub.bridge(dev, fn, g, subtree);
                        }
                    }, placed, byBus, depth + 1);
                    target.bridge(s.device(), s.function(), f, sub);
                } else if (f.isBridge()) {
                    target.bridge(s.device(), s.function(), f, PciBus.builder());
                } else {
                    target.slot(s.device(), s.function(), f);
                }
            }
        }

        /** The first (base, size) of a node's {@code reg}, with its parent's cell counts; null if none. */
        /**
         * An SMMUv1/v2 for the node. The DT does not describe the ID registers: the model takes
         * 15 stream ID bits, 48 stream match groups for v2 (MMU-500's usual configuration) and
         * 32 for v1, and as many context banks as the node has context interrupts beyond
         * {@code #global-interrupts} (what Xen's probe requires of a v2), else 8, capped by the
         * frame's context bank pages (4 KiB, or 64 KiB for a frame above 2 MiB) and 128.
         */
        private static SmmuV2 smmuV2(Fdt fdt, String path, FdtNode node, SmmuV2.Version version, long[] reg) {
            int global = node.u32("#global-interrupts").orElse(1);
            int ctx = SmmuV2Driver.interruptCount(fdt, node) - global;
            long pages = Long.bitCount(reg[1]) == 1 ? Math.max(1, (reg[1] / 2) >> SmmuV2.pageShift(reg[1])) : 1;
            int banks = (int) Math.min(Math.min(ctx > 0 ? ctx : 8, pages), SmmuV2.MAX_CONTEXT_BANKS);
            return new SmmuV2(path, node.phandle().orElse(0), version, reg[0], reg[1], 15,
                    version == SmmuV2.Version.V2 ? 48 : 32, banks);
        }

        private static long[] firstReg(Fdt fdt, String path, FdtNode node) {
            int slash = path.lastIndexOf('/');
            FdtNode parent = fdt.node(slash <= 0 ? "/" : path.substring(0, slash)).orElse(fdt.root());
            int ac = parent.u32("#address-cells").orElse(2);
            int sc = parent.u32("#size-cells").orElse(1);
            Optional<FdtProperty> reg = node.property("reg");
            if (reg.isEmpty() || reg.get().cellCount() < ac + sc) {
                return null;
            }
            long size = reg.get().asLong(ac, sc);
            return size > 0 ? new long[] {reg.get().asLong(0, ac), size} : null;
        }

        /** The {@code reg} entry named {@code name}; a node without one cannot be built. */
        private static RegEntry named(HostBridgeNode node, String name) {
            return node.regs().stream().filter(r -> r.name().filter(name::equals).isPresent()).findFirst()
                    .orElseThrow(() -> new HardwareConfigException("no reg entry named \"" + name + "\""));
        }

        private static Optional<int[]> cells(HostBridgeNode node, String name) {
            return BootException.readingNode(node.path(), () -> node.node().property(name).map(p -> p.asCells()));
        }

        private static ApertureKind kindOf(PciRange r) {
            switch (r.space()) {
                case IO:
                    return ApertureKind.IO;
                case MEM32:
                    return ApertureKind.MEM32;
                case MEM64:
                    return ApertureKind.MEM64;
                default:
                    return null;
            }
        }
    }
}
