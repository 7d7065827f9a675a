package org.xenpci.armpci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Errno;
import org.xenpci.core.PhysicalAddressSpace;

/**
 * Xen's DesignWare host bridge state and child-bus config ops with the R-Car Gen4 private part
 * ({@code struct dw_pcie_priv} and {@code struct rcar4_pcie_priv};
 * xen/arch/arm/pci/pci-designware.c, pci-host-rcar4.c). Xen reaches the root bus through the
 * {@code dbi} window with the plain ECAM formula (ordinary {@link EcamWindow}); this class is
 * the child side ({@code dw_pcie_child_config_read/write} over {@code dw_pcie_child_map_bus}):
 *
 * <ol>
 * <li>On the first child read only, the iATU mode is detected: the viewport register
 *     ({@code dbi + 0x900}) reading all-ones means unrolled ({@code dw_pcie_read_iatu_unroll_enabled}).
 *     A child write before any child read therefore still uses the viewport registers, as Xen's.</li>
 * <li>Outbound region 1 is programmed as CFG0 (type 4) with CPU base = the child window, size =
 *     its size, target {@code bus << 24 | dev << 19 | fn << 16}; CFG0 even for buses beyond the
 *     one below the root port (Xen's FIXME: such a request reaches the device on the root port's
 *     link instead). The enable bit is polled up to 5 times; not seen: the access is dropped
 *     (reads all-ones; Xen's map_bus returns NULL).</li>
 * <li>The access is a load/store at child window + reg (bus/devfn are not in the address).</li>
 * <li>With {@code num-viewport} &lt;= 2 (the default when the DT has none), after a successful
 *     access region 1 is programmed back to IO type (2), target 0, over the same window.</li>
 * </ol>
 * Register accesses go through the physical address space like every other Xen hardware access.
 *
 * <p>Thread-safety: Xen takes no lock around program-then-access, so two pCPUs can race on region
 * 1. The model serialises each child access on this object instead, so a concurrent access never
 * reads another's target; this is the one place the model is safer than upstream, and it changes
 * no single-threaded result. The OSID slot bitmap is guarded by the same monitor. Allocation-free.
 */
final class DesignWarePcie {
    private static final Logger LOG = LoggerFactory.getLogger(DesignWarePcie.class);

    /** {@code RCAR4_DWC_VERSION}. */
    static final int RCAR4_DWC_VERSION = 0x520A;
    static final int PCIE_ATU_VIEWPORT = 0x900;
    static final int PCIE_ATU_CR1 = 0x904;
    static final int PCIE_ATU_CR2 = 0x908;
    static final int PCIE_ATU_LOWER_BASE = 0x90C;
    static final int PCIE_ATU_UPPER_BASE = 0x910;
    static final int PCIE_ATU_LIMIT = 0x914;
    static final int PCIE_ATU_LOWER_TARGET = 0x918;
    static final int PCIE_ATU_UPPER_TARGET = 0x91C;
    static final int PCIE_ATU_UPPER_LIMIT = 0x924;
    static final int PCIE_ATU_INCREASE_REGION_SIZE = 1 << 13;
    static final int PCIE_ATU_ENABLE = 1 << 31;
    static final int PCIE_ATU_REGION_INDEX1 = 1;
    static final int PCIE_ATU_TYPE_IO = 2;
    static final int PCIE_ATU_TYPE_CFG0 = 4;
    static final int UNR_CTRL1 = 0x00;
    static final int UNR_CTRL2 = 0x04;
    static final int UNR_LOWER_BASE = 0x08;
    static final int UNR_UPPER_BASE = 0x0C;
    static final int UNR_LOWER_LIMIT = 0x10;
    static final int UNR_LOWER_TARGET = 0x14;
    static final int UNR_UPPER_TARGET = 0x18;
    static final int UNR_UPPER_LIMIT = 0x20;
    static final int LINK_WAIT_MAX_IATU_RETRIES = 5;
    /** R-Car app registers. */
    static final int CNVID = 0x700;
    static final int CNVID_CNV_EN = 1 << 31;
    static final int CNVID_OSID_MASK = 0x0F << 16;
    static final int CNVID_BDF_MASK = 0xFFFF;
    static final int CNVIDMSK = 0x780;
    static final int CNVOSIDCTRL = 0x800;
    static final int CNVOSIDCTRL_OSID_MASK = 0x0F << 16;
    static final int DEFAULT_OSID = 0;
    static final int NUM_OSID_REGS = 16;

