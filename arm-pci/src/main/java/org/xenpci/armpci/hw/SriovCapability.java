package org.xenpci.armpci.hw;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.xenpci.core.Hex;
import org.xenpci.core.pci.PciRegs;

/**
 * The behaviour of a physical function's Single Root I/O Virtualization extended capability
 * (ID 0x0010; PCIe Base, chapter 9 "Single Root I/O Virtualization and Sharing"), and the
 * virtual functions it brings onto the bus. Register offsets, relative to the capability:
 * <pre>
 *   +0x04 SR-IOV Capabilities (RO)      +0x08 SR-IOV Control: bit 0 VF Enable, bit 3 VF MSE,
 *   +0x0a SR-IOV Status (RO 0)                bit 4 ARI Capable Hierarchy (RW); rest RO 0
 *   +0x0c InitialVFs (RO)               +0x0e TotalVFs (RO)
 *   +0x10 NumVFs (RW)                   +0x12 Function Dependency Link (RO)
 *   +0x14 First VF Offset (RO)          +0x16 VF Stride (RO)
 *   +0x1a VF Device ID (RO)             +0x1c Supported Page Sizes (RO)
 *   +0x20 System Page Size (RW)         +0x24 .. +0x38 VF BAR0..5
 * </pre>
 * A VF BAR is sized like a BAR: writing all-ones reads back the mask of ONE VF's size, and
 * VF {@code n}'s BAR {@code i} decodes {@code [VF BARi + n*size, +size)} while VF MSE is set.
 *
 * <p>Virtual functions: when software sets VF Enable with NumVFs &gt; 0, {@code min(NumVFs,
 * TotalVFs)} fresh VFs appear, powered up from the VF config image; VF {@code n} answers at
 * routing ID {@code PF RID + First VF Offset + n * VF Stride} on the PF's own bus. Clearing VF
 * Enable (or resetting the PF) removes them; setting it again brings up new VFs in their
 * power-on state. NumVFs written while VF Enable is set (undefined by the spec) changes nothing
 * until the next enable. First VF Offset and VF Stride are fixed (a device whose values depend
 * on NumVFs or ARI is not modelled), and the model places VFs on the PF's bus only:
 * {@link PciBus.Builder#build} refuses a PF whose last possible VF would leave the bus or
 * collide with a function in a slot.
 *
 * <p>Each VF's config space follows the VF rules (PCIe Base, "SR-IOV VF configuration space"):
 * Vendor ID and Device ID read 0xFFFF (software takes them from the PF and VF Device ID), its
 * BAR registers read 0 and ignore writes, COMMAND's Memory Space bit is hardwired to 0 (VF MSE
 * decides), Bus Master Enable is the VF's own. Its MSI-X, PCI Express and PM capabilities get
 * their usual behaviour, so a VF signals MSI-X through its own requester ID.
 *
 * <p>Thread-safety: the VF set is published through a volatile array replaced whole, so a bus
 * walk sees the VFs before or after an enable, never half; routing through it allocates nothing.
 */
public final class SriovCapability implements CapabilityBehaviour {
    /** SR-IOV Control, VF Enable. */
    public static final int CTRL_VFE = 0x0001;
    /** SR-IOV Control, VF Memory Space Enable. */
    public static final int CTRL_MSE = 0x0008;
    /** SR-IOV Control, ARI Capable Hierarchy. */
    public static final int CTRL_ARI = 0x0010;
    /** Register offsets relative to the capability (Linux's {@code PCI_SRIOV_*}). */
    public static final int CAP = 0x04;
    /** SR-IOV Control. */
    public static final int CTRL = 0x08;
    /** SR-IOV Status. */
    public static final int STATUS = 0x0a;
    /** InitialVFs. */
    public static final int INITIAL_VF = 0x0c;
    /** TotalVFs. */
    public static final int TOTAL_VF = 0x0e;
    /** NumVFs. */
    public static final int NUM_VF = 0x10;
    /** Function Dependency Link. */
    public static final int FUNC_LINK = 0x12;
    /** First VF Offset. */
    public static final int VF_OFFSET = 0x14;
    /** VF Stride. */
    public static final int VF_STRIDE = 0x16;
    /** VF Device ID. */
    public static final int VF_DID = 0x1a;
    /** Supported Page Sizes. */
    public static final int SUP_PGSIZE = 0x1c;
    /** System Page Size. */
    public static final int SYS_PGSIZE = 0x20;
    /** VF BAR0 (VF BAR {@code i} at {@code BAR + 4 * i}). */
    public static final int BAR = 0x24;

