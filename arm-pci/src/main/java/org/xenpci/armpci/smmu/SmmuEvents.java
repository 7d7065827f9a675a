package org.xenpci.armpci.smmu;

import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/** Trace events of the SMMU models (SMMUv3 and SMMUv1/v2). */
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

    /**
     * SMMUv1/v2: a stream map entry (SMR[index] / S2CR[index]) was written (category
     * {@link TraceCategory#DEVICE}).
     *
     * @param smmu the SMMU's DT path
     * @param index the stream map entry
     * @param smr the SMR value now (VALID bit 31, MASK 30:16, ID 14:0)
     * @param s2cr the S2CR value now (TYPE 17:16, CBNDX 7:0)
     */
    public record StreamMapChanged(String smmu, int index, int smr, int s2cr) implements TraceEvent {
        /** Hardware state, no domain: -1. */
        @Override
        public int domid() {
            return -1;
        }

        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }

    /**
     * SMMUv1/v2: a request faulted (category {@link TraceCategory#FAULT}); the matching fault
     * registers (sGFSR or the context bank's FSR) were set as the hardware would.
     *
     * @param smmu the SMMU's DT path
     * @param sid the stream ID presented
     * @param iova the input (bus) address
     * @param write true for a write
     * @param reason the fault class
     * @param contextBank the context bank for a context fault, -1 for a global fault
     * @param domid the domain the context bank's stage 2 is bound to, or -1
     */
    public record V2Fault(String smmu, int sid, long iova, boolean write, IommuFault reason, int contextBank,
            int domid) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.FAULT;
        }
    }
}
