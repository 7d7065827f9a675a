package org.xenpci.armpci.hw;

import org.xenpci.core.Hex;
import org.xenpci.core.MmioDevice;

/**
 * The config side of a Synopsys DesignWare PCIe root complex (the core of the R-Car Gen4
 * controllers, DWC 5.20a), as software reaches it through the regions Linux's binding names
 * (Documentation/devicetree/bindings/pci/snps,dw-pcie.yaml, rcar-gen4-pci-host.yaml):
 * <ul>
 * <li><b>dbi</b>: the root port's own type 1 config space (offsets 0x000..0x6ff, the function at
 *     device 0 of the root bus) and the port-logic registers from 0x700: {@code PCIE_PORT_DEBUG1}
 *     (0x72c; link up, not in training) and the legacy iATU viewport (0x900..0x924), which reads
 *     all-ones because this core has the unrolled iATU (that is how Linux and Xen detect it).
 *     Other port-logic offsets read 0 and drop writes.</li>
 * <li><b>atu</b>: the unrolled iATU, outbound region {@code i} at {@code i << 9}
 *     ({@link #OUTBOUND_REGIONS} of them): CTRL1 (type, 0x00), CTRL2 (bit 31 enable, 0x04), lower
 *     and upper base (0x08, 0x0c), lower limit (0x10), lower and upper target (0x14, 0x18), upper
 *     limit (0x20). Inbound regions ({@code i << 9 | 0x100}) read 0 and drop writes (inbound
 *     translation is the bridge's DMA path, not modelled through the iATU).</li>
 * <li><b>app</b>: the R-Car application registers Xen programs for OSID tagging: {@code CNVID(n)}
 *     (0x700 + 4n), {@code CNVIDMSK(n)} (0x780 + 4n), {@code CNVOSIDCTRL} (0x800), plain
 *     read/write registers (the IPMMU that consumes the OSID is not modelled). Others read 0.</li>
 * <li><b>config</b>: the outbound config window. An access at CPU address {@code a} goes through
 *     the lowest-numbered enabled outbound region whose {@code [base, limit]} contains it; the
 *     translated address {@code t = target + (a - base)} carries bus (31:24), device (23:19),
 *     function (18:16), and the register is {@code t & 0xfff}. Type CFG0 (4) is a type 0 request
 *     on the root port's link: it reaches device {@code dev} of the bus below the root port
 *     whatever the bus field says (only device 0 answers, as behind any downstream port). Type
 *     CFG1 (5) is a type 1 request for bus {@code t >> 24}: routed by the bridges below the root
 *     port (an endpoint does not claim a type 1 request, so the bus right below reads
 *     all-ones). No region, or a region of another type (MEM 0, IO 2: I/O space is not
 *     modelled): reads all-ones, writes dropped.</li>
 * </ul>
 * The bus's MEM apertures ({@code ranges}) decode as on the other bridges, without an iATU
 * region: the model assumes the outbound MEM translation is the identity of the DT's ranges.
 *
 * <p>Register accesses must be 4 bytes, aligned, except in the config window (1, 2 or 4 bytes
 * within a dword, like ECAM). Thread-safety: the iATU and app registers are guarded by this
 * object's monitor; a config access reads the region it uses under that monitor, then performs
 * the access on the function (which serialises on its own config space). Allocation-free.
 */
