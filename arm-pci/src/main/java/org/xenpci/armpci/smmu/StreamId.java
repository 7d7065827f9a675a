package org.xenpci.armpci.smmu;

import java.util.Objects;

/**
 * A device's stream ID on one SMMU (the single ID of its {@code iommu_fwspec} for a PCI
 * function).
 *
 * @param smmu the SMMU the ID is meaningful on
 * @param sid the stream ID, {@code 0 <= sid < 2^smmu.sidBits()}
 */
public record StreamId(SmmuV3 smmu, int sid) {
    public StreamId {
        Objects.requireNonNull(smmu, "smmu");
    }

    @Override
    public String toString() {
        return smmu.path() + " sid 0x" + Integer.toHexString(sid);
    }
}
