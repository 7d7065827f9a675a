package org.xenpci.libxl.dt;

import static org.xenpci.libxl.dt.GuestMemoryMap.DT_IRQ_TYPE_LEVEL_HIGH;
import static org.xenpci.libxl.dt.GuestMemoryMap.DT_IRQ_TYPE_LEVEL_LOW;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_EVTCHN_PPI;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_PHANDLE_GIC;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_ROOT_ADDRESS_CELLS;
import static org.xenpci.libxl.dt.GuestMemoryMap.GUEST_ROOT_SIZE_CELLS;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.libxl.config.GicVersion;
import org.xenpci.libxl.config.VuartType;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.dt.VpciNodeExtras.MsiMap;

/**
 * Builds an Arm guest's device tree the way libxl does ({@code libxl__prepare_dtb} followed by
 * {@code libxl__arch_domain_finalise_hw_description}, tools/libs/light/libxl_arm.c; spec
 * tools/libs/light/libxl_arm.c: libxl__prepare_dtb, make_vpci_node): same nodes, same order, same property order, same cell values.
 * The result is the finalised tree: memory nodes carry their populated size, a NOP-ed (empty)
 * bank is simply absent, and {@code /hypervisor/reg} holds the grant table plus the extended
 * regions.
 *
 * <p>Root node order ({@code libxl__prepare_dtb}): root properties, {@code chosen}, {@code cpus}, {@code psci},
 * {@code memory@40000000}, {@code memory@200000000} (if bank 1 is populated),
 * {@code interrupt-controller@3001000}, {@code timer}, {@code hypervisor}, {@code sbsa-pl011}
 * (vuart = "sbsa_uart"), {@code pcie@10000000} (at least one pci= entry). Not modelled:
 * ACPI module, OP-TEE, virtio-mmio, xen_iommu and the partial device tree copy.
 *
 * <p>A builder is not thread-safe; the trees it builds are immutable.
 */
public final class GuestDtBuilder {
    /** Node name of the guest vPCI host bridge: {@code pcie@<GUEST_VPCI_ECAM_BASE>}. */
    public static final String VPCI_NODE_NAME = "pcie@" + Long.toHexString(GuestMemoryMap.GUEST_VPCI_ECAM_BASE);

    private final XlConfig config;
    private int xenMajor = 4;
    private int xenMinor = 23;
    private GuestArch arch = GuestArch.AARCH64;
    private GicVersion hostGicVersion = GicVersion.V3;
    private int gpaddrBits = 40;
    private RngSeedSource rng = RngSeedSource.seeded(0);
    private OptionalInt clockFrequency = OptionalInt.empty();
    private long initrdStart;
    private long initrdEnd;
    private List<AddressRange> iomem = List.of();
    private VpciNodeExtras vpciExtras = VpciNodeExtras.NONE;
    private boolean hypervisorUnitAddress;

