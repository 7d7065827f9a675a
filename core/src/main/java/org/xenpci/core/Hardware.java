package org.xenpci.core;

import java.util.Objects;
import org.xenpci.core.fdt.Fdt;

/**
 * The physical Arm platform Xen boots on: its device tree and its physical address space.
 * Devices (host bridges, PCI functions, an ITS) are registered on the address space by the
 * modules that model them; Xen reaches them only through it, as real Xen reaches hardware
 * through ioremap.
 */
public final class Hardware {
    private final Fdt deviceTree;
    private final PhysicalAddressSpace addressSpace;

    public Hardware(Fdt deviceTree, PhysicalAddressSpace addressSpace) {
        this.deviceTree = Objects.requireNonNull(deviceTree, "deviceTree");
        this.addressSpace = Objects.requireNonNull(addressSpace, "addressSpace");
    }

    /** The host device tree as firmware hands it to Xen. */
    public Fdt deviceTree() {
        return deviceTree;
    }

    public PhysicalAddressSpace addressSpace() {
        return addressSpace;
    }
}
