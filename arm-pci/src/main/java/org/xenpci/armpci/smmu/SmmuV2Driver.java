package org.xenpci.armpci.smmu;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.IommuContext;
import org.xenpci.armpci.PciIommu;
import org.xenpci.armpci.Pdev;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;

/**
 * Xen's SMMUv1/v2 driver for PCI devices (xen/drivers/passthrough/arm/smmu.c, with the DT
 * sideband-ID lookup of xen/drivers/passthrough/device_tree.c
 * {@code iommu_add_dt_pci_sideband_ids}), as the {@link PciIommu} the pdev layer calls. It
 * programs {@link SmmuV2} hardware only through its registers, except for the stage-2 binding
 * (see {@link SmmuV2#bindStage2}).
 *
 * <p>Per SMMU it keeps Xen's software copies ({@code struct arm_smmu_device}): the SMRs and
 * S2CRs with their use counts, the context bank bitmap, and the masters. Per Xen domain it
 * keeps one context bank per SMMU ({@code struct iommu_domain} on
 * {@code arm_smmu_xen_domain.contexts}), allocated when the first master of that domain
 * attaches and freed when the last detaches. Facts from smmu.c the model keeps:
 * <ul>
 * <li>stream IDs: only {@code iommu-map} (a PCI function has no DT node, so neither
 *     {@code iommus} nor the legacy {@code mmu-masters} binding can name it); the ID is cut to
 *     15 bits and the SMR mask comes from the SMMU node's {@code stream-match-mask}
 *     ({@code arm_smmu_dt_xlate_generic});</li>
 * <li>add_device without a fwspec (no {@code iommu-map}, no entry for the RID, a phandle naming
 *     no node or an unavailable one): -ENXIO, not -ENODEV; a phandle naming an IOMMU this
 *     driver does not drive: -ENXIO, and the fwspec stays, so the next add is -EEXIST (and
 *     frees it);</li>
 * <li>SMR allocation: a new ID/mask entirely covered by a valid SMR reuses it; any other
 *     overlap: -EINVAL; none free: -ENOSPC ({@code arm_smmu_find_sme}); context banks:
 *     -ENOSPC when all are taken; VMID = context bank index + 1 ({@code ARM_SMMU_CB_VMID}), not
 *     the domid;</li>
 * <li>assign to a domain whose device is still attached elsewhere: -EEXIST
 *     ({@code arm_smmu_attach_dev}): devices move through dom_io, as the toolstack's
 *     quarantine does; assign to dom_io detaches (S2CRs back to fault, the context bank freed
 *     with its last master); reassign accepts only the hardware domain or dom_io (-EPERM);
 *     deassigning from a domain the device is not attached to: -ESRCH;</li>
 * <li>remove_device only unregisters the master ({@code arm_smmu_dt_remove_device_legacy}):
 *     its SMRs and S2CRs stay programmed and its context bank keeps a reference, so the stream
 *     keeps translating with the last context. A re-added device reuses the SMR.</li>
 * </ul>
 * Xen's global {@code iommu_quarantine} is assumed on (its default): with it off, smmu.c leaves
 * a device assigned to dom_io attached to its old context, which the model does not reproduce.
 * Phantom functions are not modelled (only the function's own requester ID gets a stream).
 *
 * <p>Thread-safety: every hook and query synchronizes on this driver (the hooks also run
 * under Xen's pcidevs lock). Translation itself is the hardware's, lock-free.
 */
public final class SmmuV2Driver implements PciIommu {
    private static final Logger LOG = LoggerFactory.getLogger(SmmuV2Driver.class);

    /** The DT compatibles of {@code arm_smmu_of_match}, with the architecture each names. */
    public static final Map<String, SmmuV2.Version> COMPATIBLES = Map.of(
            "arm,smmu-v1", SmmuV2.Version.V1,
            "arm,smmu-v2", SmmuV2.Version.V2,
            "arm,mmu-400", SmmuV2.Version.V1,
            "arm,mmu-401", SmmuV2.Version.V1,
            "arm,mmu-500", SmmuV2.Version.V2);

