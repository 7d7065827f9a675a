package org.xenpci.libxl.toolstack;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.xenpci.core.Domain;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.libxl.config.PciSpec;
import org.xenpci.libxl.config.XlConfig;

/**
 * A domain the toolstack built: the config it was created from, the hypervisor's domain, the
 * guest device tree written for it, and the devices the saved config lists (creation-time
 * {@code pci=} entries plus every later {@code pci-attach}, libxl__device_pci_add_xenstore).
 *
 * <p>Thread-safety: the device list is guarded by the owning {@link Libxl}'s lock.
 */
public final class LibxlDomain {
    private final XlConfig config;
    private final Domain domain;
    private final Fdt deviceTree;
    private final List<PciSpec> savedPci = new ArrayList<>();

    LibxlDomain(XlConfig config, Domain domain, Fdt deviceTree) {
        this.config = Objects.requireNonNull(config, "config");
        this.domain = Objects.requireNonNull(domain, "domain");
        this.deviceTree = Objects.requireNonNull(deviceTree, "deviceTree");
        savedPci.addAll(config.pciDevices());
    }

    /** The domain ID Xen gave it. */
    public int domid() {
        return domain.domid();
    }

    /** {@code c_info.name}. */
    public String name() {
        return domain.name();
    }

    /** The config as given to {@link Libxl#createDomain}. */
    public XlConfig config() {
        return config;
    }

    /** The hypervisor's domain. */
    public Domain domain() {
        return domain;
    }

    /** The finalised guest device tree (also set as {@code domain().deviceTree()}). */
    public Fdt deviceTree() {
        return deviceTree;
    }

    /** The {@code pci=} entries of the saved domain config, creation-time first, then attaches. */
    public synchronized List<PciSpec> savedPciDevices() {
        return List.copyOf(savedPci);
    }

    synchronized void appendSavedPci(PciSpec spec) {
        savedPci.add(spec);
    }
}
