package org.xenpci.libxl.toolstack;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.xenpci.core.pci.Sbdf;

/**
 * Dom0's driver binding of PCI functions, as libxl sees it through sysfs
 * ({@code /sys/bus/pci/devices/<bdf>/driver}, {@code /sys/bus/pci/drivers/pciback/<bdf>}).
 * Dom0 drivers are not modelled: every function dom0 enumerated starts bound to a notional
 * driver, {@code /sys/bus/pci/drivers/pcieport} for bridges and {@code /sys/bus/pci/drivers/dom0}
 * for endpoints, so that the rebind path of {@code pci-assignable-remove -r} has a target.
 *
 * <p>Thread-safety: synchronized; the toolstack serialises its operations anyway.
 */
public final class Pciback {
    /** The sysfs path of the pciback driver ({@code SYSFS_PCIBACK_DRIVER}). */
    public static final String PCIBACK_DRIVER = "/sys/bus/pci/drivers/pciback";

    private final Map<Sbdf, String> driver = new TreeMap<>();

    Pciback(Map<Sbdf, String> initialDrivers) {
        driver.putAll(initialDrivers);
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
}
