package org.xenpci.libxl.audit;

import java.util.List;

/**
 * Thrown by an {@link IsolationAuditor} in enforce mode from the step that broke an invariant
 * (the access, hypercall or toolstack call), so a test stops where it happened.
 */
public final class IsolationViolationException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient List<Violation> violations;

    IsolationViolationException(List<Violation> violations) {
        super(violations.size() + " isolation violation(s): " + violations);
        this.violations = List.copyOf(violations);
    }

    /** The violations, first the one that stopped the step. */
    public List<Violation> violations() {
        return violations;
    }
}