    /** The smallest System Page Size (4 KiB, bit 0 of Supported Page Sizes, which every PF supports). */
    public static final long MIN_SYSTEM_PAGE_SIZE = 0x1000;

    private static final PciFunction[] NONE = new PciFunction[0];

    private final byte[] vfConfig;
    private final Map<Integer, Long> vfBarSizes;
    private PciFunction pf;
    private int pos;
    private int totalVfs;
    private int offset;
    private int stride;
    private final BarSpec[] vfBars = new BarSpec[6];
    private volatile PciFunction[] vfs = NONE;

    /**
     * @param vfConfig a VF's config image (256 or 4096 bytes; its own Vendor/Device ID and BAR
     *     registers are ignored: they read 0xFFFF and 0 on a VF)
     * @param vfBarSizes VF BAR index to the size of ONE VF's BAR, in bytes; the types and
     *     prefetch bits come from the PF's VF BAR registers
     * @throws HardwareConfigException for a bad image length
     */
    public SriovCapability(byte[] vfConfig, Map<Integer, Long> vfBarSizes) {
        Objects.requireNonNull(vfConfig, "vfConfig");
        if (vfConfig.length != 256 && vfConfig.length != ConfigSpace.SIZE) {
            throw new HardwareConfigException("VF config image must be 256 or 4096 bytes, not " + vfConfig.length);
        }
        this.vfConfig = java.util.Arrays.copyOf(vfConfig, ConfigSpace.SIZE);
        this.vfBarSizes = Map.copyOf(Objects.requireNonNull(vfBarSizes, "vfBarSizes"));
    }