    private static final int SMR_ID_MASK = 0x7fff;
    private static final int SMR_MASK_SHIFT = 16;
    // sCR0 bits Xen's arm_smmu_device_reset sets / clears
    private static final int SCR0_GFRE = 1 << 1;
    private static final int SCR0_GFIE = 1 << 2;
    private static final int SCR0_GCFGFRE = 1 << 4;
    private static final int SCR0_GCFGFIE = 1 << 5;
    private static final int SCR0_VMIDPNE = 1 << 11;
    private static final int SCR0_PTM = 1 << 12;
    private static final int SCR0_FB = 1 << 13;
    private static final int SCR0_BSU = 3 << 14;
    private static final int SCTLR_AFE = 1 << 2;
    private static final int SCTLR_TRE = 1 << 1;
    /** TTBCR for stage 2 as Xen writes it: EAE, inner-shareable, WBWA walks, SL0 for a 3-level p2m. */
    private static final int S2_TTBCR = 1 << 31 | 3 << 12 | 1 << 10 | 1 << 8 | 1 << 6;

    /** Xen's {@code struct arm_smmu_device}: the software view of one SMMU. */
    static final class Smmu {
        final SmmuV2 hw;
        final int streamMatchMask;
        final boolean streamMatch;
        final int numMappingGroups;
        final int numContextBanks;
        /** {@code smmu->pgshift}: 16 if sIDR1.PAGESIZE, else 12 (GR1 and each context bank are one page). */
        final int pgshift;
        final int[] smrId;
        final int[] smrMask;
        final boolean[] smrValid;
        final int[] s2crCount;
        final int[] s2crType;
        final int[] s2crCbndx;
        final BitSet contextMap = new BitSet();
        final Map<Pdev, Master> masters = new WeakHashMap<>();

        Smmu(SmmuV2 hw, int streamMatchMask, boolean streamMatch, int groups, int banks, int pgshift) {
            this.hw = hw;
            this.pgshift = pgshift;
            this.streamMatchMask = streamMatchMask;
            this.streamMatch = streamMatch;
            this.numMappingGroups = groups;
            this.numContextBanks = banks;
            this.smrId = new int[groups];
            this.smrMask = new int[groups];
            this.smrValid = new boolean[groups];
            this.s2crCount = new int[groups];
            this.s2crType = new int[groups];
            this.s2crCbndx = new int[groups];
            java.util.Arrays.fill(s2crType, SmmuV2.S2CR_TYPE_FAULT);
        }
    }

    /** {@code struct iommu_fwspec}: the IOMMU node the sideband ID names, and the fwid ({@code ID | mask << 16}). */
    private record Fwspec(int iommuPhandle, Smmu smmu, int fwid) {
    }

    /** {@code struct arm_smmu_master} with its cfg: stream map entry index, group, attached context. */
    private static final class Master {
        final int fwid;
        int smendx = -1;
        boolean group;
        Context context;

        Master(int fwid) {
            this.fwid = fwid;
        }
    }

    /** One context bank of a Xen domain on one SMMU ({@code struct iommu_domain}). */
    private static final class Context {
        final Smmu smmu;
        final Domain domain;
        int cbndx = -1;
        int ref;

        Context(Smmu smmu, Domain domain) {
            this.smmu = smmu;
            this.domain = domain;
        }
    }

    private final Xen xen;
    private final List<Smmu> smmus;
    private final Map<Pdev, Fwspec> fwspecs = new WeakHashMap<>();
    private final Map<Domain, List<Context>> contexts = new HashMap<>();

    private SmmuV2Driver(Xen xen, List<Smmu> smmus) {
        this.xen = xen;
        this.smmus = List.copyOf(smmus);
    }

    /** A driver for the SMMUs {@link #probe} accepted, in DT order. */
    static SmmuV2Driver of(Xen xen, List<Smmu> smmus) {
        return new SmmuV2Driver(xen, smmus);
    }

