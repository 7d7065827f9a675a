package org.xenpci.libxl.audit;

/**
 * The isolation invariants {@link IsolationAuditor} checks (docs/security.md, "Invariants").
 */
public enum Invariant {
    /**
     * Every direct-MMIO page of a domain maps device memory of a function the domain owns (or its
     * own iomem grants, not modelled); no page of any domain maps a BAR of a function another
     * domain owns; a dead domain maps nothing.
     */
    MMIO_MAPPING,
    /**
     * Every armed physical MSI/MSI-X vector (function enabled, bus master on, vector unmasked) is
     * aimed at the doorbell of the host ITS the bridge's {@code msi-map} routes the function to,
     * and whatever that DeviceID and event are mapped to on the host ITS belongs to the owner.
     */
    MSI_ROUTING,
    /** Every IOMMU stream of a function translates with its owner's context (dom_io: abort). */
    IOMMU_CONTEXT,
    /**
     * A quarantined function (owned by dom_io) has memory and I/O decoding, bus master, MSI and
     * MSI-X off, and no domain maps it.
     */
    QUARANTINE,
    /** A guest's access or hypercall changes no other domain's state. */
    CROSS_DOMAIN
}
