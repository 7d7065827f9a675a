package org.xenpci.libxl.guest;

import org.xenpci.core.Vcpu;

/**
 * Config access the way Linux's DesignWare host driver does it
 * (drivers/pci/controller/dwc/pcie-designware-host.c, used by pcie-rcar-gen4.c), from a domain
 * that has the controller's regions mapped (the upstream hardware domain):
 * <ul>
 * <li>root bus: {@code dw_pcie_own_conf_map_bus}, the DBI window at {@code where}; only device 0
 *     (the root port) exists, other slots read all-ones without an access;</li>
 * <li>other buses: {@code dw_pcie_other_conf_map_bus}: nothing unless the link is up
 *     ({@code PCIE_PORT_DEBUG1} bit 4); then outbound iATU region 0 (Linux keeps it for config)
 *     is programmed, unrolled at {@code atu + 0}, as CFG0 for the bus right below the root port
 *     and CFG1 beyond it, target {@code bus << 24 | dev << 19 | fn << 16}, over the whole config
 *     window, and the access is the config window + {@code where}.</li>
 * </ul>
 * Linux restores region 0 to I/O afterwards only when config and I/O share it (2 or fewer
 * outbound windows); the modelled core has 16, so it does not. Not thread-safe (one vCPU).
 */
public final class DesignWarePort implements ConfigPort {
    private static final int PCIE_PORT_DEBUG1 = 0x72c;
    private static final int LINK_UP = 1 << 4;
    private static final int LINK_IN_TRAINING = 1 << 29;
    private static final int CFG0 = 4;
    private static final int CFG1 = 5;
    private static final int ENABLE = 1 << 31;

    private final Vcpu vcpu;
    private final PciHostNode.DesignWare regs;
    private final int busStart;
    private final int busEnd;
    private int aborts;

    public DesignWarePort(Vcpu vcpu, PciHostNode node) {
        this.vcpu = vcpu;
        this.regs = node.designWare().orElseThrow(() -> new IllegalArgumentException(node.path() + " is not a DesignWare bridge"));
        this.busStart = node.busStart();
        this.busEnd = node.busEnd();
    }

    @Override
    public int busStart() {
        return busStart;
    }

    @Override
    public int busEnd() {
        return busEnd;
    }

    @Override
    public int aborts() {
        return aborts;
    }

    @Override
    public int read(int bus, int devfn, int reg, int width) {
        long a = map(bus, devfn, reg);
        if (a < 0) {
            return width == 4 ? -1 : (1 << (8 * width)) - 1;
        }
        long v = vcpu.mmioRead(a, width);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
            return width == 4 ? -1 : (1 << (8 * width)) - 1;
        }
        return (int) v;
    }

    @Override
    public void write(int bus, int devfn, int reg, int width, int value) {
        long a = map(bus, devfn, reg);
        if (a < 0) {
            return;
        }
        vcpu.mmioWrite(a, width, value & 0xffffffffL);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
        }
    }

    private long map(int bus, int devfn, int reg) {
        if (bus == busStart) {
            return (devfn >> 3) > 0 ? -1 : regs.dbiBase() + reg;
        }
        int debug1 = readl(regs.dbiBase() + PCIE_PORT_DEBUG1);
        if ((debug1 & LINK_UP) == 0 || (debug1 & LINK_IN_TRAINING) != 0) {
            return -1;
        }
        int busdev = (bus & 0xff) << 24 | (devfn >> 3) << 19 | (devfn & 7) << 16;
        long cpu = regs.configBase();
        long limit = cpu + regs.configSize() - 1;
        long r = regs.atuBase(); // outbound region 0, unrolled
        writel(r + 0x08, (int) cpu);
        writel(r + 0x0c, (int) (cpu >>> 32));
        writel(r + 0x10, (int) limit);
        writel(r + 0x20, (int) (limit >>> 32));
        writel(r + 0x14, busdev);
        writel(r + 0x18, 0);
        writel(r + 0x00, bus == busStart + 1 ? CFG0 : CFG1);
        writel(r + 0x04, ENABLE);
        for (int i = 0; i < 5; i++) {
            if ((readl(r + 0x04) & ENABLE) != 0) {
                return cpu + reg;
            }
        }
        return -1;
    }

    private int readl(long a) {
        long v = vcpu.mmioRead(a, 4);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
            return 0;
        }
        return (int) v;
    }

    private void writel(long a, int v) {
        vcpu.mmioWrite(a, 4, v & 0xffffffffL);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
        }
    }
}