    private final String path;
    private final PhysicalAddressSpace space;
    private final long dbi;
    private final EcamWindow child;
    private final long atu;
    private final long app;
    private final int numViewport;
    private final int version;
    private boolean unrollInitialised;
    private boolean unrollEnabled;
    private boolean osidInitDone;
    private int osidRegs;

    DesignWarePcie(String path, PhysicalAddressSpace space, long dbi, EcamWindow child, long atu, long app,
            int numViewport, int version) {
        this.path = path;
        this.space = space;
        this.dbi = dbi;
        this.child = child;
        this.atu = atu;
        this.app = app;
        this.numViewport = numViewport;
        this.version = version;
    }

    /** {@code num-viewport} (DT, default 2). */
    int numViewport() {
        return numViewport;
    }

    /** Whether the unrolled iATU was detected (false until the first child read). */
    synchronized boolean iatuUnrollEnabled() {
        return unrollEnabled;
    }

    /** {@code dw_pcie_child_config_read}: all-ones of the width when map_bus fails. */
    synchronized int childRead(int bus, int devfn, int reg, int len, int ones) {
        if (!unrollInitialised) {
            unrollEnabled = readl(dbi + PCIE_ATU_VIEWPORT) == 0xffff_ffff;
            unrollInitialised = true;
            LOG.debug("(XEN) {} iATU unroll: {}abled", path, unrollEnabled ? "en" : "dis");
        }
        if (!mapBus(bus, devfn)) {
            return ones;
        }
        int v = (int) space.read(child.physBase() + (reg & 0xffffffffL), len) & ones;
        restoreIo();
        return v;
    }

    /** {@code dw_pcie_child_config_write}. */
    synchronized void childWrite(int bus, int devfn, int reg, int len, int value) {
        if (!mapBus(bus, devfn)) {
            return;
        }
        space.write(child.physBase() + (reg & 0xffffffffL), len, value & 0xffffffffL);
        restoreIo();
    }

    private boolean mapBus(int bus, int devfn) {
        int busdev = (bus & 0xff) << 24 | ((devfn >> 3) & 0x1f) << 19 | (devfn & 7) << 16;
        // FIXME in Xen: parent is assumed to be the root bus, so always CFG0.
        return progOutbound(PCIE_ATU_REGION_INDEX1, PCIE_ATU_TYPE_CFG0, child.physBase(), busdev & 0xffffffffL,
                child.size()) == 0;
    }

    private void restoreIo() {
        if (numViewport <= 2) {
            progOutbound(PCIE_ATU_REGION_INDEX1, PCIE_ATU_TYPE_IO, child.physBase(), 0, child.size());
        }
    }

