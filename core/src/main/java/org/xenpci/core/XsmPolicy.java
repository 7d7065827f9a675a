package org.xenpci.core;

/**
 * An XSM policy: decides whether {@code caller} may perform {@code hook} on {@code target}
 * (which may be null) with {@code subject} (e.g. a machine SBDF, a frame number).
 * Denials make the hypercall return {@code -EPERM}.
 */
@FunctionalInterface
public interface XsmPolicy {
    boolean permits(XsmHook hook, Domain caller, Domain target, long subject);

    /** Xen's default (dummy) policy: XSM_HOOK always passes, XSM_PRIV needs {@code is_privileged}. */
    XsmPolicy DUMMY = (hook, caller, target, subject) ->
            hook.defaultAction() == XsmHook.XsmAction.HOOK || caller.isPrivileged();
}