    private GuestDtBuilder(XlConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /**
     * Starts a builder for a parsed config. Inputs taken from it: cmdline, ramdisk,
     * max vCPUs, max memory, gic_version, vuart and whether pci= has entries.
     *
     * @param config the domain config
     * @return a builder with defaults: Xen 4.23, aarch64, host GIC v3, gpaddr_bits 40,
     *         rng-seed from {@code RngSeedSource.seeded(0)}, no clock-frequency, no iomem,
     *         upstream vPCI node
     */
    public static GuestDtBuilder forConfig(XlConfig config) {
        return new GuestDtBuilder(config);
    }

    /**
     * Sets the Xen version in {@code model}, {@code compatible} and the hypervisor node.
     *
     * @param major e.g. 4
     * @param minor e.g. 23
     * @return this builder
     */
    public GuestDtBuilder xenVersion(int major, int minor) {
        this.xenMajor = major;
        this.xenMinor = minor;
        return this;
    }

    /**
     * Sets the guest architecture.
     *
     * @param arch aarch64 or armv7l
     * @return this builder
     */
    public GuestDtBuilder arch(GuestArch arch) {
        this.arch = Objects.requireNonNull(arch, "arch");
        return this;
    }

    /**
     * Sets the GIC version used when the config leaves gic_version at its default ("native").
     *
     * @param v {@link GicVersion#V2} or {@link GicVersion#V3}
     * @return this builder
     */
    public GuestDtBuilder hostGicVersion(GicVersion v) {
        if (v == GicVersion.DEFAULT) {
            throw new IllegalArgumentException("host GIC version must be V2 or V3");
        }
        this.hostGicVersion = v;
        return this;
    }

    /**
     * Sets the domain's guest physical address width, which bounds extended regions.
     *
     * @param bits 32..64
     * @return this builder
     */
    public GuestDtBuilder gpaddrBits(int bits) {
        if (bits < 32 || bits > 64) {
            throw new IllegalArgumentException("gpaddr_bits " + bits + " outside 32..64");
        }
        this.gpaddrBits = bits;
        return this;
    }

    /**
     * Sets where {@code /chosen/rng-seed} comes from.
     *
     * @param source the source
     * @return this builder
     */
    public GuestDtBuilder rngSeed(RngSeedSource source) {
        this.rng = Objects.requireNonNull(source, "source");
        return this;
    }

    /**
     * Sets the timer {@code clock-frequency} Xen reported (absent by default, as when Xen
     * reports 0).
     *
     * @param hz frequency in Hz
     * @return this builder
     */
    public GuestDtBuilder clockFrequency(int hz) {
        this.clockFrequency = hz == 0 ? OptionalInt.empty() : OptionalInt.of(hz);
        return this;
    }

    /**
     * Sets the loaded ramdisk's guest addresses, written into {@code linux,initrd-start/-end}
     * when the config has a ramdisk (zero placeholders otherwise).
     *
     * @param start first byte
     * @param end   end address as libxl writes it ({@code vend})
     * @return this builder
     */
    public GuestDtBuilder initrd(long start, long end) {
        this.initrdStart = start;
        this.initrdEnd = end;
        return this;
    }

    /**
     * Sets guest ranges of {@code iomem=} mappings, excluded from extended regions.
     *
     * @param ranges the ranges
     * @return this builder
     */
    public GuestDtBuilder iomem(List<AddressRange> ranges) {
        this.iomem = List.copyOf(ranges);
        return this;
    }

    /**
     * Sets what a non-upstream profile adds to the vPCI node; {@link VpciNodeExtras#NONE}
     * (the default) gives upstream's exact bytes.
     *
     * @param extras the additions
     * @return this builder
     */
    public GuestDtBuilder vpciExtras(VpciNodeExtras extras) {
        this.vpciExtras = Objects.requireNonNull(extras, "extras");
        return this;
    }

    /**
     * Names the hypervisor node {@code hypervisor@38000000} instead of libxl's plain
     * {@code hypervisor}, which dtc reports as {@code unit_address_vs_reg} (the node has a
     * {@code reg}). Guests find the node by its compatible ({@code xen,xen}), so the name does
     * not matter to them. Default false: libxl's exact bytes; the toolstack model turns it on.
     */
    public GuestDtBuilder hypervisorUnitAddress(boolean on) {
        this.hypervisorUnitAddress = on;
        return this;
    }

    /**
     * Returns the RAM layout the tree describes: {@code max_memkb} split over the banks.
     *
     * @return the layout
     */
    public GuestRamLayout ramLayout() {
        return GuestRamLayout.split(config.maxMemkbResolved() * 1024);
    }

    /**
     * Builds the finalised guest device tree.
     *
     * @return the tree
     * @throws IllegalArgumentException if the config asks for more than
     *                                  {@link GuestMemoryMap#GUEST_MAX_VCPUS} vCPUs or more than
     *                                  {@link GuestMemoryMap#GUEST_RAM_MAX} bytes of RAM
     */
    public Fdt build() {
        int vcpus = config.maxVcpusResolved();
        if (vcpus < 1 || vcpus > GuestMemoryMap.GUEST_MAX_VCPUS) {
            throw new IllegalArgumentException("max_vcpus " + vcpus + " outside 1..GUEST_MAX_VCPUS ("
                    + GuestMemoryMap.GUEST_MAX_VCPUS + ")");
        }
        GuestRamLayout ram = ramLayout();
        GicVersion gic = config.gicVersion() == GicVersion.DEFAULT ? hostGicVersion : config.gicVersion();

        FdtNode.Builder root = FdtNode.root();
        // make_root_properties
        root.property(FdtProperty.string("model", "XENVM-" + xenMajor + "." + xenMinor));
        root.property(FdtProperty.strings("compatible", "xen,xenvm-" + xenMajor + "." + xenMinor, "xen,xenvm"));
        root.property(FdtProperty.u32("interrupt-parent", GUEST_PHANDLE_GIC));
        root.property(FdtProperty.u32("#address-cells", GUEST_ROOT_ADDRESS_CELLS));
        root.property(FdtProperty.u32("#size-cells", GUEST_ROOT_SIZE_CELLS));

        root.child(chosenNode());
        root.child(cpusNode(vcpus));
        root.child(psciNode());
        for (int bank = 0; bank < GuestMemoryMap.GUEST_RAM_BANKS; bank++) {
            // finalise_one_node: an empty bank's placeholder is NOP-ed, i.e. absent from the tree.
            if (ram.bankSize(bank) != 0) {
                long base = GuestMemoryMap.ramBank(bank).start();
                root.child(FdtNode.builder("memory@" + Long.toHexString(base))
                        .property(FdtProperty.string("device_type", "memory"))
                        .property(FdtProperty.u64("reg", base, ram.bankSize(bank))).build());
            }
        }
        root.child(gicNode(gic));
        root.child(timerNode());
        root.child(hypervisorNode(ram));
        if (config.vuart() == VuartType.SBSA_UART) {
            root.child(pl011Node());
        }
        if (!config.pciDevices().isEmpty()) {
            // libxl_arm.c: the vPCI node is present iff at least one pci= entry, independent of everything else.
            root.child(vpciNode(vpciExtras));
        }
        return Fdt.of(root.build());
    }

    /**
     * Returns the guest vPCI host-bridge node with the given additions: the 8 upstream
     * properties of {@code make_vpci_node} in order, then (non-upstream only) {@code msi-map}.
     *
     * @param extras additions; {@link VpciNodeExtras#NONE} for upstream's node
     * @return the {@code pcie@10000000} node
     */
    public static FdtNode vpciNode(VpciNodeExtras extras) {
        FdtNode.Builder n = FdtNode.builder(VPCI_NODE_NAME)
                .property(FdtProperty.string("compatible", "pci-host-ecam-generic"))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.u64("reg", GuestMemoryMap.GUEST_VPCI_ECAM_BASE, GuestMemoryMap.GUEST_VPCI_ECAM_SIZE))
                .property(FdtProperty.u32("bus-range", 0, 0xff))
                .property(FdtProperty.u32("#address-cells", 3))
                .property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.string("status", "okay"))
                .property(FdtProperty.u32("ranges", rangesCells()));
        extras.msiMap().ifPresent(m -> n.property(msiMapProperty(m)));
        return n.build();
    }

    /** {@code make_vpci_node}'s {@code ranges}: two 7-cell entries, 1:1 bus to CPU addresses; only the flag's low 32 bits matter. */
    private static int[] rangesCells() {
        List<Integer> cells = new ArrayList<>(14);
        addRange(cells, GuestMemoryMap.GUEST_VPCI_ADDR_TYPE_MEM, GuestMemoryMap.GUEST_VPCI_MEM_ADDR,
                GuestMemoryMap.GUEST_VPCI_MEM_SIZE);
        addRange(cells, GuestMemoryMap.GUEST_VPCI_ADDR_TYPE_PREFETCH_MEM, GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_ADDR,
                GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_SIZE);
        return cells.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void addRange(List<Integer> cells, int physHi, long addr, long size) {
        cells.add(physHi);
        addU64(cells, addr); // PCI bus address
        addU64(cells, addr); // CPU address, identical
        addU64(cells, size);
    }

    private static void addU64(List<Integer> cells, long v) {
        cells.add((int) (v >>> 32));
        cells.add((int) v);
    }

    private static FdtProperty msiMapProperty(MsiMap m) {
        return FdtProperty.u32("msi-map", m.ridBase(), m.controllerPhandle(), m.msiBase(), m.length());
    }

    private FdtNode chosenNode() {
        FdtNode.Builder n = FdtNode.builder("chosen");
        config.cmdline().ifPresent(c -> n.property(FdtProperty.string("bootargs", c)));
        if (config.ramdisk().isPresent()) {
            n.property(FdtProperty.u64("linux,initrd-start", initrdStart));
            n.property(FdtProperty.u64("linux,initrd-end", initrdEnd));
        }
        byte[] seed = rng.seed(RngSeedSource.RNG_SEED_BYTES);
        if (seed.length != RngSeedSource.RNG_SEED_BYTES) {
            throw new IllegalStateException("RngSeedSource returned " + seed.length + " bytes, expected "
                    + RngSeedSource.RNG_SEED_BYTES);
        }
        n.property(FdtProperty.bytes("rng-seed", seed));
        return n.build();
    }

    /** make_cpus_node: one {@code cpu@<mpidr>} per vCPU up to max_vcpus. */
    private FdtNode cpusNode(int vcpus) {
        FdtNode.Builder n = FdtNode.builder("cpus")
                .property(FdtProperty.u32("#address-cells", 1))
                .property(FdtProperty.u32("#size-cells", 0));
        for (int i = 0; i < vcpus; i++) {
            int mpidr = mpidr(i);
            n.child(FdtNode.builder("cpu@" + Integer.toHexString(mpidr))
                    .property(FdtProperty.string("device_type", "cpu"))
                    .property(FdtProperty.string("compatible", arch.cpuCompatible()))
                    .property(FdtProperty.string("enable-method", "psci"))
                    .property(FdtProperty.u32("reg", mpidr)).build());
        }
        return n.build();
    }

    /**
     * Returns the MPIDR affinity libxl gives vCPU {@code i}: Aff0 = i[3:0], Aff1 = i[11:4].
     *
     * @param vcpu vCPU index
     * @return {@code (i & 0xf) | ((i >> 4) & 0xff) << 8}
     */
    public static int mpidr(int vcpu) {
        return (vcpu & 0xf) | (((vcpu >> 4) & 0xff) << 8);
    }

    private static FdtNode psciNode() {
        return FdtNode.builder("psci")
                .property(FdtProperty.strings("compatible", "arm,psci-1.0", "arm,psci-0.2", "arm,psci"))
                .property(FdtProperty.string("method", "hvc"))
                .property(FdtProperty.u32("cpu_off", GuestMemoryMap.PSCI_CPU_OFF))
                .property(FdtProperty.u32("cpu_on", GuestMemoryMap.PSCI_CPU_ON)).build();
    }

    private FdtNode gicNode(GicVersion gic) {
        long gicd = GuestMemoryMap.GUEST_GICD_BASE;
        FdtNode.Builder n = FdtNode.builder("interrupt-controller@" + Long.toHexString(gicd));
        if (gic == GicVersion.V2) {
            n.property(FdtProperty.strings("compatible", "arm,cortex-a15-gic", "arm,cortex-a9-gic"));
        } else {
            n.property(FdtProperty.string("compatible", "arm,gic-v3"));
        }
        boolean withIts = vpciExtras.itsNode().isPresent() && !config.pciDevices().isEmpty();
        n.property(FdtProperty.u32("#interrupt-cells", 3));
        if (withIts) {
            // An ITS child needs a real address space below the GIC (as QEMU's virt GIC node has):
            // 2/2 cells and an identity ranges. libxl's 0 address cells only serve interrupt-map
            // parents, and a guest DT has no interrupt-map (full profile only; upstream unchanged).
            n.property(FdtProperty.u32("#address-cells", 2));
            n.property(FdtProperty.u32("#size-cells", 2));
            n.property(FdtProperty.empty("ranges"));
        } else {
            n.property(FdtProperty.u32("#address-cells", 0));
        }
        n.property(FdtProperty.empty("interrupt-controller"));
        if (gic == GicVersion.V2) {
            n.property(FdtProperty.u64("reg", GuestMemoryMap.GUEST_GICD_BASE, GuestMemoryMap.GUEST_GICD_SIZE,
                    GuestMemoryMap.GUEST_GICC_BASE, GuestMemoryMap.GUEST_GICC_SIZE));
        } else {
            n.property(FdtProperty.u64("reg", GuestMemoryMap.GUEST_GICV3_GICD_BASE, GuestMemoryMap.GUEST_GICV3_GICD_SIZE,
                    GuestMemoryMap.GUEST_GICV3_GICR0_BASE, GuestMemoryMap.GUEST_GICV3_GICR0_SIZE));
        }
        n.property(FdtProperty.u32("linux,phandle", GUEST_PHANDLE_GIC));
        n.property(FdtProperty.u32("phandle", GUEST_PHANDLE_GIC));
        if (withIts) {
            n.child(vpciExtras.itsNode().get());
        }
        return n.build();
    }

    private FdtNode timerNode() {
        FdtNode.Builder n = FdtNode.builder("timer")
                .property(FdtProperty.string("compatible", arch.timerCompatible()))
                .property(FdtProperty.u32("interrupts", concat(
                        interrupt(GuestMemoryMap.GUEST_TIMER_PHYS_S_PPI, DT_IRQ_TYPE_LEVEL_LOW),
                        interrupt(GuestMemoryMap.GUEST_TIMER_PHYS_NS_PPI, DT_IRQ_TYPE_LEVEL_LOW),
                        interrupt(GuestMemoryMap.GUEST_TIMER_VIRT_PPI, DT_IRQ_TYPE_LEVEL_LOW))))
                .property(FdtProperty.u32("interrupt-parent", GUEST_PHANDLE_GIC));
        clockFrequency.ifPresent(f -> n.property(FdtProperty.u32("clock-frequency", f)));
        return n.build();
    }

    private FdtNode hypervisorNode(GuestRamLayout ram) {
        List<AddressRange> ext = ram.extendedRegions(gpaddrBits, iomem);
        long[] reg = new long[2 + 2 * ext.size()];
        reg[0] = GuestMemoryMap.GUEST_GNTTAB_BASE;
        reg[1] = GuestMemoryMap.GUEST_GNTTAB_SIZE;
        for (int i = 0; i < ext.size(); i++) {
            reg[2 + 2 * i] = ext.get(i).start();
            reg[3 + 2 * i] = ext.get(i).size();
        }
        return FdtNode.builder(hypervisorUnitAddress
                ? "hypervisor@" + Long.toHexString(GuestMemoryMap.GUEST_GNTTAB_BASE) : "hypervisor")
                .property(FdtProperty.strings("compatible", "xen,xen-" + xenMajor + "." + xenMinor, "xen,xen"))
                .property(FdtProperty.u64("reg", reg))
                .property(FdtProperty.u32("interrupts", interrupt(GUEST_EVTCHN_PPI, DT_IRQ_TYPE_LEVEL_LOW)))
                .property(FdtProperty.u32("interrupt-parent", GUEST_PHANDLE_GIC)).build();
    }

    private static FdtNode pl011Node() {
        return FdtNode.builder("sbsa-pl011")
                .property(FdtProperty.string("compatible", "arm,sbsa-uart"))
                .property(FdtProperty.u64("reg", GuestMemoryMap.GUEST_PL011_BASE, GuestMemoryMap.GUEST_PL011_SIZE))
                .property(FdtProperty.u32("interrupts", interrupt(GuestMemoryMap.GUEST_VPL011_SPI, DT_IRQ_TYPE_LEVEL_HIGH)))
                .property(FdtProperty.u32("interrupt-parent", GUEST_PHANDLE_GIC))
                .property(FdtProperty.u32("current-speed", 115200)).build();
    }

    /**
     * Encodes a GIC interrupt specifier as libxl's {@code set_interrupt} does:
     * {@code <is_ppi, irq - (ppi ? 16 : 32), 0xf << 8 | type>}; the CPU mask is always 0xf.
     *
     * @param irq  the interrupt ID (16..31 PPI, 32.. SPI)
     * @param type DT_IRQ_TYPE_*
     * @return the three cells
     */
    public static int[] interrupt(int irq, int type) {
        boolean ppi = irq < 32;
        return new int[] {ppi ? 1 : 0, irq - (ppi ? 16 : 32), (0xf << 8) | type};
    }

    private static int[] concat(int[]... parts) {
        int len = 0;
        for (int[] p : parts) {
            len += p.length;
        }
        int[] out = new int[len];
        int i = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }
}
