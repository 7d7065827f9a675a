package org.xenpci.libxl.toolstack;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.guest.EcamPort;

/**
 * Dom0's driver binding of PCI functions, as libxl sees it through sysfs
 * ({@code /sys/bus/pci/devices/<bdf>/driver}, {@code /sys/bus/pci/drivers/pciback/<bdf>}).
 * Dom0 drivers are not modelled: every function dom0 enumerated starts bound to a notional
 * driver, {@code /sys/bus/pci/drivers/pcieport} for bridges and {@code /sys/bus/pci/drivers/dom0}
 * for endpoints, so that the rebind path of {@code pci-assignable-remove -r} has a target.
 *
 * <p>{@link #reset} is what dom0 does when libxl resets a function: Linux's
 * {@code pci_reset_function} behind sysfs {@code reset}, then xen-pciback's disable sequence.
 * It runs as dom0 would, as config loads and stores through dom0's ECAM window on its vCPU 0,
 * so Xen sees every access exactly as a real dom0's (vPCI for the hardware domain, or the
 * direct-mapped window).
 *
 * <p>Thread-safety: synchronized; the toolstack serialises its operations anyway.
 */
public final class Pciback {
    /** The sysfs path of the pciback driver ({@code SYSFS_PCIBACK_DRIVER}). */
    public static final String PCIBACK_DRIVER = "/sys/bus/pci/drivers/pciback";

    private final Map<Sbdf, String> driver = new TreeMap<>();
    /** Dom0's config window of each PCI segment. */
    private final Map<Integer, EcamPort> config = new HashMap<>();

    Pciback(Map<Sbdf, String> initialDrivers, Map<Integer, EcamPort> configWindows) {
        driver.putAll(initialDrivers);
        config.putAll(configWindows);
    }

    /** True if dom0 has the function ({@code /sys/bus/pci/devices/<bdf>} exists). */
    public synchronized boolean exists(Sbdf sbdf) {
        return driver.containsKey(sbdf);
    }

    /** Every function dom0 has, in address order. */
    public synchronized List<Sbdf> devices() {
        return List.copyOf(driver.keySet());
    }

    /** The driver path the function is bound to; empty when unbound or absent. */
    public synchronized Optional<String> driverPath(Sbdf sbdf) {
        String d = driver.get(sbdf);
        return d == null || d.isEmpty() ? Optional.empty() : Optional.of(d);
    }

    /** True if bound to pciback ({@code pciback_dev_is_assigned}). */
    public synchronized boolean isAssigned(Sbdf sbdf) {
        return PCIBACK_DRIVER.equals(driver.get(sbdf));
    }

