package org.xenpci.libxl.audit;

import java.util.Objects;

/**
 * One broken invariant: which, the domain and function involved, what exactly (frame, vector,
 * stream), and the step after which the auditor saw it.
 *
 * @param invariant the invariant
 * @param domid the domain whose state is wrong (the owner, or the domain that reaches too far)
 * @param device the function involved ({@code ssss:bb:dd.f}), or "" if none
 * @param detail what is wrong, with addresses in hex
 * @param operation the step after which it was found (an access, a hypercall, a toolstack
 *        operation, or "check" for an explicit call)
 */
public record Violation(Invariant invariant, int domid, String device, String detail, String operation) {
    public Violation {
        Objects.requireNonNull(invariant, "invariant");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(operation, "operation");
    }

    @Override
    public String toString() {
        return invariant + " d" + domid + (device.isEmpty() ? "" : " " + device) + ": " + detail + " (after " + operation + ")";
    }
}
