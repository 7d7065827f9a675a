package org.xenpci.vpci;

import org.xenpci.core.Hex;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.trace.TraceEvent;

/** Trace events of the vPCI layer. */
public final class VpciEvents {
    private VpciEvents() {
    }

    /**
     * One emulated config access after decode. {@code sbdf} is packed ({@code seg << 16 | bdf}) and
     * is the guest's address for a domU.
     */
    public record ConfigAccess(int domid, int sbdf, int reg, int size, boolean write, long value) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.CONFIG;
        }

        @Override
        public String toString() {
            return "ConfigAccess[d" + domid + " " + Sbdf.fromPacked(sbdf) + " " + (write ? "write " : "read ")
                    + Hex.of(reg) + "/" + size + " = " + Hex.of(value) + "]";
        }
    }

    /** vPCI state attached to or detached from a device for a domain. */
    public record Attached(int domid, Sbdf machine, boolean attached, int rc) implements TraceEvent {
        @Override
        public TraceCategory category() {
            return TraceCategory.DEVICE;
        }
    }
}