public final class DesignWareRootComplex {
    /** Outbound iATU regions implemented (the 8 KiB {@code atu} region holds 16 of 0x200 bytes). */
    public static final int OUTBOUND_REGIONS = 16;
    /** Root-port config bytes at the start of DBI; port-logic registers follow. */
    public static final int PORT_LOGIC_BASE = 0x700;
    /** {@code PCIE_PORT_DEBUG1}: link status Linux's {@code dw_pcie_link_up} reads. */
    public static final int PCIE_PORT_DEBUG1 = 0x72c;
    /** {@code PCIE_PORT_DEBUG1_LINK_UP}. */
    public static final int DEBUG1_LINK_UP = 1 << 4;
    /** {@code PCIE_ATU_VIEWPORT}: all-ones on an unrolled iATU. */
    public static final int PCIE_ATU_VIEWPORT = 0x900;
    /** iATU region types ({@code PCIE_ATU_TYPE_*}). */
    public static final int TYPE_MEM = 0;
    public static final int TYPE_IO = 2;
    public static final int TYPE_CFG0 = 4;
    public static final int TYPE_CFG1 = 5;
    /** {@code PCIE_ATU_ENABLE} in CTRL2. */
    public static final int ATU_ENABLE = 1 << 31;
    /** Unrolled register offsets inside a region. */
    public static final int UNR_CTRL1 = 0x00;
    public static final int UNR_CTRL2 = 0x04;
    public static final int UNR_LOWER_BASE = 0x08;
    public static final int UNR_UPPER_BASE = 0x0c;
    public static final int UNR_LOWER_LIMIT = 0x10;
    public static final int UNR_LOWER_TARGET = 0x14;
    public static final int UNR_UPPER_TARGET = 0x18;
    public static final int UNR_UPPER_LIMIT = 0x20;
    /** R-Car app registers ({@code xen/arch/arm/pci/pci-host-rcar4.c}). */
    public static final int APP_CNVID = 0x700;
    public static final int APP_CNVIDMSK = 0x780;
    public static final int APP_CNVOSIDCTRL = 0x800;
    public static final int OSID_SLOTS = 16;

    private final HostBridgeHardware bridge;
    private final long dbiBase;
    private final long dbiSize;
    private final long atuBase;
    private final long atuSize;
    private final long appBase;
    private final long appSize;
    private final long configBase;
    private final long configSize;
    /** Per region: ctrl1, ctrl2, lowerBase, upperBase, lowerLimit, lowerTarget, upperTarget, upperLimit. */
    private final int[][] regions = new int[OUTBOUND_REGIONS][8];
    private final int[] cnvid = new int[OSID_SLOTS];
    private final int[] cnvidMask = new int[OSID_SLOTS];
    private int cnvOsidCtrl;

    private final MmioDevice dbi = new Dbi();
    private final MmioDevice atu = new Atu();
    private final MmioDevice app = new App();
    private final MmioDevice config = new ConfigWindow();

    DesignWareRootComplex(HostBridgeHardware bridge, Regions r) {
        this.bridge = bridge;
        this.dbiBase = r.dbiBase;
        this.dbiSize = r.dbiSize;
        this.atuBase = r.atuBase;
        this.atuSize = r.atuSize;
        this.appBase = r.appBase;
        this.appSize = r.appSize;
        this.configBase = r.configBase;
        this.configSize = r.configSize;
    }

    /** Where the four regions are (CPU physical addresses and sizes, from the DT {@code reg}). */
    public record Regions(long dbiBase, long dbiSize, long atuBase, long atuSize, long appBase, long appSize,
            long configBase, long configSize) {
        public Regions {
            if (dbiSize < 0x1000 || atuSize <= 0 || appSize <= 0 || configSize <= 0) {
                throw new HardwareConfigException("DesignWare regions need dbi >= 4 KiB and non-empty atu, app and config"
                        + " (dbi " + Hex.of(dbiSize) + ", atu " + Hex.of(atuSize) + ", app " + Hex.of(appSize)
                        + ", config " + Hex.of(configSize) + ")");
            }
        }
    }

    public long dbiBase() {
        return dbiBase;
    }

    public long dbiSize() {
        return dbiSize;
    }

    public long atuBase() {
        return atuBase;
    }

    public long atuSize() {
        return atuSize;
    }

    public long appBase() {
        return appBase;
    }

    public long appSize() {
        return appSize;
    }

    public long configBase() {
        return configBase;
    }

    public long configSize() {
        return configSize;
    }

    MmioDevice dbiDevice() {
        return dbi;
    }

    MmioDevice atuDevice() {
        return atu;
    }

    MmioDevice appDevice() {
        return app;
    }

    MmioDevice configDevice() {
        return config;
    }

    /** The root port: the function at device 0, function 0 of the root bus (its config space is DBI). */
    PciFunction rootPort() {
        PciDevice d = bridge.rootBus().device(0);
        return d == null ? null : d.functionOrNull(0);
    }

