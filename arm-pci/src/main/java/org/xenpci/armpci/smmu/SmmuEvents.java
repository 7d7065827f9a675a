package org.xenpci.armpci.smmu;

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
     * A DMA translation faulted (category {@link TraceCategory#FAULT}).
     *
     * @param domid the STE's context domain, or -1 if none
     */
    public record DmaFault(int domid, String smmu, int sid, long iova, DmaTranslation.Reason reason) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }
}
