package org.xenpci.armpci.hw;

/**
 * Why an IOMMU refused an inbound request, in the terms every Arm SMMU shares (SMMUv3 event
 * names in brackets, Arm IHI 0070 7.3; an SMMUv1/v2 model reports the same classes from its
 * stream-match and context-fault registers).
 */
public enum IommuFault {
    /** The stream ID is beyond the stream table [C_BAD_STREAMID]. */
    BAD_STREAMID,
    /** No valid stream table entry: software never configured the stream [C_BAD_STE]. */
    BAD_STE,
    /** The entry aborts every transaction: the device is detached (quarantined) [F_STREAM_DISABLED]. */
    STREAM_DISABLED,
    /** The stage-2 tables have no RAM or device mapping at the address [F_TRANSLATION]. */
    TRANSLATION,
    /**
     * SMMUv1/v2 only: more than one valid stream match register matches the stream ID
     * (sGFSR.SMCF, a global fault; Arm IHI 0062 2.4). SMMUv3 has no equivalent.
     */
    STREAM_MATCH_CONFLICT
}
