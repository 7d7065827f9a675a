package org.xenpci.armpci;

import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/** Trace events of Xen's Arm PCI layer (category {@link TraceCategory#DEVICE}). */
public final class ArmPciEvents {
    private ArmPciEvents() {
    }

    /** A host bridge was probed and registered at boot. */
    public record HostBridgeRegistered(String path, int segment, long ecamBase, long ecamSize, int busStart, int busEnd)
            implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }

        @Override
        public int domid() {
            return -1;
        }
    }

    /** PHYSDEVOP_pci_device_add succeeded; {@code domid} is the owner afterwards. */
    public record PdevAdded(int domid, Sbdf sbdf, PdevType type) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }

    /** A pdev was freed ({@code rc} is what the remove returned; the pdev is gone either way). */
    public record PdevRemoved(Sbdf sbdf, int rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }

        @Override
        public int domid() {
            return -1;
        }
    }

    /** A device changed owner through assignment or deassignment; {@code domid} is the new owner. */
    public record PdevAssigned(int domid, Sbdf sbdf, int fromDomid) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }

    /** {@code pci_release_devices}: the first device of dying domain {@code domid} that could not be deassigned. */
    public record PdevReleaseFailed(int domid, Sbdf sbdf, int rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }
}
