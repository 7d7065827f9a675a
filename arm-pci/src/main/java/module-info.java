/**
 * The hardware side of PCI on Arm ({@code org.xenpci.armpci.hw}: host bridge hardware, ECAM,
 * PCI functions and bridges, config dumps) and Xen's Arm PCI layer ({@code org.xenpci.armpci}:
 * host bridge discovery, segments, config access, the pdev registry, PHYSDEVOPs, the assignment
 * domctls) and the SMMUv3 model ({@code org.xenpci.armpci.smmu}).
 */
module org.xenpci.armpci {
    requires transitive org.xenpci.core;
    requires com.fasterxml.jackson.databind;

    exports org.xenpci.armpci;
    exports org.xenpci.armpci.hw;
    exports org.xenpci.armpci.smmu;
    exports org.xenpci.armpci.platform;
}