    /** Region {@code i}'s type field (CTRL1 bits 4:0), for tests and traces. */
    public synchronized int regionType(int i) {
        return regions[i][0] & 0x1f;
    }

    /** Whether region {@code i} is enabled (CTRL2 bit 31). */
    public synchronized boolean regionEnabled(int i) {
        return (regions[i][1] & ATU_ENABLE) != 0;
    }

    /** Region {@code i}'s 64-bit target address. */
    public synchronized long regionTarget(int i) {
        return Integer.toUnsignedLong(regions[i][5]) | (long) regions[i][6] << 32;
    }

    /** {@code CNVID(n)} as last written. */
    public synchronized int cnvid(int n) {
        return cnvid[n];
    }

    /** {@code CNVIDMSK(n)} as last written. */
    public synchronized int cnvidMask(int n) {
        return cnvidMask[n];
    }

    /** {@code CNVOSIDCTRL} as last written. */
    public synchronized int cnvOsidCtrl() {
        return cnvOsidCtrl;
    }

    private static boolean dwordAccess(long offset, int size) {
        return size == 4 && (offset & 3) == 0;
    }

    private final class Dbi implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if (offset < PORT_LOGIC_BASE) {
                if ((size != 1 && size != 2 && size != 4) || (offset & 3) + size > 4) {
                    return PciFunction.ones(size);
                }
                PciFunction rp = rootPort();
                return rp == null ? PciFunction.ones(size) : Integer.toUnsignedLong(rp.config().read((int) offset, size));
            }
            if (!dwordAccess(offset, size)) {
                return PciFunction.ones(size);
            }
            if (offset == PCIE_PORT_DEBUG1) {
                return DEBUG1_LINK_UP;
            }
            if (offset >= PCIE_ATU_VIEWPORT && offset <= 0x924) {
                return 0xffff_ffffL; // unrolled iATU: the viewport is not implemented
            }
            return 0;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset < PORT_LOGIC_BASE && (size == 1 || size == 2 || size == 4) && (offset & 3) + size <= 4) {
                PciFunction rp = rootPort();
                if (rp != null) {
                    rp.config().write((int) offset, size, (int) value);
                }
            }
            // Port logic: nothing the model implements is writable.
        }
    }

    private final class Atu implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            int[] r = registerOf(offset, size);
            if (r == null) {
                return dwordAccess(offset, size) ? 0 : PciFunction.ones(size);
            }
            synchronized (DesignWareRootComplex.this) {
                return Integer.toUnsignedLong(r[index(offset)]);
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            int[] r = registerOf(offset, size);
            if (r != null) {
                synchronized (DesignWareRootComplex.this) {
                    r[index(offset)] = (int) value;
                }
            }
        }

        private int[] registerOf(long offset, int size) {
            if (!dwordAccess(offset, size) || offset < 0 || (offset >> 9) >= OUTBOUND_REGIONS || (offset & 0x100) != 0) {
                return null;
            }
            return index(offset) < 0 ? null : regions[(int) (offset >> 9)];
        }

        private int index(long offset) {
            switch ((int) (offset & 0xff)) {
                case UNR_CTRL1:
                    return 0;
                case UNR_CTRL2:
                    return 1;
                case UNR_LOWER_BASE:
                    return 2;
                case UNR_UPPER_BASE:
                    return 3;
                case UNR_LOWER_LIMIT:
                    return 4;
                case UNR_LOWER_TARGET:
                    return 5;
                case UNR_UPPER_TARGET:
                    return 6;
                case UNR_UPPER_LIMIT:
                    return 7;
                default:
                    return -1;
            }
        }
    }

    private final class App implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if (!dwordAccess(offset, size)) {
                return PciFunction.ones(size);
            }
            synchronized (DesignWareRootComplex.this) {
                if (offset >= APP_CNVID && offset < APP_CNVID + 4 * OSID_SLOTS) {
                    return Integer.toUnsignedLong(cnvid[(int) (offset - APP_CNVID) >> 2]);
                }
                if (offset >= APP_CNVIDMSK && offset < APP_CNVIDMSK + 4 * OSID_SLOTS) {
                    return Integer.toUnsignedLong(cnvidMask[(int) (offset - APP_CNVIDMSK) >> 2]);
                }
                return offset == APP_CNVOSIDCTRL ? Integer.toUnsignedLong(cnvOsidCtrl) : 0;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (!dwordAccess(offset, size)) {
                return;
            }
            synchronized (DesignWareRootComplex.this) {
                if (offset >= APP_CNVID && offset < APP_CNVID + 4 * OSID_SLOTS) {
                    cnvid[(int) (offset - APP_CNVID) >> 2] = (int) value;
                } else if (offset >= APP_CNVIDMSK && offset < APP_CNVIDMSK + 4 * OSID_SLOTS) {
                    cnvidMask[(int) (offset - APP_CNVIDMSK) >> 2] = (int) value;
                } else if (offset == APP_CNVOSIDCTRL) {
                    cnvOsidCtrl = (int) value;
                }
            }
        }
    }

    /**
     * The outbound translation of config-window offset {@code offset}: the translated address in
     * bits 31:0 and the region type in bits 39:32, or -1 when no enabled region covers it.
     */
    private long translate(long offset) {
        long cpu = configBase + offset;
        synchronized (this) {
            for (int i = 0; i < OUTBOUND_REGIONS; i++) {
                int[] r = regions[i];
                if ((r[1] & ATU_ENABLE) == 0) {
                    continue;
                }
                long base = Integer.toUnsignedLong(r[2]) | (long) r[3] << 32;
                long limit = Integer.toUnsignedLong(r[4]) | (long) r[7] << 32;
                if (Long.compareUnsigned(cpu, base) < 0 || Long.compareUnsigned(cpu, limit) > 0) {
                    continue;
                }
                long translated = (Integer.toUnsignedLong(r[5]) | (long) r[6] << 32) + (cpu - base);
                return (translated & 0xffff_ffffL) | (long) (r[0] & 0x1f) << 32;
            }
        }
        return -1;
    }

    /** The function a translated config request reaches, or null (master abort). */
    private PciFunction target(long t) {
        if (t < 0) {
            return null;
        }
        int type = (int) (t >>> 32);
        if (type != TYPE_CFG0 && type != TYPE_CFG1) {
            return null; // MEM or IO through the config window: nothing modelled answers
        }
        int bus = (int) (t >>> 24) & 0xff;
        int dev = (int) (t >>> 19) & 0x1f;
        int fn = (int) (t >>> 16) & 0x7;
        PciFunction rp = rootPort();
        if (rp == null || !rp.isBridge() || rp.secondaryBusSlots() == null) {
            return null; // no link below the controller
        }
        PciBus link = rp.secondaryBusSlots();
        int sec = rp.secondaryBus();
        if (type == TYPE_CFG0) {
            // A type 0 request on the link: the bus field does not route it (PCIe Base 7.3.1).
            if (dev != 0) {
                return null;
            }
            PciDevice d = link.device(0);
            return d == null ? null : d.functionOrNull(fn);
        }
        if (bus == sec) {
            return null; // a type 1 request for the link's own bus: no function claims it
        }
        return link.routeConfig(sec, bus, dev, fn);
    }

    private final class ConfigWindow implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if ((size != 1 && size != 2 && size != 4) || (offset & 3) + size > 4 || offset < 0 || offset >= configSize) {
                return PciFunction.ones(size);
            }
            long t = translate(offset);
            PciFunction f = target(t);
            if (f == null) {
                return PciFunction.ones(size);
            }
            return Integer.toUnsignedLong(f.config().read((int) (t & 0xfff), size));
        }

        @Override
        public void write(long offset, int size, long value) {
            if ((size != 1 && size != 2 && size != 4) || (offset & 3) + size > 4 || offset < 0 || offset >= configSize) {
                return;
            }
            long t = translate(offset);
            PciFunction f = target(t);
            if (f != null) {
                f.config().write((int) (t & 0xfff), size, (int) value);
            }
        }
    }
}
