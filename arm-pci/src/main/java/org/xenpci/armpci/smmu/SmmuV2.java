package org.xenpci.armpci.smmu;

import org.xenpci.armpci.IommuContext;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.InboundTranslation;
import org.xenpci.armpci.hw.InboundTranslator;
import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.core.Domain;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.P2m;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * One SMMUv1/v2 (Arm IHI 0062, "ARM System Memory Management Unit Architecture Specification,
 * SMMU architecture version 2.0"; MMU-400/401/500 implement it) as hardware: the register file
 * of the node's {@code reg} on the physical address space and the stream-mapping + stage-2
 * translation of every inbound request a host bridge sends it ({@link InboundTranslator}).
 * {@code Platform} builds one per {@code arm,smmu-v1/-v2}, {@code arm,mmu-400/401/500} node;
 * Xen's driver ({@link SmmuV2Driver}) finds it on the bus at the node's {@code reg} and programs
 * it through its registers, as Xen's smmu.c does.
 *
 * <h2>Register file (4 KiB pages, sIDR1.PAGESIZE = 0, for a frame up to 2 MiB; 64 KiB pages,
 * PAGESIZE = 1, for a larger one: IHI 0062 10.6.2, "the SMMU address space" is
 * 2 * NUMPAGE * PAGESIZE, so an MMU-500 frame of 4 to 32 MiB, such as LS1028A's 8 MiB, can only
 * be 64 KiB pages)</h2>
 * <ul>
 * <li>GR0 at {@code base}: sCR0 0x0 (CLIENTPD bit 0, GFRE/GFIE/GCFGFRE/GCFGFIE, USFCFG bit 10,
 *     VMIDPNE, PTM, FB, BSU stored as written; reset CLIENTPD = 1: every transaction bypasses),
 *     sIDR0 0x20 (S1TS, S2TS, NTS, SMS, NUMIRPT, NUMSIDB, NUMSMRG), sIDR1 0x24 (NUMPAGENDXB from
 *     the frame size, NUMS2CB, NUMCB), sIDR2 0x28 (48-bit IAS/OAS/UBS, 4K and 64K granules),
 *     sGFAR 0x40, sGFSR 0x48 (write-1-to-clear), sGFSYNR0/1/2 0x50/0x54/0x58, the TLB maintenance
 *     registers 0x60..0x74 (STLBIALL, TLBIVMID, TLBIALLNSNH, TLBIALLH, sTLBGSYNC; sTLBGSTATUS
 *     reads 0: invalidation completes at once), SMR[n] 0x800 + 4n (VALID 31, MASK 30:16, ID
 *     14:0, each field holding only the implemented stream-ID bits, which is how Xen's
 *     {@code arm_smmu_device_cfg_probe} discovers them), S2CR[n] 0xc00 + 4n (CBNDX 7:0, TYPE
 *     17:16 translate/bypass/fault, PRIVCFG 25:24).</li>
 * <li>GR1 at {@code base + page}: CBAR[n] 0x0 + 4n (VMID 7:0, TYPE 17:16, IRPTNDX 31:24),
 *     CBFRSYNRA[n] 0x400 + 4n (stream ID of the bank's last fault), CBA2R[n] 0x800 + 4n.</li>
 * <li>Context bank n at {@code base + size/2 + n * page}: SCTLR 0x0 (M, TRE, AFE, E, CFRE, CFIE
 *     stored), TTBR0 0x20 (64-bit), TTBCR 0x30 (the stage-2 VTCR-like walk setup, stored),
 *     FSR 0x58 (write-1-to-clear: TF bit 1, MULTI bit 31), FAR 0x60 (64-bit), FSYNR0 0x68 (WNR
 *     bit 4).</li>
 * </ul>
 * Other offsets read as zero and ignore writes (reserved: RAZ/WI); accesses must be 4 bytes
 * (TTBR0 / FAR / sGFAR also 8), others are ignored.
 *
 * <h2>Translation of one request (IHI 0062 2.4 stream mapping, 2.5 context banks)</h2>
 * <ol>
 * <li>A stream ID wider than sIDR0.NUMSIDB cannot be presented: fault (sGFSR.USF,
 *     {@link IommuFault#BAD_STREAMID}).</li>
 * <li>sCR0.CLIENTPD = 1: bypass.</li>
 * <li>Stream matching: every valid SMR with {@code ((sid ^ ID) & ~MASK) == 0} matches. None:
 *     sCR0.USFCFG = 1 faults (sGFSR.USF, {@link IommuFault#BAD_STE}), 0 bypasses. More than one:
 *     a stream match conflict (sGFSR.SMCF, {@link IommuFault#STREAM_MATCH_CONFLICT}).</li>
 * <li>The matching SMR's S2CR: TYPE bypass passes the request; fault (and the reserved
 *     encoding) faults it (sGFSR.ICF, invalid context fault, {@link IommuFault#STREAM_DISABLED});
 *     translate hands it to context bank CBNDX (a CBNDX at or beyond NUMCB: sGFSR.UCBF,
 *     {@link IommuFault#BAD_STE}).</li>
 * <li>The context bank: SCTLR.M = 0 bypasses (translation disabled for the context). CBAR.TYPE
 *     other than "stage 2 translation" is stage 1, which Xen never uses and the model does not
 *     walk: every request faults as a context translation fault. Otherwise the bank's stage 2
 *     translates; no mapping is a context fault (FSR.TF, FAR, FSYNR0.WNR, CBFRSYNRA;
 *     {@link IommuFault#TRANSLATION}).</li>
 * </ol>
 * A fault terminates the request whatever SCTLR.CFRE says (with CFRE = 0 real hardware answers
 * RAZ/WI instead of an abort; either way the DMA does not reach memory). Fault registers record
 * the first fault; a further one while a fault is pending only sets MULTI.
 *
 * <h2>Stage-2 tables: the one shortcut</h2>
 * Xen shares the p2m with the SMMU ({@code iommu_hap_pt_share}): the context bank's TTBR0 holds
 * the p2m root. The model does not walk page tables: the driver binds the bank to the domain
 * with {@link #bindStage2} when it writes TTBR0, and the bank translates through that domain's
 * {@link P2m}. Everything else a driver sets (CBAR.VMID and TYPE, SCTLR.M, SMR, S2CR) is
 * register state that the translation above reads.
 *
 * <p>Each context bank has a one-entry TLB (the window of the last p2m entry it hit; p2m entries
 * are immutable, so it cannot go stale on a p2m change), flushed by the TLB maintenance
 * registers and by rebinding; steady DMA allocates nothing.
 *
 * <p>Thread-safety: registers are atomic arrays; a translation (any thread) reads them without
 * locking and sees each register before or after a write, as a concurrent bus master would.
 * Fault recording and the fault registers are guarded by this object's monitor.
 */
public final class SmmuV2 implements InboundTranslator, MmioDevice {
    /** Which architecture the DT compatible names (Xen's {@code ARM_SMMU_V1} / {@code ARM_SMMU_V2}). */
    public enum Version {
        V1, V2
    }

    /** The 4 KiB register page (sIDR1.PAGESIZE = 0) of a frame up to 2 MiB. */
    static final int PAGE_SHIFT = 12;
    /** The 64 KiB register page (sIDR1.PAGESIZE = 1) of a frame above 2 MiB. */
    static final int PAGE_SHIFT_64K = 16;
    /** sIDR1.PAGESIZE. */
    static final int SIDR1_PAGESIZE = 1 << 31;
    /** Xen's {@code ARM_SMMU_MAX_CBS}; sIDR1.NUMCB is 8 bits. */
    public static final int MAX_CONTEXT_BANKS = 128;

    // GR0
    static final int SCR0 = 0x0;
    static final int SIDR0 = 0x20;
    static final int SIDR1 = 0x24;
    static final int SIDR2 = 0x28;
    static final int SGFAR = 0x40;
    static final int SGFSR = 0x48;
    static final int SGFSYNR0 = 0x50;
    static final int SGFSYNR1 = 0x54;
    static final int SGFSYNR2 = 0x58;
    static final int STLBIALL = 0x60;
    static final int TLBIVMID = 0x64;
    static final int TLBIALLNSNH = 0x68;
    static final int TLBIALLH = 0x6c;
    static final int STLBGSYNC = 0x70;
    static final int STLBGSTATUS = 0x74;
    static final int SMR_BASE = 0x800;
    static final int S2CR_BASE = 0xc00;
    // GR1 (offsets within the page)
    static final int CBAR_BASE = 0x0;
    static final int CBFRSYNRA_BASE = 0x400;
    static final int CBA2R_BASE = 0x800;
    // Context bank (offsets within the bank's page)
    static final int CB_SCTLR = 0x0;
    static final int CB_TTBR0 = 0x20;
    static final int CB_TTBCR = 0x30;
    static final int CB_FSR = 0x58;
    static final int CB_FAR = 0x60;
    static final int CB_FSYNR0 = 0x68;

    public static final int SCR0_CLIENTPD = 1;
    public static final int SCR0_USFCFG = 1 << 10;
    public static final int SIDR0_S1TS = 1 << 30;
    public static final int SIDR0_S2TS = 1 << 29;
    public static final int SIDR0_NTS = 1 << 28;
    public static final int SIDR0_SMS = 1 << 27;
    public static final int SGFSR_ICF = 1;
    public static final int SGFSR_USF = 1 << 1;
    public static final int SGFSR_SMCF = 1 << 2;
    public static final int SGFSR_UCBF = 1 << 3;
    public static final int SGFSR_MULTI = 1 << 31;
    public static final int SGFSYNR0_WNR = 1 << 1;
    public static final int SMR_VALID = 1 << 31;
    public static final int S2CR_TYPE_TRANS = 0;
    public static final int S2CR_TYPE_BYPASS = 1;
    public static final int S2CR_TYPE_FAULT = 2;
    public static final int CBAR_TYPE_S2_TRANS = 0;
    public static final int SCTLR_M = 1;
    public static final int SCTLR_CFRE = 1 << 5;
    public static final int SCTLR_CFIE = 1 << 6;
    public static final int FSR_TF = 1 << 1;
    public static final int FSR_MULTI = 1 << 31;
    /** FSR bits that record a fault (TF, AFF, PF, EF, TLBMCF, TLBLKF, ASF, UUT, SS, MULTI). */
    static final int FSR_FAULT = 0x1fe | 1 << 30 | FSR_MULTI;
    public static final int FSYNR0_WNR = 1 << 4;
    private static final int SGFSR_FAULT = 0xff | SGFSR_MULTI;

    private final String path;
    private final int phandle;
    private final Version version;
    private final long base;
    private final long size;
    /** log2 of the register page: {@link #PAGE_SHIFT} or {@link #PAGE_SHIFT_64K}. */
    private final int pageShift;
    private final int sidBits;
    private final int sidMask;
    private final int numSmrg;
    private final int numCb;
    private final int numPageNdxb;
    private final long cbSpace;
    private volatile Trace trace;

    private volatile int scr0 = SCR0_CLIENTPD;
    private final AtomicIntegerArray smr;
    private final AtomicIntegerArray s2cr;
    private final AtomicIntegerArray cbar;
    private final AtomicIntegerArray cba2r;
    private final AtomicIntegerArray sctlr;
    private final AtomicIntegerArray ttbcr;
    private final AtomicLongArray ttbr0;
    /** The model's stand-in for TTBR0's tables: the domain whose p2m the bank walks (see the class comment). */
    private final AtomicReferenceArray<Domain> stage2;
    private final AtomicReferenceArray<Tlb> tlb;
    // Fault registers, guarded by this.
    private int sgfsr;
    private long sgfar;
    private int sgfsynr0;
    private int sgfsynr1;
    private final int[] fsr;
    private final long[] far;
    private final int[] fsynr0;
    private final int[] cbfrsynra;

    /** A TLB entry: the stage-2 entry hit and the window made of it. */
    private record Tlb(P2m.Entry entry, InboundTranslation.Window window) {
    }

    /**
     * An SMMU described by the DT node at {@code path}.
     *
     * @param phandle the node's phandle (0 if it has none)
     * @param version what the compatible names
     * @param base machine address of the register frame (GR0)
     * @param size bytes of the frame: a power of two from 16 KiB to 32 MiB, half global space
     *        and half context banks, in 4 KiB pages up to 2 MiB and 64 KiB pages above
     *        ({@link #pageShift(long)}; sIDR1.PAGESIZE and NUMPAGENDXB are derived from it)
     * @param sidBits stream ID width (sIDR0.NUMSIDB), 1..15 (16-bit IDs need the extended
     *        stream-matching of SMMUv2's EXIDS, which the model does not implement)
     * @param numSmrg stream match register groups (sIDR0.NUMSMRG), 1..127
     * @param numCb context banks (sIDR1.NUMCB), 1..{@value #MAX_CONTEXT_BANKS}, at most the pages
     *        of the context bank space
     * @throws HardwareConfigException if a parameter is outside those ranges
     */
    public SmmuV2(String path, int phandle, Version version, long base, long size, int sidBits, int numSmrg,
            int numCb) {
        this.path = Objects.requireNonNull(path, "path");
        this.version = Objects.requireNonNull(version, "version");
        if (size < 4L << PAGE_SHIFT || size > 1L << 25 || Long.bitCount(size) != 1) {
            throw new HardwareConfigException(path + ": SMMU frame size 0x" + Long.toHexString(size)
                    + " is not a power of two from 16 KiB to 32 MiB");
        }
        this.pageShift = pageShift(size);
        if (sidBits < 1 || sidBits > 15) {
            throw new HardwareConfigException(path + ": " + sidBits + " stream ID bits (the model implements 1..15)");
        }
        long cbPages = (size / 2) >> pageShift;
        if (numSmrg < 1 || numSmrg > 127) {
            throw new HardwareConfigException(path + ": " + numSmrg + " stream match groups (1..127)");
        }
        if (numCb < 1 || numCb > MAX_CONTEXT_BANKS || numCb > cbPages) {
            throw new HardwareConfigException(path + ": " + numCb + " context banks do not fit " + cbPages
                    + " context bank pages (1.." + MAX_CONTEXT_BANKS + ")");
        }
        this.phandle = phandle;
        this.base = base;
        this.size = size;
        this.sidBits = sidBits;
        this.sidMask = (1 << sidBits) - 1;
        this.numSmrg = numSmrg;
        this.numCb = numCb;
        this.numPageNdxb = Long.numberOfTrailingZeros(cbPages) - 1;
        this.cbSpace = size / 2;
        this.smr = new AtomicIntegerArray(numSmrg);
        this.s2cr = new AtomicIntegerArray(numSmrg);
        this.cbar = new AtomicIntegerArray(numCb);
        this.cba2r = new AtomicIntegerArray(numCb);
        this.sctlr = new AtomicIntegerArray(numCb);
        this.ttbcr = new AtomicIntegerArray(numCb);
        this.ttbr0 = new AtomicLongArray(numCb);
        this.stage2 = new AtomicReferenceArray<>(numCb);
        this.tlb = new AtomicReferenceArray<>(numCb);
        this.fsr = new int[numCb];
        this.far = new long[numCb];
        this.fsynr0 = new int[numCb];
        this.cbfrsynra = new int[numCb];
        // S2CRs reset to fault on MMU-500 and what Xen writes anyway; SMRs reset invalid.
        for (int i = 0; i < numSmrg; i++) {
            s2cr.set(i, S2CR_TYPE_FAULT << 16);
        }
    }

    /**
     * The register page of a frame of {@code size} bytes: 4 KiB ({@value #PAGE_SHIFT}) while the
     * frame fits 2 to 256 such pages per half (up to 2 MiB), else 64 KiB ({@value #PAGE_SHIFT_64K}).
     */
    public static int pageShift(long size) {
        return size > 1L << 21 ? PAGE_SHIFT_64K : PAGE_SHIFT;
    }

    /** Registers the register frame ({@code smmu@<base>}) on {@code space}. */
    public void attach(PhysicalAddressSpace space) {
        space.register("smmu@" + Long.toHexString(base), base, size, this);
    }

    /** Where faults and stream-map changes are traced (the driver sets Xen's trace when it takes the SMMU). */
    public void trace(Trace t) {
        this.trace = t;
    }

    /** Absolute DT path. */
    public String path() {
        return path;
    }

    /** The node's phandle (what {@code iommu-map} entries reference), or 0. */
    public int phandle() {
        return phandle;
    }

    /** The architecture the compatible names. */
    public Version version() {
        return version;
    }

    /** Machine address of GR0. */
    public long base() {
        return base;
    }

    /** Bytes of the register frame. */
    public long size() {
        return size;
    }

    /** Stream ID width (sIDR0.NUMSIDB). */
    public int sidBits() {
        return sidBits;
    }

    /** Stream match register groups (sIDR0.NUMSMRG). */
    public int smrGroups() {
        return numSmrg;
    }

    /** Context banks (sIDR1.NUMCB). */
    public int contextBanks() {
        return numCb;
    }

    /**
     * Binds context bank {@code cb}'s stage 2 to {@code domain}'s p2m (null: no tables), the
     * model's stand-in for the p2m root the driver writes to TTBR0 (see the class comment).
     * Flushes the bank's TLB. Out-of-range banks are ignored, as a write to them would be.
     */
    public void bindStage2(int cb, Domain domain) {
        if (cb >= 0 && cb < numCb) {
            stage2.set(cb, domain);
            tlb.set(cb, null);
        }
    }

    /** The domain context bank {@code cb}'s stage 2 is bound to, or null. */
    public Domain stage2(int cb) {
        return cb >= 0 && cb < numCb ? stage2.get(cb) : null;
    }

    /**
     * The stream map entry (SMR/S2CR index) a transaction of {@code sid} selects: the index,
     * -1 if no valid SMR matches, -2 if more than one does (a conflict). Pure register read.
     */
    public int matchStream(int sid) {
        int found = -1;
        for (int i = 0; i < numSmrg; i++) {
            int r = smr.get(i);
            if (r < 0 && (((sid ^ r) & ~(r >>> 16)) & sidMask) == 0) {
                if (found >= 0) {
                    return -2;
                }
                found = i;
            }
        }
        return found;
    }

    /**
     * The hardware's translation of an inbound request (see the class comment). Never throws;
     * a hit allocates nothing; a fault sets the fault registers, is traced, and allocates.
     */
    @Override
    public InboundTranslation translate(int sid, long address, boolean write) {
        if (sid < 0 || sid > sidMask) {
            return globalFault(SGFSR_USF, IommuFault.BAD_STREAMID, sid, address, write);
        }
        int cr0 = scr0;
        if ((cr0 & SCR0_CLIENTPD) != 0) {
            return InboundTranslation.Window.IDENTITY;
        }
        int idx = matchStream(sid);
        if (idx == -2) {
            return globalFault(SGFSR_SMCF, IommuFault.STREAM_MATCH_CONFLICT, sid, address, write);
        }
        if (idx == -1) {
            if ((cr0 & SCR0_USFCFG) != 0) {
                return globalFault(SGFSR_USF, IommuFault.BAD_STE, sid, address, write);
            }
            return InboundTranslation.Window.IDENTITY;
        }
        int s2 = s2cr.get(idx);
        int type = (s2 >>> 16) & 3;
        if (type == S2CR_TYPE_BYPASS) {
            return InboundTranslation.Window.IDENTITY;
        }
        if (type != S2CR_TYPE_TRANS) {
            return globalFault(SGFSR_ICF, IommuFault.STREAM_DISABLED, sid, address, write);
        }
        int cb = s2 & 0xff;
        if (cb >= numCb) {
            return globalFault(SGFSR_UCBF, IommuFault.BAD_STE, sid, address, write);
        }
        if ((sctlr.get(cb) & SCTLR_M) == 0) {
            return InboundTranslation.Window.IDENTITY;
        }
        Domain d = stage2.get(cb);
        if (((cbar.get(cb) >>> 16) & 3) != CBAR_TYPE_S2_TRANS || d == null) {
            return contextFault(cb, sid, address, write);
        }
        P2m.Entry e = d.p2m().lookup(address);
        Tlb hit = tlb.get(cb);
        if (hit != null && hit.entry == e) {
            return hit.window;
        }
        InboundTranslation.Window w = InboundTranslation.Window.ofStage2(e);
        if (w == null) {
            // Emulated (trapped) regions have no stage-2 mapping: the device cannot reach them.
            return contextFault(cb, sid, address, write);
        }
        tlb.set(cb, new Tlb(e, w));
        return w;
    }

    private InboundTranslation globalFault(int bit, IommuFault reason, int sid, long address, boolean write) {
        synchronized (this) {
            if ((sgfsr & SGFSR_FAULT) != 0) {
                sgfsr |= SGFSR_MULTI;
            } else {
                sgfsr |= bit;
                sgfar = address;
                sgfsynr0 = write ? SGFSYNR0_WNR : 0;
                sgfsynr1 = sid & 0xffff;
            }
        }
        Trace t = trace;
        if (t != null && t.enabled(TraceCategory.FAULT)) {
            t.emit(new SmmuEvents.V2Fault(path, sid, address, write, reason, -1, -1));
        }
        return new InboundTranslation.Fault(reason);
    }

    private InboundTranslation contextFault(int cb, int sid, long address, boolean write) {
        synchronized (this) {
            if ((fsr[cb] & FSR_FAULT) != 0) {
                fsr[cb] |= FSR_MULTI;
            } else {
                fsr[cb] |= FSR_TF;
                far[cb] = address;
                fsynr0[cb] = write ? FSYNR0_WNR : 0;
                cbfrsynra[cb] = sid & 0xffff;
            }
        }
        Trace t = trace;
        if (t != null && t.enabled(TraceCategory.FAULT)) {
            Domain d = stage2.get(cb);
            t.emit(new SmmuEvents.V2Fault(path, sid, address, write, IommuFault.TRANSLATION, cb,
                    d == null ? -1 : d.domid()));
        }
        return new InboundTranslation.Fault(IommuFault.TRANSLATION);
    }

    private void flushTlb(int vmid) {
        for (int i = 0; i < numCb; i++) {
            if (vmid < 0 || (cbar.get(i) & 0xff) == vmid) {
                tlb.set(i, null);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Register file
    // ---------------------------------------------------------------------------------------

    @Override
    public long read(long offset, int width) {
        if (offset < 0 || offset >= size || (width != 4 && width != 8) || (offset & (width - 1)) != 0) {
            return 0;
        }
        if (width == 8) {
            return read64(offset);
        }
        int off = (int) offset;
        if (off < 1 << pageShift) {
            return Integer.toUnsignedLong(readGr0(off));
        }
        if (off < 2 << pageShift) {
            return Integer.toUnsignedLong(readGr1(off - (1 << pageShift)));
        }
        if (offset >= cbSpace) {
            int cb = (int) ((offset - cbSpace) >> pageShift);
            int reg = (int) ((offset - cbSpace) & ((1 << pageShift) - 1));
            if (cb < numCb) {
                return Integer.toUnsignedLong(readCb(cb, reg));
            }
        }
        return 0;
    }

    private long read64(long offset) {
        if (offset == SGFAR) {
            synchronized (this) {
                return sgfar;
            }
        }
        if (offset >= cbSpace) {
            int cb = (int) ((offset - cbSpace) >> pageShift);
            int reg = (int) ((offset - cbSpace) & ((1 << pageShift) - 1));
            if (cb < numCb && reg == CB_TTBR0) {
                return ttbr0.get(cb);
            }
            if (cb < numCb && reg == CB_FAR) {
                synchronized (this) {
                    return far[cb];
                }
            }
        }
        return 0;
    }

    private int readGr0(int off) {
        if (off >= SMR_BASE && off < SMR_BASE + 4 * numSmrg) {
            return smr.get((off - SMR_BASE) / 4);
        }
        if (off >= S2CR_BASE && off < S2CR_BASE + 4 * numSmrg) {
            return s2cr.get((off - S2CR_BASE) / 4);
        }
        switch (off) {
            case SCR0:
                return scr0;
            case SIDR0:
                return SIDR0_S1TS | SIDR0_S2TS | SIDR0_NTS | SIDR0_SMS | (numCb & 0xff) << 16 | sidBits << 9 | numSmrg;
            case SIDR1:
                return (pageShift == PAGE_SHIFT_64K ? SIDR1_PAGESIZE : 0) | numPageNdxb << 28 | numCb << 16 | numCb;
            case SIDR2:
                // IAS = OAS = UBS = 48 bits (encoding 5), 4K and 64K granules (PTFS_4K bit 12, PTFS_64K bit 14).
                return 5 | 5 << 4 | 5 << 8 | 1 << 12 | 1 << 14;
            case SGFAR:
            case SGFAR + 4:
            case SGFSR:
            case SGFSYNR0:
            case SGFSYNR1:
                synchronized (this) {
                    if (off == SGFAR) {
                        return (int) sgfar;
                    }
                    if (off == SGFAR + 4) {
                        return (int) (sgfar >>> 32);
                    }
                    return off == SGFSR ? sgfsr : off == SGFSYNR0 ? sgfsynr0 : sgfsynr1;
                }
            default:
                return 0; // SGFSYNR2 (implementation defined), STLBGSTATUS (never active), reserved
        }
    }

    private int readGr1(int off) {
        if (off >= CBAR_BASE && off < CBAR_BASE + 4 * numCb) {
            return cbar.get(off / 4);
        }
        if (off >= CBFRSYNRA_BASE && off < CBFRSYNRA_BASE + 4 * numCb) {
            synchronized (this) {
                return cbfrsynra[(off - CBFRSYNRA_BASE) / 4];
            }
        }
        if (version == Version.V2 && off >= CBA2R_BASE && off < CBA2R_BASE + 4 * numCb) {
            return cba2r.get((off - CBA2R_BASE) / 4);
        }
        return 0;
    }

    private int readCb(int cb, int reg) {
        switch (reg) {
            case CB_SCTLR:
                return sctlr.get(cb);
            case CB_TTBR0:
                return (int) ttbr0.get(cb);
            case CB_TTBR0 + 4:
                return (int) (ttbr0.get(cb) >>> 32);
            case CB_TTBCR:
                return ttbcr.get(cb);
            default:
                break;
        }
        synchronized (this) {
            switch (reg) {
                case CB_FSR:
                    return fsr[cb];
                case CB_FAR:
                    return (int) far[cb];
                case CB_FAR + 4:
                    return (int) (far[cb] >>> 32);
                case CB_FSYNR0:
                    return fsynr0[cb];
                default:
                    return 0;
            }
        }
    }

    @Override
    public void write(long offset, int width, long value) {
        if (offset < 0 || offset >= size || (width != 4 && width != 8) || (offset & (width - 1)) != 0) {
            return;
        }
        if (width == 8) {
            if (offset >= cbSpace) {
                int cb = (int) ((offset - cbSpace) >> pageShift);
                int reg = (int) ((offset - cbSpace) & ((1 << pageShift) - 1));
                if (cb < numCb && reg == CB_TTBR0) {
                    ttbr0.set(cb, value);
                }
            }
            return;
        }
        int v = (int) value;
        int off = (int) offset;
        if (off < 1 << pageShift) {
            writeGr0(off, v);
        } else if (off < 2 << pageShift) {
            writeGr1(off - (1 << pageShift), v);
        } else if (offset >= cbSpace) {
            int cb = (int) ((offset - cbSpace) >> pageShift);
            if (cb < numCb) {
                writeCb(cb, (int) ((offset - cbSpace) & ((1 << pageShift) - 1)), v);
            }
        }
    }

    private void writeGr0(int off, int v) {
        if (off >= SMR_BASE && off < SMR_BASE + 4 * numSmrg) {
            // Only implemented stream-ID bits hold in ID and MASK (what Xen's cfg_probe relies on).
            smr.set((off - SMR_BASE) / 4, (v & SMR_VALID) | (v & (sidMask << 16)) | (v & sidMask));
            traceStreamMap((off - SMR_BASE) / 4);
            return;
        }
        if (off >= S2CR_BASE && off < S2CR_BASE + 4 * numSmrg) {
            s2cr.set((off - S2CR_BASE) / 4, v & (0xff | 3 << 16 | 3 << 24));
            traceStreamMap((off - S2CR_BASE) / 4);
            return;
        }
        switch (off) {
            case SCR0:
                scr0 = v & 0x003f_fff7; // architected fields up to SMCFCFG (bit 21); bit 3 reserved
                return;
            case SGFSR:
                synchronized (this) {
                    sgfsr &= ~v; // write-1-to-clear
                }
                return;
            case STLBIALL:
            case TLBIALLNSNH:
            case TLBIALLH:
                flushTlb(-1);
                return;
            case TLBIVMID:
                flushTlb(v & 0xff);
                return;
            default:
                // STLBGSYNC: invalidation is immediate; sGFSYNRn are read-only; reserved: WI.
        }
    }

    private void writeGr1(int off, int v) {
        if (off >= CBAR_BASE && off < CBAR_BASE + 4 * numCb) {
            cbar.set(off / 4, v);
            tlb.set(off / 4, null);
        } else if (version == Version.V2 && off >= CBA2R_BASE && off < CBA2R_BASE + 4 * numCb) {
            cba2r.set((off - CBA2R_BASE) / 4, v & 3);
        }
    }

    private void writeCb(int cb, int reg, int v) {
        switch (reg) {
            case CB_SCTLR:
                sctlr.set(cb, v);
                return;
            case CB_TTBR0:
                ttbr0.set(cb, (ttbr0.get(cb) & 0xffff_ffff_0000_0000L) | Integer.toUnsignedLong(v));
                return;
            case CB_TTBR0 + 4:
                ttbr0.set(cb, (ttbr0.get(cb) & 0xffff_ffffL) | (long) v << 32);
                return;
            case CB_TTBCR:
                ttbcr.set(cb, v);
                return;
            case CB_FSR:
                synchronized (this) {
                    fsr[cb] &= ~v; // write-1-to-clear
                }
                return;
            default:
                // FAR and FSYNR0 are written by hardware only in the model; RESUME has no stalls to resume.
        }
    }

    private void traceStreamMap(int idx) {
        Trace t = trace;
        if (t != null && t.enabled(TraceCategory.DEVICE)) {
            t.emit(new SmmuEvents.StreamMapChanged(path, idx, smr.get(idx), s2cr.get(idx)));
        }
    }

    /**
     * What this SMMU does with stream {@code sid} now, read from its registers (sCR0, the
     * matching SMR, S2CR, the context bank's SCTLR and stage-2 binding): the view an auditor
     * compares with ownership, never the driver's bookkeeping.
     */
    public IommuContext streamContext(int sid) {
        int cr0 = (int) read(SCR0, 4);
        if ((cr0 & SCR0_CLIENTPD) != 0) {
            return new IommuContext.Bypass(path() + ": sCR0.CLIENTPD set");
        }
        int idx = matchStream(sid);
        if (idx == -2) {
            return IommuContext.ABORT;
        }
        if (idx == -1) {
            return (cr0 & SCR0_USFCFG) != 0 ? IommuContext.ABORT
                    : new IommuContext.Bypass(path() + ": unmatched stream with sCR0.USFCFG clear");
        }
        int s2 = (int) read(S2CR_BASE + 4L * idx, 4);
        int type = (s2 >>> 16) & 3;
        if (type == S2CR_TYPE_BYPASS) {
            return new IommuContext.Bypass(path() + ": S2CR[" + idx + "] bypass");
        }
        int cb = s2 & 0xff;
        if (type != S2CR_TYPE_TRANS || cb >= contextBanks()) {
            return IommuContext.ABORT;
        }
        if ((read(size() / 2 + ((long) cb << pageShift) + CB_SCTLR, 4) & SCTLR_M) == 0) {
            return new IommuContext.Bypass(path() + ": context bank " + cb + " SCTLR.M clear");
        }
        Domain d = stage2(cb);
        return d == null ? IommuContext.ABORT : new IommuContext.Translate(d);
    }

    @Override
    public String toString() {
        return "SMMUv2[" + path + "]";
    }
}
