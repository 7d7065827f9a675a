package org.xenpci.libxl.audit;

import java.util.List;

/**
 * What one audit found.
 *
 * @param violations broken invariants (always empty under {@code full} when the model is right)
 * @param upstreamFindings what real Xen leaves behind (upstream profile only)
 */
public record AuditReport(List<Violation> violations, List<UpstreamFinding> upstreamFindings) {
    public AuditReport {
        violations = List.copyOf(violations);
        upstreamFindings = List.copyOf(upstreamFindings);
    }

    /** True if no invariant is broken (upstream findings do not count). */
    public boolean clean() {
        return violations.isEmpty();
    }
}