    /** {@code __dw_pcie_prog_outbound_atu} (function 0): 0 or -ENXIO. */
    private int progOutbound(int index, int type, long cpu, long pci, long size) {
        long limit = cpu + size - 1;
        boolean big = (int) ((size - 1) >>> 32) != 0;
        if (unrollEnabled) {
            long r = atu + ((long) index << 9);
            writel(r + UNR_LOWER_BASE, (int) cpu);
            writel(r + UNR_UPPER_BASE, (int) (cpu >>> 32));
            writel(r + UNR_LOWER_LIMIT, (int) limit);
            writel(r + UNR_UPPER_LIMIT, (int) (limit >>> 32));
            writel(r + UNR_LOWER_TARGET, (int) pci);
            writel(r + UNR_UPPER_TARGET, (int) (pci >>> 32));
            writel(r + UNR_CTRL1, big ? type | PCIE_ATU_INCREASE_REGION_SIZE : type);
            writel(r + UNR_CTRL2, PCIE_ATU_ENABLE);
            return poll(r + UNR_CTRL2);
        }
        writel(dbi + PCIE_ATU_VIEWPORT, index); // PCIE_ATU_REGION_OUTBOUND | index
        writel(dbi + PCIE_ATU_LOWER_BASE, (int) cpu);
        writel(dbi + PCIE_ATU_UPPER_BASE, (int) (cpu >>> 32));
        writel(dbi + PCIE_ATU_LIMIT, (int) limit);
        if (version >= 0x460A) {
            writel(dbi + PCIE_ATU_UPPER_LIMIT, (int) (limit >>> 32));
        }
        writel(dbi + PCIE_ATU_LOWER_TARGET, (int) pci);
        writel(dbi + PCIE_ATU_UPPER_TARGET, (int) (pci >>> 32));
        writel(dbi + PCIE_ATU_CR1, big && version >= 0x460A ? type | PCIE_ATU_INCREASE_REGION_SIZE : type);
        writel(dbi + PCIE_ATU_CR2, PCIE_ATU_ENABLE);
        return poll(dbi + PCIE_ATU_CR2);
    }

    /** "Make sure ATU enable takes effect": 5 reads (Xen waits 10 ms between them; no time passes here). */
    private int poll(long ctrl2) {
        for (int i = 0; i < LINK_WAIT_MAX_IATU_RETRIES; i++) {
            if ((readl(ctrl2) & PCIE_ATU_ENABLE) != 0) {
                return 0;
            }
        }
        LOG.warn("(XEN) {}: Outbound iATU is not being enabled", path);
        return Errno.ENXIO.rc();
    }

    /** {@code rcar4_pcie_osid_regs_init}: once, sets the default OSID in CNVOSIDCTRL and frees every slot. */
    synchronized int osidRegsInit() {
        int val = readl(app + CNVOSIDCTRL);
        if (osidInitDone) {
            return 0;
        }
        osidInitDone = true;
        writel(app + CNVOSIDCTRL, (val & ~CNVOSIDCTRL_OSID_MASK) | DEFAULT_OSID << 16);
        osidRegs = 0;
        LOG.info("(XEN) {}: Initialized OSID regs (default OSID {})", path, DEFAULT_OSID);
        return 0;
    }

    /** {@code rcar4_pcie_osid_reg_alloc}: the first free slot, or -EBUSY when all 16 are taken. */
    synchronized int osidRegAlloc() {
        int free = Integer.numberOfTrailingZeros(~osidRegs);
        if (free >= NUM_OSID_REGS) {
            return Errno.EBUSY.rc();
        }
        osidRegs |= 1 << free;
        return free;
    }

    /** {@code rcar4_pcie_osid_reg_free}. */
    synchronized void osidRegFree(int regId) {
        osidRegs &= ~(1 << regId);
    }

    /** {@code rcar4_pcie_osid_bdf_set}: CNVID(n) = enable | osid | bdf, other bits kept. */
    synchronized void osidBdfSet(int regId, int osid, int bdf) {
        long a = app + CNVID + 4L * regId;
        int data = readl(a) & ~(CNVID_OSID_MASK | CNVID_BDF_MASK);
        writel(a, data | CNVID_CNV_EN | osid << 16 | bdf);
    }

    /** {@code rcar4_pcie_osid_bdf_clear}: clears CNVID(n)'s enable bit. */
    synchronized void osidBdfClear(int regId) {
        long a = app + CNVID + 4L * regId;
        writel(a, readl(a) & ~CNVID_CNV_EN);
    }

    /** {@code rcar4_pcie_bdf_msk_set}: CNVIDMSK(n)'s mask field. */
    synchronized void bdfMaskSet(int regId, int mask) {
        long a = app + CNVIDMSK + 4L * regId;
        writel(a, (readl(a) & ~0xFFFF) | mask);
    }

    private int readl(long addr) {
        return (int) space.read(addr, 4);
    }

    private void writel(long addr, int value) {
        space.write(addr, 4, value & 0xffffffffL);
    }
}