    /**
     * {@code arm_smmu_device_dt_probe} + {@code arm_smmu_device_cfg_probe} +
     * {@code arm_smmu_device_reset} for one node: the DT checks (-ENODEV without
     * {@code #global-interrupts}, without a context interrupt, or, for v2, with fewer context
     * interrupts than context banks), the ID registers (-ENODEV for stream matching without
     * SMRs or more stage-2 banks than banks), then the reset that leaves every stream faulting
     * (S2CRs fault, SMRs invalid, sCR0.USFCFG set: "unlike Linux, generate a fault when no
     * mapping is found").
     *
     * @return the SMMU's software state, or empty (the node is skipped, as
     *         {@code iommu_hardware_setup} ignores -ENODEV)
     */
    static Optional<Smmu> probe(Fdt dt, String path, FdtNode node, SmmuV2 hw) {
        if (node.u32("#global-interrupts").isEmpty()) {
            LOG.error("(XEN) {}: missing #global-interrupts property", path);
            return Optional.empty();
        }
        int global = node.u32("#global-interrupts").getAsInt();
        int irqs = interruptCount(dt, node);
        int contextIrqs = Math.max(0, irqs - global);
        if (contextIrqs == 0) {
            LOG.error("(XEN) {}: found {} interrupts but expected at least {}", path, irqs, global + 1);
            return Optional.empty();
        }
        int id0 = (int) hw.read(SmmuV2.SIDR0, 4);
        int streamidMask = (1 << ((id0 >>> 9) & 0xf)) - 1;
        boolean sms = (id0 & SmmuV2.SIDR0_SMS) != 0;
        int groups = 1 << ((id0 >>> 9) & 0xf);
        if (sms) {
            groups = id0 & 0xff;
            if (groups == 0) {
                LOG.error("(XEN) {}: stream-matching supported, but no SMRs present!", path);
                return Optional.empty();
            }
            // SMR.ID/MASK hold only implemented bits: probe them through SMR(0), as Xen does.
            hw.write(SmmuV2.SMR_BASE, 4, streamidMask);
            streamidMask = (int) hw.read(SmmuV2.SMR_BASE, 4) & 0xffff;
        }
        int id1 = (int) hw.read(SmmuV2.SIDR1, 4);
        int pgshift = id1 < 0 ? 16 : 12;
        long expected = (1L << (((id1 >>> 28) & 7) + 1)) * (2L << pgshift);
        if (expected != hw.size()) {
            LOG.warn("(XEN) {}: SMMU address space size (0x{}) differs from mapped region size (0x{})!", path,
                    Long.toHexString(expected), Long.toHexString(hw.size()));
        }
        int s2Banks = (id1 >>> 16) & 0xff;
        int banks = id1 & 0xff;
        if (s2Banks > banks) {
            LOG.error("(XEN) {}: impossible number of S2 context banks!", path);
            return Optional.empty();
        }
        if (hw.version() == SmmuV2.Version.V2 && banks != contextIrqs) {
            LOG.error("(XEN) {}: found only {} context interrupt(s) but {} required", path, contextIrqs, banks);
            return Optional.empty();
        }
        Smmu s = new Smmu(hw, streamidMask, sms, groups, banks, pgshift);
        reset(s);
        LOG.debug("{}: {} stream match groups, {} context banks, stream ID mask 0x{}", path, groups, banks,
                Integer.toHexString(streamidMask));
        return Optional.of(s);
    }

    /** Entries of the node's {@code interrupts} (its interrupt parent's {@code #interrupt-cells}, GIC default 3). */
    public static int interruptCount(Fdt dt, FdtNode node) {
        int cells = node.u32("interrupt-parent").stream().boxed().findFirst().flatMap(dt::nodeByPhandle)
                .map(p -> p.u32("#interrupt-cells").orElse(3)).orElse(3);
        return node.property("interrupts").map(p -> cells <= 0 ? 0 : p.cellCount() / cells).orElse(0);
    }

