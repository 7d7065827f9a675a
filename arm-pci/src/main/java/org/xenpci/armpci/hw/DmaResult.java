package org.xenpci.armpci.hw;

import java.util.Objects;

/**
 * The outcome of a device-initiated memory request ({@link PciFunction#dmaRead},
 * {@link PciFunction#dmaWrite}): a value, never an exception, for any address. Consume with
 * {@code instanceof} or a switch on the type.
 */
public sealed interface DmaResult permits DmaResult.Completed, DmaResult.Fault {

    /** The one completion of writes and bulk transfers (they carry no data back). */
    Completed DONE = new Completed(0);

    /**
     * The request completed.
     *
     * @param value the data read (little-endian, {@code size} bytes zero-extended); 0 for writes
     *        and bulk transfers, which return {@link #DONE}
     */
    record Completed(long value) implements DmaResult {
    }

    /** Why a request did not complete. */
    enum Reason {
        /** COMMAND.MASTER is clear: the function issues no memory request (PCIe Base 7.5.1.1.3). */
        BUS_MASTER_OFF,
        /** The function is not placed behind a host bridge: there is no link to send it on. */
        NOT_CONNECTED,
        /** The IOMMU in the bridge's {@code iommu-map} refused it ({@link Fault#iommuFault()} says why). */
        IOMMU_FAULT,
        /**
         * Translated, but nothing on the physical side claims the address (no region, a BAR
         * window no enabled BAR decodes, or an access running past RAM): an Unsupported Request
         * completion (PCIe Base 2.2.9). Reads complete with all-ones on real hardware.
         */
        UNSUPPORTED_REQUEST
    }

    /**
     * The request did not complete.
     *
     * @param reason why
     * @param iommuFault the IOMMU's reason when {@code reason} is {@link Reason#IOMMU_FAULT}, else null
     * @param requesterId the requester ID the request carried, or -1 if it never left the function
     * @param address the bus address requested
     * @param write true for a write
     */
    record Fault(Reason reason, IommuFault iommuFault, int requesterId, long address, boolean write)
            implements DmaResult {
        public Fault {
            Objects.requireNonNull(reason, "reason");
            if ((reason == Reason.IOMMU_FAULT) != (iommuFault != null)) {
                throw new IllegalArgumentException("an IOMMU reason goes with IOMMU_FAULT only");
            }
        }
    }

    /** True if the request completed. */
    default boolean completed() {
        return this instanceof Completed;
    }
}
