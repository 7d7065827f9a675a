package org.xenpci.armpci;

import java.util.List;
import org.xenpci.core.Errno;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtValueException;

/**
 * A Xen host bridge driver ({@code DT_DEVICE_START(..., DEVICE_PCI_HOSTBRIDGE)} plus its
 * {@code pci_ecam_ops}): which compatibles it claims and how it finds the root config window.
 * The rest of the probe is common code ({@code pci_host_common_probe}).
 *
 * <p>Implementations must be stateless and thread-safe.
 */
public interface HostBridgeDriver {

    /** A short name for logs and {@link HostBridge#driver()}. */
    String name();

    /** The DT {@code compatible} strings the driver matches (any of the node's strings may match). */
    List<String> compatibles();

    /**
     * Xen's {@code ops->cfg_reg_index}: the index of the {@code reg} entry holding the root
     * config (ECAM) window, or a negative errno if the node does not name one (the probe then
     * fails, and Xen reports -ENOMEM whatever the cause).
     */
    int cfgRegIndex(FdtNode node);

    /**
     * The child ops' {@code cfg_reg_index}: empty for a driver without child ops (no child bus),
     * else the index of the child config window's {@code reg} entry or a negative errno.
     */
    default java.util.OptionalInt childCfgRegIndex(FdtNode node) {
        return java.util.OptionalInt.empty();
    }

    /** {@code dt_property_match_string(np, "reg-names", name)}: the index, -EINVAL or -ENODATA. */
    static int matchRegName(FdtNode node, String name) {
        if (node.property("reg-names").isEmpty()) {
            return Errno.EINVAL.rc();
        }
        List<String> names;
        try {
            names = node.property("reg-names").get().asStringList();
        } catch (FdtValueException e) {
            return Errno.EINVAL.rc();
        }
        int i = names.indexOf(name);
        return i >= 0 ? i : Errno.ENODATA.rc();
    }

    /** The generic ECAM driver (xen/arch/arm/pci/pci-host-generic.c): config window = {@code reg[0]}. */
    HostBridgeDriver GENERIC = new HostBridgeDriver() {
        @Override
        public String name() {
            return "generic";
        }

        @Override
        public List<String> compatibles() {
            return List.of("pci-host-ecam-generic");
        }

        @Override
        public int cfgRegIndex(FdtNode node) {
            return 0;
        }
    };

    /**
     * The ZynqMP NWL driver (xen/arch/arm/pci/pci-host-zynqmp.c): config window = the {@code reg}
     * entry whose {@code reg-names} string is {@code cfg} ({@code dt_property_match_string}).
     */
    HostBridgeDriver ZYNQMP_NWL = new HostBridgeDriver() {
        @Override
        public String name() {
            return "zynqmp-nwl";
        }

        @Override
        public List<String> compatibles() {
            return List.of("xlnx,nwl-pcie-2.11");
        }

        @Override
        public int cfgRegIndex(FdtNode node) {
            return matchRegName(node, "cfg");
        }
    };

    /**
     * The R-Car Gen4 driver over DesignWare (xen/arch/arm/pci/pci-host-rcar4.c): root window =
     * {@code reg-names} "dbi" ({@code rcar4_cfg_reg_index}), child window = "config"
     * ({@code rcar4_child_cfg_reg_index}); discovery then runs the DesignWare and R-Car parts of
     * the probe ({@code dw_pcie_host_probe}: "atu", {@code num-viewport}; then "app").
     */
    HostBridgeDriver RCAR4 = new HostBridgeDriver() {
        @Override
        public String name() {
            return "rcar4";
        }

        @Override
        public List<String> compatibles() {
            return List.of("renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");
        }

        @Override
        public int cfgRegIndex(FdtNode node) {
            return matchRegName(node, "dbi");
        }

        @Override
        public java.util.OptionalInt childCfgRegIndex(FdtNode node) {
            return java.util.OptionalInt.of(matchRegName(node, "config"));
        }
    };

    /** The drivers Xen builds with CONFIG_PCI_PASSTHROUGH on arm64, in link order. */
    List<HostBridgeDriver> DEFAULTS = List.of(GENERIC, ZYNQMP_NWL, RCAR4);
}
