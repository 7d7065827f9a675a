package org.xenpci.armpci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's host config accessors over the physical address space (xen/arch/arm/pci/pci-access.c,
 * xen/arch/arm/pci/ecam.c): bridge lookup by (segment, bus), ECAM address from the bridge's window, then a
 * physical load/store of the access width. No alignment check, as in Xen.
 *
 * <p>Thread-safe and allocation-free in steady state: the bridge list is immutable, the address
 * space publishes immutable snapshots, and nothing here builds objects per access. The
 * accessors of {@link #forFunction} are too: their binding allocates only when it resolves
 * again (a region registered, a config epoch of the host bridge ended).
 */
final class HostPciConf implements PciConf {
    private static final Logger LOG = LoggerFactory.getLogger(HostPciConf.class);

    private final HostBridges bridges;
    private final PhysicalAddressSpace space;
    private final boolean errValueQuirk;

    /**
     * @param errValueQuirk true: a read with no bridge returns 0, as upstream's inverted
     *        {@code GENMASK} in {@code PCI_ERR_VALUE}; false: all-ones of the width
     */
    HostPciConf(HostBridges bridges, PhysicalAddressSpace space, boolean errValueQuirk) {
        this.bridges = bridges;
        this.space = space;
        this.errValueQuirk = errValueQuirk;
    }

    @Override
    public int read8(Sbdf sbdf, int reg) {
        return confRead(sbdf, reg, 1, 0xff);
    }

    @Override
    public int read16(Sbdf sbdf, int reg) {
        return confRead(sbdf, reg, 2, 0xffff);
    }

    @Override
    public int read32(Sbdf sbdf, int reg) {
        return confRead(sbdf, reg, 4, 0xffff_ffff);
    }

    @Override
    public void write8(Sbdf sbdf, int reg, int value) {
        confWrite(sbdf, reg, 1, value & 0xff);
    }

    @Override
    public void write16(Sbdf sbdf, int reg, int value) {
        confWrite(sbdf, reg, 2, value & 0xffff);
    }

    @Override
    public void write32(Sbdf sbdf, int reg, int value) {
        confWrite(sbdf, reg, 4, value);
    }

    @Override
    public int readPacked(int sbdf, int reg, int size) {
        return confRead(sbdf >>> 16, (sbdf >> 8) & 0xff, sbdf & 0xff, reg, size, ones(size));
    }

    @Override
    public void writePacked(int sbdf, int reg, int size, int value) {
        confWrite(sbdf >>> 16, (sbdf >> 8) & 0xff, sbdf & 0xff, reg, size, value & ones(size));
    }

    /**
     * One function's accessors with Xen's per-access work done once: {@code pci_find_host_bridge}
     * (the bridge list is fixed after boot, so the answer is too), the choice of ops (a
     * DesignWare child bus keeps the per-access iATU path, {@link DesignWarePcie#childRead}),
     * and {@code pci_ecam_map_bus}'s address of the function's 4 KiB, bound on the address space
     * ({@link PhysicalAddressSpace#bind}) to the device that claims it. An access the binding
     * serves is one Xen makes as a single load or store of the access width inside the
     * function's 4 KiB; everything else (no bridge, a child bus, a bus outside the window, an
     * offset outside 0..0xfff, a dword-crossing access, an unbound or declined address) takes
     * {@link #confRead}/{@link #confWrite} as before, so the result is the same either way.
     */
    @Override
    public FunctionConf forFunction(Sbdf sbdf) {
        java.util.Objects.requireNonNull(sbdf, "sbdf");
        return new HostFunctionConf(sbdf, bind(sbdf.segment(), sbdf.bus(), sbdf.devfn()));
    }

    /** The binding of the function's ECAM 4 KiB, or null where Xen's access does not go straight to the window. */
    private PhysicalAddressSpace.Binding bind(int segment, int bus, int devfn) {
        HostBridge b = bridges.findHostBridge(segment, bus);
        if (b == null || b.childCfg().map(w -> w.covers(bus)).orElse(false)) {
            // No bridge: PCI_ERR_VALUE. A child bus: DesignWare programs its iATU per access
            // (or, with no DesignWare data, the child window): decided per access, as in confRead.
            return null;
        }
        long addr = b.windowFor(bus).mapBus(bus, devfn, 0);
        return addr == -1 ? null : space.bind(addr, ECAM_FUNCTION_SIZE);
    }

    /** Bytes of ECAM per function (devfn field shift). */
    private static final long ECAM_FUNCTION_SIZE = 1L << EcamWindow.DEVFN_SHIFT;

    /** {@link #forFunction}'s accessors. */
    private final class HostFunctionConf implements FunctionConf {
        private final int segment;
        private final int bus;
        private final int devfn;
        private final PhysicalAddressSpace.Binding window;

        HostFunctionConf(Sbdf sbdf, PhysicalAddressSpace.Binding window) {
            this.segment = sbdf.segment();
            this.bus = sbdf.bus();
            this.devfn = sbdf.devfn();
            this.window = window;
        }

        @Override
        public int read(int reg, int size) {
            int ones = ones(size);
            if (window != null && reg >= 0 && reg < ECAM_FUNCTION_SIZE) {
                long v = window.read(reg, size);
                if (v != org.xenpci.core.MmioBinding.UNSERVED) {
                    return (int) v & ones;
                }
            }
            return confRead(segment, bus, devfn, reg, size, ones);
        }

        @Override
        public void write(int reg, int size, int value) {
            int v = value & ones(size);
            if (window != null && reg >= 0 && reg < ECAM_FUNCTION_SIZE && window.write(reg, size, v & 0xffffffffL)) {
                return;
            }
            confWrite(segment, bus, devfn, reg, size, v);
        }
    }

    /** All-ones of the access width; refuses any width but 1, 2 or 4 as {@link PciConf#read(Sbdf, int, int)} does. */
    private static int ones(int size) {
        switch (size) {
            case 1:
                return 0xff;
            case 2:
                return 0xffff;
            case 4:
                return 0xffff_ffff;
            default:
                throw new IllegalArgumentException("config access size must be 1, 2 or 4, not " + size);
        }
    }

    private int confRead(Sbdf sbdf, int reg, int len, int ones) {
        return confRead(sbdf.segment(), sbdf.bus(), sbdf.devfn(), reg, len, ones);
    }

    private int confRead(int segment, int bus, int devfn, int reg, int len, int ones) {
        HostBridge b = bridges.findHostBridge(segment, bus);
        if (b == null) {
            // PCI_ERR_VALUE(len): GENMASK(0, len*8) with swapped arguments evaluates to 0 upstream.
            if (LOG.isTraceEnabled()) {
                LOG.trace("pci_conf_read{} {}:{}:{} reg 0x{}: no host bridge", len * 8, segment, bus, devfn,
                        Integer.toHexString(reg));
            }
            return errValueQuirk ? 0 : ones;
        }
        DesignWarePcie dw = b.designWare();
        if (dw != null && b.childCfg().get().covers(bus)) {
            return dw.childRead(bus, devfn, reg, len, ones); // child_ops: the iATU, per access
        }
        long addr = b.windowFor(bus).mapBus(bus, devfn, reg);
        if (addr == -1) {
            return ones; // map_bus returned NULL: pci_generic_config_read forces ~0
        }
        return (int) space.read(addr, len) & ones;
    }

    private void confWrite(Sbdf sbdf, int reg, int len, int value) {
        confWrite(sbdf.segment(), sbdf.bus(), sbdf.devfn(), reg, len, value);
    }

    private void confWrite(int segment, int bus, int devfn, int reg, int len, int value) {
        HostBridge b = bridges.findHostBridge(segment, bus);
        if (b == null) {
            return; // no bridge: dropped
        }
        DesignWarePcie dw = b.designWare();
        if (dw != null && b.childCfg().get().covers(bus)) {
            dw.childWrite(bus, devfn, reg, len, value);
            return;
        }
        long addr = b.windowFor(bus).mapBus(bus, devfn, reg);
        if (addr == -1) {
            return; // map_bus NULL: dropped
        }
        space.write(addr, len, value & 0xffffffffL);
    }
}
