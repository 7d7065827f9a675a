package org.xenpci.armpci.smmu;

import org.xenpci.core.BackingMemory;

/**
 * The outcome of one device DMA address translated by the SMMU's stage 2
 * ({@link SmmuV3#translate}): a value, never an exception, so DMA checks can run against
 * misbehaving devices. Consume with {@code instanceof} (Java 17).
 */
public sealed interface DmaTranslation permits DmaTranslation.Ram, DmaTranslation.Mmio, DmaTranslation.Fault {

    /**
     * The IOVA hits RAM of the owning domain.
     *
     * @param memory the backing memory
     * @param offset byte offset within {@code memory}
     * @param maddr the machine address if that memory is a host RAM bank (the hardware domain's
     *        1:1 RAM), else -1 (guest RAM the model does not carve out of host banks)
     */
    record Ram(BackingMemory memory, long offset, long maddr) implements DmaTranslation {
    }

    /**
     * The IOVA hits a direct-mapped device region of the owning domain (peer-to-peer DMA).
     *
     * @param maddr the machine address
     */
    record Mmio(long maddr) implements DmaTranslation {
    }

    /**
     * The SMMU refused the transaction (an event-queue record on real hardware).
     *
     * @param sid the stream ID presented
     * @param iova the input address
     * @param reason why
     */
    record Fault(int sid, long iova, Reason reason) implements DmaTranslation {
    }

    /** SMMUv3 fault classes the model produces (event names of the Arm SMMUv3 architecture specification, IHI 0070, section 7.3, in brackets). */
    enum Reason {
        /** The SID is at or above 2^SIDSIZE [C_BAD_STREAMID]. */
        BAD_STREAMID,
        /** No valid STE: the device was never added [C_BAD_STE]. */
        BAD_STE,
        /** The STE aborts: the device is detached, e.g. quarantined in dom_io (Xen sets disable_bypass) [F_STREAM_DISABLED]. */
        STREAM_DISABLED,
        /** Stage 2 has no RAM or device mapping at the IOVA [F_TRANSLATION]. */
        TRANSLATION
    }

    /** True if the access would reach memory or a device. */
    default boolean isMapped() {
        return !(this instanceof Fault);
    }
}
