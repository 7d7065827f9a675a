package org.xenpci.core;

/**
 * What a domain is created with (the subset of {@code xen_domctl_createdomain} the model uses).
 *
 * @param name a label for traces and listings
 * @param vcpus number of vCPUs, at least 1 (GUEST_MAX_VCPUS is 128)
 * @param hardwareDomain true for dom0
 * @param privileged Xen's is_privileged (the control domain)
 * @param iommu {@code XEN_DOMCTL_CDF_iommu}: devices may be assigned
 */
public record DomainConfig(String name, int vcpus, boolean hardwareDomain, boolean privileged, boolean iommu) {
    public DomainConfig {
        java.util.Objects.requireNonNull(name, "name");
        if (vcpus < 1 || vcpus > 128) {
            throw new IllegalArgumentException("vcpus must be 1..128, not " + vcpus);
        }
    }

    /** An ordinary guest with passthrough enabled (libxl sets CDF_iommu when pci= is non-empty). */
    public static DomainConfig guest(String name, int vcpus) {
        return new DomainConfig(name, vcpus, false, false, true);
    }
}