    /** Functions bound to pciback, in address order (pciback's sysfs directory). */
    public synchronized List<Sbdf> assigned() {
        List<Sbdf> out = new ArrayList<>();
        for (Map.Entry<Sbdf, String> e : driver.entrySet()) {
            if (PCIBACK_DRIVER.equals(e.getValue())) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** Binds the function to {@code driverPath} ("" = unbound). */
    synchronized void bind(Sbdf sbdf, String driverPath) {
        if (!driver.containsKey(sbdf)) {
            throw new IllegalStateException("no sysfs device " + sbdf);
        }
        driver.put(sbdf, driverPath);
    }

    /**
     * Dom0 resets the function, in two parts:
     * <ol>
     * <li>{@code pci_reset_function} (Linux drivers/pci/pci.c), only if the function has a
     *     reset method (without one Linux offers no sysfs {@code reset} file): save the header
     *     ({@code pci_save_state}: dwords 0..15), disable it (COMMAND = INTX_DISABLE,
     *     {@code pci_dev_save_and_disable}), reset it by the first method that applies, FLR
     *     ({@code pcie_flr}: Device Capabilities FLR, then Device Control Initiate FLR) or PM
     *     ({@code pci_pm_reset}: No_Soft_Reset clear, PMCSR to D3hot then D0), then restore the
     *     header ({@code pci_restore_config_space}: dwords 15..10, the BARs 9..4, then 3..0,
     *     each written only when it differs), which puts back the BAR and ROM addresses Xen
     *     and dom0 rely on; an SR-IOV PF whose VFs were enabled gets them back
     *     ({@code pci_restore_iov_state}: VF BARs, System Page Size, NumVFs, then VF Enable), fresh
     *     from their power-on state as after any PF reset. <b>Model's choice:</b> COMMAND comes back with IO, MEMORY and
     *     MASTER off, where Linux restores it as saved: a function leaving or entering a guest
     *     does not decode or master until its next owner enables it.</li>
     * <li>xen-pciback's {@code xen_pcibk_reset_device} (drivers/xen/xen-pciback/pciback_ops.c,
     *     run by {@code pcistub_put_pci_dev} after that reset): for an endpoint, MSI-X and MSI
     *     Enable cleared if set and COMMAND.MASTER cleared ({@code pci_disable_device}); for a
     *     bridge only COMMAND.INVALIDATE. Linux disables MSI/MSI-X only if dom0's own driver
     *     enabled them; the model reads the hardware registers, since a guest's enable never
     *     reaches dom0's bookkeeping.</li>
     * </ol>
     * Waits are not modelled (the hardware resets at once).
     *
     * @return the reset method used; {@link ResetMethod#NONE} also when dom0 has no such function
     */
    synchronized ResetMethod reset(Sbdf sbdf) {
        EcamPort port = config.get(sbdf.segment());
        if (port == null || !driver.containsKey(sbdf)) {
            return ResetMethod.NONE;
        }
        Config c = new Config(port, sbdf.bus(), sbdf.devfn());
        boolean bridge = (c.read(PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE;
        int exp = c.findCapability(PCI_CAP_ID_EXP);
        int pm = c.findCapability(PCI_CAP_ID_PM);
        ResetMethod method = ResetMethod.NONE;
        if (exp != 0 && (c.read(exp + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) != 0) {
            method = ResetMethod.FLR;
        } else if (pm != 0 && (c.read(pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET) == 0) {
            method = ResetMethod.PM;
        }
        if (method != ResetMethod.NONE) {
            int[] saved = new int[16];
            for (int i = 0; i < saved.length; i++) {
                saved[i] = c.read(i * 4, 4);
            }
            // A PF's reset clears VF Enable, so its VFs vanish; Linux's pci_restore_state puts
            // them back (drivers/pci/iov.c: pci_restore_iov_state, from the state sriov_enable
            // kept, which the registers read here equal).
            int[] iov = bridge ? null : saveIov(c);
            c.write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
            if (method == ResetMethod.FLR) {
                // pci_wait_for_pending_transaction polls Transactions Pending; the model never sets it.
                c.read(exp + PCI_EXP_DEVSTA, 2);
                c.write(exp + PCI_EXP_DEVCTL, 2, c.read(exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
            } else {
                int csr = c.read(pm + PCI_PM_CTRL, 2) & ~PCI_PM_CTRL_STATE_MASK;
                c.write(pm + PCI_PM_CTRL, 2, csr | PCI_D3HOT);
                c.write(pm + PCI_PM_CTRL, 2, csr | PCI_D0);
            }
            if (bridge) {
                restore(c, saved, 15, 0);
            } else {
                restore(c, saved, 15, 10);
                restore(c, saved, 9, 4);
                restore(c, saved, 3, 0);
            }
            if (iov != null) {
                restoreIov(c, iov);
            }
        }
        disable(c, bridge);
        return method;
    }

    private static final int SRIOV_CTRL = 0x08;
    private static final int SRIOV_CTRL_VFE = 0x0001;
    private static final int SRIOV_CTRL_ARI = 0x0010;
    private static final int SRIOV_NUM_VF = 0x10;
    private static final int SRIOV_SYS_PGSIZE = 0x20;
    private static final int SRIOV_BAR = 0x24;

    /**
     * A PF's SR-IOV state while its VFs are enabled: {position, ctrl, NumVFs, System Page Size,
     * VF BAR0..5}; null for a function without SR-IOV or with VF Enable clear (nothing to restore).
     */
    private static int[] saveIov(Config c) {
        int pos = c.findExtCapability(org.xenpci.core.pci.PciRegs.PCI_EXT_CAP_ID_SRIOV);
        if (pos == 0) {
            return null;
        }
        int ctrl = c.read(pos + SRIOV_CTRL, 2);
        if ((ctrl & SRIOV_CTRL_VFE) == 0) {
            return null;
        }
        int[] iov = new int[4 + 6];
        iov[0] = pos;
        iov[1] = ctrl;
        iov[2] = c.read(pos + SRIOV_NUM_VF, 2);
        iov[3] = c.read(pos + SRIOV_SYS_PGSIZE, 4);
        for (int i = 0; i < 6; i++) {
            iov[4 + i] = c.read(pos + SRIOV_BAR + 4 * i, 4);
        }
        return iov;
    }

    /**
     * {@code sriov_restore_state} (drivers/pci/iov.c): nothing if VF Enable survived; else the ARI
     * bit first (it changes offset and stride), the VF BARs, System Page Size, NumVFs, and last
     * SR-IOV Control with VF Enable, so the VFs come back, in their power-on state.
     */
    private static void restoreIov(Config c, int[] iov) {
        int pos = iov[0];
        int ctrl = c.read(pos + SRIOV_CTRL, 2);
        if ((ctrl & SRIOV_CTRL_VFE) != 0) {
            return;
        }
        c.write(pos + SRIOV_CTRL, 2, ctrl & ~SRIOV_CTRL_ARI | iov[1] & SRIOV_CTRL_ARI);
        for (int i = 0; i < 6; i++) {
            c.write(pos + SRIOV_BAR + 4 * i, 4, iov[4 + i]);
        }
        c.write(pos + SRIOV_SYS_PGSIZE, 4, iov[3]);
        c.write(pos + SRIOV_NUM_VF, 2, iov[2]);
        c.write(pos + SRIOV_CTRL, 2, iov[1]);
    }

    /** {@code pci_restore_config_space_range}: dwords {@code from} down to {@code to}, each only if changed. */
    private static void restore(Config c, int[] saved, int from, int to) {
        for (int i = from; i >= to; i--) {
            if (i == PCI_COMMAND / 4) {
                int cmd = saved[i] & 0xffff & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
                if (c.read(PCI_COMMAND, 2) != cmd) {
                    c.write(PCI_COMMAND, 2, cmd);
                }
            } else if (c.read(i * 4, 4) != saved[i]) {
                c.write(i * 4, 4, saved[i]);
            }
        }
    }

    /** {@code xen_pcibk_reset_device}. */
    private static void disable(Config c, boolean bridge) {
        int cmd = c.read(PCI_COMMAND, 2);
        if (bridge) {
            if ((cmd & PCI_COMMAND_INVALIDATE) != 0) {
                c.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INVALIDATE);
            }
            return;
        }
        int msix = c.findCapability(PCI_CAP_ID_MSIX);
        if (msix != 0) {
            int ctrl = c.read(msix + PCI_MSIX_FLAGS, 2);
            if ((ctrl & PCI_MSIX_FLAGS_ENABLE) != 0) {
                c.write(msix + PCI_MSIX_FLAGS, 2, ctrl & ~PCI_MSIX_FLAGS_ENABLE);
            }
        }
        int msi = c.findCapability(PCI_CAP_ID_MSI);
        if (msi != 0) {
            int ctrl = c.read(msi + PCI_MSI_FLAGS, 2);
            if ((ctrl & PCI_MSI_FLAGS_ENABLE) != 0) {
                c.write(msi + PCI_MSI_FLAGS, 2, ctrl & ~PCI_MSI_FLAGS_ENABLE);
            }
        }
        if ((cmd & PCI_COMMAND_MASTER) != 0) {
            c.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
        }
    }

    /** One function's config space through dom0's window. */
    private record Config(EcamPort port, int bus, int devfn) {
        int read(int reg, int size) {
            return port.read(bus, devfn, reg, size);
        }

        void write(int reg, int size, int value) {
            port.write(bus, devfn, reg, size, value);
        }

        /** {@code pci_find_capability}: offset of legacy capability {@code id}, or 0 (at most 48 hops). */
        int findCapability(int id) {
            return port.findCapability(bus, devfn, id);
        }

        /** {@code pci_find_ext_capability}: offset of extended capability {@code id}, or 0. */
        int findExtCapability(int id) {
            for (int pos = 0x100, ttl = (4096 - 0x100) / 8; pos >= 0x100 && ttl > 0; ttl--) {
                int header = read(pos, 4);
                if (header == 0 || header == -1) {
                    return 0;
                }
                if ((header & 0xffff) == id) {
                    return pos;
                }
                pos = (header >>> 20) & 0xffc;
            }
            return 0;
        }
    }
}
