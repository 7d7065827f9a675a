package org.xenpci.libxl.audit;

import java.util.Objects;

/**
 * Something real Xen 4.23 itself leaves behind, reported under the {@code upstream} profile
 * instead of a {@link Violation}: the invariant it would break, where, and the Xen code path
 * responsible (docs/security.md, "Upstream findings").
 *
 * @param invariant the invariant real Xen does not keep here
 * @param domid the domain involved
 * @param device the function involved, or ""
 * @param detail what is left behind
 * @param xenPath the Xen source path and function that explain it
 */
public record UpstreamFinding(Invariant invariant, int domid, String device, String detail, String xenPath) {
    public UpstreamFinding {
        Objects.requireNonNull(invariant, "invariant");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(xenPath, "xenPath");
    }

    @Override
    public String toString() {
        return "upstream " + invariant + " d" + domid + (device.isEmpty() ? "" : " " + device) + ": " + detail + " [" + xenPath + "]";
    }
}