    /**
     * @throws HardwareConfigException for a VF BAR of I/O or reserved type, a bad size (one below
     *     {@link #MIN_SYSTEM_PAGE_SIZE} included, checked before anything is changed), a MEM64
     *     VF BAR without its upper half, or a stride of 0 with more than one VF
     */
    @Override
    public void install(PciFunction function, Capability capability, ConfigLayout layout) {
        ConfigSpace cs = function.config();
        int p = capability.offset();
        int total = cs.read(p + TOTAL_VF, 2);
        int off = cs.read(p + VF_OFFSET, 2);
        int str = cs.read(p + VF_STRIDE, 2);
        if (total > 1 && str == 0) {
            throw new HardwareConfigException("SR-IOV at " + Hex.of(p) + ": TotalVFs " + total + " with VF Stride 0");
        }
        if (total > 0 && off == 0) {
            throw new HardwareConfigException("SR-IOV at " + Hex.of(p) + ": First VF Offset 0 would alias the PF");
        }
        for (Map.Entry<Integer, Long> e : vfBarSizes.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0 || e.getKey() > 5 || e.getValue() == null) {
                throw new HardwareConfigException("SR-IOV VF BAR " + e.getKey() + ": index must be 0..5 with a size");
            }
            if (e.getValue() < MIN_SYSTEM_PAGE_SIZE) {
                // PCIe Base, SR-IOV System Page Size: every VF BAR size consumes a multiple of the
                // System Page Size, 4 KiB at least. A smaller slice would put several VFs in one
                // page, and a guest given one VF would map its neighbours' registers too.
                throw new HardwareConfigException("SR-IOV VF BAR " + e.getKey() + ": size " + Hex.of(e.getValue())
                        + " is below the smallest System Page Size, 4 KiB (a VF BAR consumes whole system pages)");
            }
        }
        for (int i = 0; i < 6; i++) {
            Long size = vfBarSizes.get(i);
            int reg = cs.read(p + BAR + 4 * i, 4);
            if (size == null) {
                cs.setInternal(p + BAR + 4 * i, 4, 0);
                continue;
            }
            if ((reg & PciRegs.PCI_BASE_ADDRESS_SPACE_IO) != 0) {
                throw new HardwareConfigException("SR-IOV VF BAR " + i + ": VF BARs are memory BARs, not I/O");
            }
            int type = reg & PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_MASK;
            BarKind kind = type == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64 ? BarKind.MEM64
                    : type == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_32 ? BarKind.MEM32 : null;
            if (kind == null) {
                throw new HardwareConfigException("SR-IOV VF BAR " + i + ": reserved memory type " + Hex.of(type));
            }
            if (kind == BarKind.MEM64 && (i == 5 || vfBarSizes.containsKey(i + 1))) {
                throw new HardwareConfigException("SR-IOV VF BAR " + i + ": a 64-bit VF BAR needs VF BAR " + (i + 1)
                        + " as its upper half");
            }
            BarSpec b = new BarSpec(i, kind, size, (reg & PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH) != 0);
            vfBars[i] = b;
            cs.setInternal(p + BAR + 4 * i, 4, reg & b.lowWritableMask() | b.flags());
            StandardHeader.declareBar(layout, b, BAR + 4 * i, "VF_BAR");
            if (kind == BarKind.MEM64) {
                cs.setInternal(p + BAR + 4 * i + 4, 4, cs.read(p + BAR + 4 * i + 4, 4) & b.highWritableMask());
                i++;
            }
        }
        this.pf = function;
        this.pos = p;
        this.totalVfs = total;
        this.offset = off;
        this.stride = str;
        layout.word(CTRL, "SRIOV_CTRL")
                .field(0, "VFE", AccessMode.RW).onChange((o, n) -> enable(n != 0))
                .field(3, "MSE", AccessMode.RW)
                .field(4, "ARI", AccessMode.RW);
        layout.word(NUM_VF, "SRIOV_NUM_VF").all(AccessMode.RW);
        layout.dword(SYS_PGSIZE, "SRIOV_SYS_PGSIZE").all(AccessMode.RW);
        function.sriov(this);
    }

    /** PF reset: VF Enable is 0 again (restored from the image), so the VFs are gone. */
    @Override
    public void reset() {
        publish(NONE);
    }

    /** Runs under the PF's config lock; builds new VFs without touching any old one. */
    private void enable(boolean on) {
        if (!on) {
            publish(NONE);
            return;
        }
        int n = Math.min(pf.config().read(pos + NUM_VF, 2), totalVfs);
        PciFunction[] made = new PciFunction[n];
        for (int k = 0; k < n; k++) {
            made[k] = PciFunction.virtualFunction(vfConfig, vfBars, this, k, pf.upstreamBridge());
        }
        publish(made);
    }

    /**
     * Replaces the VF set, then tells the host bridge above, whose config targets (routing IDs
     * answered by a VF) just changed ({@link HostBridgeHardware#virtualFunctionsChanged}).
     */
    private void publish(PciFunction[] set) {
        PciFunction[] old = vfs;
        vfs = set;
        HostBridgeHardware hb = pf == null ? null : pf.upstreamBridge();
        if (hb != null && old != set) {
            hb.virtualFunctionsChanged();
        }
    }

    /** The PF this capability belongs to. */
    public PciFunction physicalFunction() {
        return pf;
    }

    /** The capability's config offset. */
    public int position() {
        return pos;
    }

    /** TotalVFs. */
    public int totalVfs() {
        return totalVfs;
    }

    /** First VF Offset. */
    public int firstVfOffset() {
        return offset;
    }

    /** VF Stride. */
    public int vfStride() {
        return stride;
    }

    /** VF Device ID, the device ID software gives every VF. */
    public int vfDeviceId() {
        return pf.config().read(pos + VF_DID, 2);
    }

    /** The VFs present now (none unless VF Enable is set), VF 0 first. */
    public List<PciFunction> virtualFunctions() {
        return List.of(vfs);
    }

    /** The VF present now at routing-ID distance {@code ridDelta} past the PF, or null. Allocation-free. */
    PciFunction vfAtDelta(int ridDelta) {
        PciFunction[] v = vfs;
        int k = ridDelta - offset;
        if (k < 0 || v.length == 0) {
            return null;
        }
        if (stride == 0) {
            return k == 0 ? v[0] : null;
        }
        if (k % stride != 0 || k / stride >= v.length) {
            return null;
        }
        return v[k / stride];
    }

    /** The routing-ID distance of VF {@code n} from the PF. */
    int ridDelta(int n) {
        return offset + n * stride;
    }

    /** The VFs array itself (for bus walks: read once, never modified). */
    PciFunction[] vfArray() {
        return vfs;
    }

    /** True while VF MSE (and VF Enable) is set: the VFs' BARs decode. */
    boolean vfMemoryEnabled() {
        int ctrl = pf.config().read(pos + CTRL, 2);
        return (ctrl & (CTRL_VFE | CTRL_MSE)) == (CTRL_VFE | CTRL_MSE);
    }

    /** The bus address of VF {@code n}'s BAR {@code index} (VF BAR base + n * size), or 0 if unimplemented. */
    long vfBarAddress(int index, int n) {
        BarSpec b = index >= 0 && index < 6 ? vfBars[index] : null;
        if (b == null) {
            return 0;
        }
        ConfigSpace cs = pf.config();
        int off = pos + BAR + 4 * index;
        long base = Integer.toUnsignedLong(cs.read(off, 4) & PciRegs.PCI_BASE_ADDRESS_MEM_MASK);
        if (b.kind() == BarKind.MEM64) {
            base |= (long) cs.read(off + 4, 4) << 32;
        }
        return base + n * b.size();
    }
}
