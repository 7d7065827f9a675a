/**
 * The hypervisor skeleton of xenpci: domains, p2m, MMIO trap dispatch, hypercalls, XSM,
 * boot options, trace events, PCI vocabulary and the flattened device tree.
 */
module org.xenpci.core {
    requires transitive org.slf4j;

    // Every package is API (the testkit is test-jar only, not in this module).
    exports org.xenpci.core;
    exports org.xenpci.core.fdt;
    exports org.xenpci.core.pci;
    exports org.xenpci.core.trace;
}
