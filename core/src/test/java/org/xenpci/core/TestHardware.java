package org.xenpci.core;

import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/** Minimal hosts for core tests: a root node with one 1 GiB memory bank at 0x40000000. */
final class TestHardware {
    private TestHardware() {
    }

    static Fdt hostDt() {
        FdtNode memory = FdtNode.builder("memory@40000000")
                .property(FdtProperty.string("device_type", "memory"))
                .property(FdtProperty.u32("reg", 0, 0x40000000, 0, 0x40000000))
                .build();
        return Fdt.of(FdtNode.root()
                .property(FdtProperty.u32("#address-cells", 2))
                .property(FdtProperty.u32("#size-cells", 2))
                .child(memory)
                .build());
    }

    static Hardware hardware() {
        return new Hardware(hostDt(), new PhysicalAddressSpace());
    }
}
