package org.xenpci.libxl.toolstack;

import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/** Trace events of the toolstack model (category {@link TraceCategory#DEVICE}). */
public final class ToolstackEvents {
    private ToolstackEvents() {
    }

    /**
     * A recorded iomem/ioport permission change (no hypercall: see {@link PermissionGrant}).
     *
     * @param domid the guest
     * @param sbdf the function whose resource it is
     * @param io I/O ports rather than MMIO frames
     * @param first first frame or port
     * @param count frames or ports
     * @param allow granted (true) or revoked
     */
    public record Permission(int domid, Sbdf sbdf, boolean io, long first, long count, boolean allow) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }

    /**
     * A libxl device operation finished.
     *
     * @param domid target domain (DOMID_IO 0x7ff1 for assignable add/remove)
     * @param op {@code pci-assignable-add}, {@code pci-assignable-remove}, {@code pci-add},
     *        {@code pci-remove} or {@code pci-destroy}
     * @param sbdf the function
     * @param rc 0 or the libxl error code
     */
    public record DeviceOp(int domid, String op, Sbdf sbdf, int rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }
}
