/**
 * The hardware side of PCI on Arm ({@code org.xenpci.armpci.hw}: host bridge hardware, ECAM,
 * ({@code org.xenpci.armpci}: host bridge discovery, segments, config access, the pdev registry,
 * PCI functions and bridges, config dumps) and Xen's Arm PCI layer ({@code org.xenpci.armpci}:
 * PCI functions and bridges; {@code .hw.dump}: config dumps) and Xen's Arm PCI layer
 * PHYSDEVOPs), plus platform files ({@code .platform}).
 * domctls) and the SMMUv3 model ({@code org.xenpci.armpci.smmu}).
 * host bridge discovery, segments, config access, the pdev registry, PHYSDEVOPs, the assignment
 */
module org.xenpci.armpci {
    requires transitive org.xenpci.core;
    requires com.fasterxml.jackson.databind;

    exports org.xenpci.armpci;
    exports org.xenpci.armpci.hw;
    exports org.xenpci.armpci.hw.dump;
    exports org.xenpci.armpci.smmu;
    exports org.xenpci.armpci.platform;
}