    /** {@code arm_smmu_device_reset}. */
    private static void reset(Smmu s) {
        SmmuV2 hw = s.hw;
        hw.write(SmmuV2.SGFSR, 4, hw.read(SmmuV2.SGFSR, 4));
        for (int i = 0; i < s.numMappingGroups; i++) {
            writeSme(s, i);
        }
        for (int cb = 0; cb < s.numContextBanks; cb++) {
            hw.write(cbReg(s, cb, SmmuV2.CB_SCTLR), 4, 0);
            hw.write(cbReg(s, cb, SmmuV2.CB_FSR), 4, SmmuV2.FSR_FAULT);
        }
        hw.write(SmmuV2.STLBIALL, 4, 0);
        hw.write(SmmuV2.TLBIALLH, 4, 0);
        hw.write(SmmuV2.TLBIALLNSNH, 4, 0);
        int reg = (int) hw.read(SmmuV2.SCR0, 4);
        reg |= SCR0_GFRE | SCR0_GFIE | SCR0_GCFGFRE | SCR0_GCFGFIE | SCR0_VMIDPNE | SCR0_PTM;
        reg &= ~(SmmuV2.SCR0_CLIENTPD | SmmuV2.SCR0_USFCFG);
        reg |= SmmuV2.SCR0_USFCFG;
        reg &= ~(SCR0_FB | SCR0_BSU);
        hw.write(SmmuV2.STLBGSYNC, 4, 0);
        hw.write(SmmuV2.SCR0, 4, reg);
    }

    private static long cbReg(Smmu s, int cb, int reg) {
        return s.hw.size() / 2 + ((long) cb << s.pgshift) + reg;
    }

    /** {@code arm_smmu_write_sme}: S2CR first, then the SMR. */
    private static void writeSme(Smmu s, int idx) {
        s.hw.write(SmmuV2.S2CR_BASE + 4L * idx, 4, (long) s.s2crType[idx] << 16 | s.s2crCbndx[idx]);
        if (s.streamMatch) {
            int v = (s.smrValid[idx] ? SmmuV2.SMR_VALID : 0) | s.smrMask[idx] << SMR_MASK_SHIFT | s.smrId[idx];
            s.hw.write(SmmuV2.SMR_BASE + 4L * idx, 4, Integer.toUnsignedLong(v));
        }
    }

