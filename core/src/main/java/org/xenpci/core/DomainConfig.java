package org.xenpci.core;

/**
 * What a domain is created with (the subset of {@code xen_domctl_createdomain} the model uses).
 *
 * @param name a label for traces and listings
 * @param vcpus number of vCPUs, at least 1 (GUEST_MAX_VCPUS is 128)
 * @param hardwareDomain true for dom0
 * @param privileged Xen's is_privileged (the control domain)
 * @param iommu {@code XEN_DOMCTL_CDF_iommu}: devices may be assigned
 * @param vgicVersion {@code xen_arch_domainconfig.gic_version} resolved: 2 or 3. Only a vGICv3
 *                    domain has a virtual ITS ({@code xen/arch/arm/vgic-v3.c: vgic_v3_domain_init}
 *                    calls {@code vgic_v3_its_init_domain}; vGICv2 has no MSI controller)
 */
public record DomainConfig(String name, int vcpus, boolean hardwareDomain, boolean privileged, boolean iommu,
                           int vgicVersion) {
    public DomainConfig {
        java.util.Objects.requireNonNull(name, "name");
        if (vcpus < 1 || vcpus > 128) {
            throw new IllegalArgumentException("vcpus must be 1..128, not " + vcpus);
        }
        if (vgicVersion != 2 && vgicVersion != 3) {
            throw new IllegalArgumentException("vgicVersion must be 2 or 3, not " + vgicVersion);
        }
    }

    /** A vGICv3 domain (the model's hosts all have a GICv3). */
    public DomainConfig(String name, int vcpus, boolean hardwareDomain, boolean privileged, boolean iommu) {
        this(name, vcpus, hardwareDomain, privileged, iommu, 3);
    }

    /** An ordinary guest with passthrough enabled (libxl sets CDF_iommu when pci= is non-empty). */
    public static DomainConfig guest(String name, int vcpus) {
        return new DomainConfig(name, vcpus, false, false, true);
    }
}
