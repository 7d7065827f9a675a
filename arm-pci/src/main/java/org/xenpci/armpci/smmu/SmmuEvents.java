package org.xenpci.armpci.smmu;

import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/** Trace events of the SMMUv3 model. */
public final class SmmuEvents {
    private SmmuEvents() {
    }

    /**
     * A stream table entry changed (category {@link TraceCategory#DEVICE}).
     *
     * @param domid the new context domain, or -1 when the STE now aborts or was invalidated
     * @param smmu the SMMU's DT path
     * @param sid the stream ID
     * @param valid false once the STE is invalidated (device removed)
     */
    public record SteChanged(int domid, String smmu, int sid, boolean valid) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }

    /**
     * A DMA translation faulted (category {@link TraceCategory#FAULT}): an event-queue record.
     *
     * @param domid the STE's context domain, or -1 if none (no STE, or an aborting one)
     * @param sbdf the device the STE belongs to, or null without a valid STE
     * @param smmu the SMMU's DT path
     * @param sid the stream ID presented (the host bridge's iommu-map of the requester ID)
     * @param iova the input (bus) address
     * @param write true for a write, false for a read
     * @param reason why
     */
    public record DmaFault(int domid, Sbdf sbdf, String smmu, int sid, long iova, boolean write,
            DmaTranslation.Reason reason) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }
}