    /** The SMMUs the driver took charge of, in DT order. */
    public List<SmmuV2> smmus() {
        List<SmmuV2> out = new ArrayList<>();
        for (Smmu s : smmus) {
            out.add(s.hw);
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------
    // iommu_ops
    // ---------------------------------------------------------------------------------------

    /** {@code arm_smmu_dt_add_device_generic} for a PCI function (see the class comment for errnos). */
    @Override
    public synchronized int addDevice(Pdev pdev) {
        int rc = addSidebandIds(pdev);
        if (rc < 0) {
            fwspecs.remove(pdev); // iommu_fwspec_free
            return rc;
        }
        Fwspec f = fwspecs.get(pdev);
        if (f == null || f.smmu == null) {
            LOG.error("(XEN) {}: no SMMUv1/v2 stream for the device (no usable iommu-map entry)", pdev.sbdf());
            return Errno.ENXIO.rc();
        }
        Smmu s = f.smmu;
        if (s.masters.containsKey(pdev)) {
            LOG.error("(XEN) {}: rejecting multiple registrations for master device", pdev.sbdf());
            return Errno.EBUSY.rc();
        }
        if (!s.streamMatch && (f.fwid & SMR_ID_MASK) >= s.numMappingGroups) {
            LOG.error("(XEN) {}: SMMU stream ID {} is greater than maximum allowed ({})", pdev.sbdf(),
                    f.fwid & SMR_ID_MASK, s.numMappingGroups);
            return Errno.ERANGE.rc();
        }
        s.masters.put(pdev, new Master(f.fwid));
        // "During PHYSDEVOP_pci_device_add, Xen does not assign the device, so we must do it here."
        return pdev.owner() == null ? 0 : assign(pdev.owner(), pdev);
    }

    /** {@code iommu_add_dt_pci_sideband_ids}: 0 / 1 (no ID) or a negative errno; creates the fwspec. */
    private int addSidebandIds(Pdev pdev) {
        if (fwspecs.containsKey(pdev)) {
            return Errno.EEXIST.rc();
        }
        Optional<IommuMap.Lookup> lookup = IommuMap.forFunction(xen, pdev.sbdf());
        if (lookup.isEmpty()) {
            return Errno.ENODEV.rc();
        }
        IommuMap.Result r = lookup.get().result();
        if (r instanceof IommuMap.Malformed m) {
            LOG.error("(XEN) {}: {}", lookup.get().bridge().path(), m.why());
            return m.errno().rc();
        }
        if (!(r instanceof IommuMap.Mapped mapped)) {
            return 1;
        }
        Fdt dt = xen.hardware().deviceTree();
        Optional<FdtNode> node = dt.nodeByPhandle(mapped.phandle());
        if (node.isEmpty() || !available(node.get())) {
            return 1; // dt_map_id -ENODEV, or iommu_dt_xlate on an unavailable IOMMU: no fwspec
        }
        int mask = node.get().u32("stream-match-mask").orElse(0);
        int fwid = ((int) mapped.id() & SMR_ID_MASK) | (mask & SMR_ID_MASK) << SMR_MASK_SHIFT;
        fwspecs.put(pdev, new Fwspec(mapped.phandle(), byPhandle(mapped.phandle()), fwid));
        return 0;
    }

    /** {@code arm_smmu_dt_remove_device_generic}: -ENXIO without a fwspec / SMMU, -EINVAL without a master. */
    @Override
    public synchronized int removeDevice(Pdev pdev) {
        Fwspec f = fwspecs.get(pdev);
        if (f == null || f.smmu == null) {
            return Errno.ENXIO.rc();
        }
        if (f.smmu.masters.remove(pdev) == null) {
            LOG.error("(XEN) {}: No registrations found for master device", pdev.sbdf());
            return Errno.EINVAL.rc();
        }
        // Xen frees neither the stream map entries nor the context reference here.
        return 0;
    }

    @Override
    public synchronized int assignDevice(Domain target, Pdev pdev) {
        return assign(target, pdev);
    }

    /** {@code arm_smmu_reassign_dev}. */
    @Override
    public synchronized int reassignDevice(Domain source, Domain target, Pdev pdev) {
        if (target != null && !target.isHardwareDomain() && target != xen.domIo()) {
            return Errno.EPERM.rc();
        }
        if (target == source) {
            return 0;
        }
        int rc = deassign(source, pdev);
        if (rc != 0) {
            return rc;
        }
        return target == null ? 0 : assign(target, pdev);
    }

    /** {@code arm_smmu_assign_dev}. */
    private int assign(Domain d, Pdev pdev) {
        Master m = master(pdev);
        if (d == xen.domIo()) {
            // dom_io is a sentinel for quarantined devices: detach from the current context.
            return m != null && m.context != null ? deassign(m.context.domain, pdev) : 0;
        }
        if (m == null) {
            return Errno.ENODEV.rc(); // arm_smmu_add_device: find_smmu_for_device failed
        }
        Smmu s = fwspecs.get(pdev).smmu;
        if (!m.group) {
            m.group = true; // iommu_group_add_device happens before the SMEs are allocated
            int rc = allocSmes(s, m);
            if (rc != 0) {
                return rc;
            }
        }
        Context ctx = null;
        List<Context> mine = contexts.computeIfAbsent(d, k -> new ArrayList<>());
        for (Context c : mine) {
            if (c.smmu == s) {
                ctx = c;
            }
        }
        if (ctx == null) {
            ctx = new Context(s, d);
            mine.add(ctx);
        }
        int rc = attach(ctx, m);
        if (rc != 0) {
            if (ctx.ref == 0) {
                destroy(ctx);
            }
            return rc;
        }
        ctx.ref++;
        m.context = ctx;
        return 0;
    }

    /** {@code arm_smmu_deassign_dev}: 0 for dom_io, -ESRCH if not attached to {@code d}. */
    private int deassign(Domain d, Pdev pdev) {
        if (d == xen.domIo()) {
            return 0;
        }
        Master m = master(pdev);
        if (m == null || m.context == null || m.context.domain != d) {
            LOG.error("(XEN) {}: not attached to domain {}", pdev.sbdf(), d == null ? "?" : d.domid());
            return Errno.ESRCH.rc();
        }
        Context ctx = m.context;
        Smmu s = ctx.smmu;
        if (m.smendx >= 0) {
            // arm_smmu_domain_remove_master: the S2CR goes back to s2cr_init_val (fault).
            s.s2crType[m.smendx] = SmmuV2.S2CR_TYPE_FAULT;
            s.s2crCbndx[m.smendx] = 0;
            s.hw.write(SmmuV2.S2CR_BASE + 4L * m.smendx, 4, (long) SmmuV2.S2CR_TYPE_FAULT << 16);
        }
        m.context = null;
        if (--ctx.ref == 0) {
            destroy(ctx);
        }
        return 0;
    }

    /** {@code arm_smmu_master_alloc_smes} for the master's one stream ID. */
    private static int allocSmes(Smmu s, Master m) {
        if (m.smendx != -1) {
            return Errno.EEXIST.rc();
        }
        int id = m.fwid & SMR_ID_MASK;
        int mask = (m.fwid >>> SMR_MASK_SHIFT) & SMR_ID_MASK;
        int idx = findSme(s, id, mask);
        if (idx < 0) {
            return idx;
        }
        if (s.streamMatch && s.s2crCount[idx] == 0) {
            s.smrId[idx] = id;
            s.smrMask[idx] = mask;
            s.smrValid[idx] = true;
        }
        s.s2crCount[idx]++;
        m.smendx = idx;
        writeSme(s, idx);
        return 0;
    }

    /** {@code arm_smmu_find_sme}. */
    private static int findSme(Smmu s, int id, int mask) {
        if (!s.streamMatch) {
            return id;
        }
        int free = Errno.ENOSPC.rc();
        for (int i = 0; i < s.numMappingGroups; i++) {
            if (!s.smrValid[i]) {
                if (free < 0) {
                    free = i;
                }
                continue;
            }
            if ((mask & s.smrMask[i]) == mask && ((id ^ s.smrId[i]) & ~s.smrMask[i]) == 0) {
                return i;
            }
            if (((id ^ s.smrId[i]) & ~(s.smrMask[i] | mask)) == 0) {
                return Errno.EINVAL.rc();
            }
        }
        return free;
    }

    /** {@code arm_smmu_attach_dev}: finalises the context on first use, then points the master's S2CR at it. */
    private int attach(Context ctx, Master m) {
        if (m.context != null) {
            LOG.error("(XEN) already attached to IOMMU domain");
            return Errno.EEXIST.rc();
        }
        Smmu s = ctx.smmu;
        if (ctx.cbndx < 0) {
            int cb = s.contextMap.nextClearBit(0);
            if (cb >= s.numContextBanks) {
                return Errno.ENOSPC.rc();
            }
            s.contextMap.set(cb);
            ctx.cbndx = cb;
            initContextBank(ctx);
        }
        if (m.smendx >= 0 && !(s.s2crType[m.smendx] == SmmuV2.S2CR_TYPE_TRANS && s.s2crCbndx[m.smendx] == ctx.cbndx)) {
            s.s2crType[m.smendx] = SmmuV2.S2CR_TYPE_TRANS;
            s.s2crCbndx[m.smendx] = ctx.cbndx;
            writeSme(s, m.smendx);
        }
        return 0;
    }

    /** {@code arm_smmu_init_context_bank} for a stage-2 context (CBAR, CBA2R, TTBCR, TTBR0, SCTLR). */
    private static void initContextBank(Context ctx) {
        Smmu s = ctx.smmu;
        int cb = ctx.cbndx;
        int vmid = cb + 1; // ARM_SMMU_CB_VMID
        long gr1 = 1L << s.pgshift; // ARM_SMMU_GR1(smmu)
        s.hw.write(gr1 + 4L * cb, 4, SmmuV2.CBAR_TYPE_S2_TRANS << 16 | vmid);
        if (s.hw.version() == SmmuV2.Version.V2) {
            s.hw.write(gr1 + 0x800 + 4L * cb, 4, 1); // CBA2R_RW64_64BIT
        }
        s.hw.write(cbReg(s, cb, SmmuV2.CB_TTBCR), 4, Integer.toUnsignedLong(S2_TTBCR));
        // TTBR0 = the p2m root's machine address in Xen; the model's p2m has none: bind it instead.
        s.hw.write(cbReg(s, cb, SmmuV2.CB_TTBR0), 8, 0);
        s.hw.bindStage2(cb, ctx.domain);
        s.hw.write(cbReg(s, cb, SmmuV2.CB_SCTLR), 4,
                SmmuV2.SCTLR_CFIE | SmmuV2.SCTLR_CFRE | SmmuV2.SCTLR_M | SCTLR_AFE | SCTLR_TRE);
    }

    /** {@code arm_smmu_destroy_iommu_domain}: SCTLR cleared, TLB invalidated by VMID, bank freed. */
    private void destroy(Context ctx) {
        List<Context> mine = contexts.get(ctx.domain);
        if (mine != null) {
            mine.remove(ctx);
            if (mine.isEmpty()) {
                contexts.remove(ctx.domain);
            }
        }
        if (ctx.cbndx < 0) {
            return;
        }
        Smmu s = ctx.smmu;
        s.hw.write(cbReg(s, ctx.cbndx, SmmuV2.CB_SCTLR), 4, 0);
        s.hw.write(SmmuV2.TLBIVMID, 4, ctx.cbndx + 1);
        s.hw.write(SmmuV2.STLBGSYNC, 4, 0);
        s.hw.bindStage2(ctx.cbndx, null);
        s.contextMap.clear(ctx.cbndx);
    }

    // ---------------------------------------------------------------------------------------
    // Queries
    // ---------------------------------------------------------------------------------------

    /**
     * What the hardware does with the device's stream, read from its registers (sCR0, the
     * matching SMR, S2CR, the context bank's SCTLR and stage-2 binding). Empty without a
     * fwspec on an SMMU this driver drives.
     */
    @Override
    public synchronized Optional<IommuContext> context(Pdev pdev) {
        Fwspec f = fwspecs.get(pdev);
        if (f == null || f.smmu == null) {
            return Optional.empty();
        }
        return Optional.of(f.smmu.hw.streamContext(f.fwid & SMR_ID_MASK));
    }

    /** The context bank index the device's stream translates with, if it is attached. */
    public synchronized Optional<Integer> contextBank(Pdev pdev) {
        Master m = master(pdev);
        return m == null || m.context == null ? Optional.empty() : Optional.of(m.context.cbndx);
    }

    /** The stream ID (fwspec ID, 15 bits) the driver took for the device, if any. */
    public synchronized Optional<Integer> streamId(Pdev pdev) {
        Fwspec f = fwspecs.get(pdev);
        return f == null ? Optional.empty() : Optional.of(f.fwid & SMR_ID_MASK);
    }

    private Master master(Pdev pdev) {
        Fwspec f = fwspecs.get(pdev);
        return f == null || f.smmu == null ? null : f.smmu.masters.get(pdev);
    }

    private Smmu byPhandle(int phandle) {
        for (Smmu s : smmus) {
            if (s.hw.phandle() != 0 && s.hw.phandle() == phandle) {
                return s;
            }
        }
        return null;
    }

    /** {@code dt_device_is_available}. */
    static boolean available(FdtNode node) {
        return node.property("status").map(p -> p.asString().equals("okay") || p.asString().equals("ok")).orElse(true);
    }
}
