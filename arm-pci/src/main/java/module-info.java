/**
 * The hardware side of PCI on Arm ({@code org.xenpci.armpci.hw}: host bridge hardware, ECAM,
 * PCI functions and bridges; {@code .hw.dump}: config dumps; {@code .its}: the GICv3 ITS),
 * Xen's Arm PCI layer ({@code org.xenpci.armpci}: host bridge discovery, segments, config
 * access, the pdev registry, PHYSDEVOPs, the assignment domctls), Xen's ITS support
 * ({@code .gicv3}), the SMMUv3 model ({@code .smmu}) and platform files ({@code .platform}).
 */
module org.xenpci.armpci {
    requires transitive org.xenpci.core;
    requires com.fasterxml.jackson.databind;

    // Every package is API: users build boards from hardware models (hw, its, smmu), load
    // config dumps (hw.dump) and platform files (platform), and enable or inspect Xen's
    // extensions (armpci, gicv3: XenHost hands out GicV3Its and ItsLayer).
    exports org.xenpci.armpci;
    exports org.xenpci.armpci.hw;
    exports org.xenpci.armpci.hw.dump;
    exports org.xenpci.armpci.hw.nvme;
    exports org.xenpci.armpci.its;
    exports org.xenpci.armpci.gicv3;
    exports org.xenpci.armpci.smmu;
    exports org.xenpci.armpci.platform;
}
