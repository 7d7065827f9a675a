package org.xenpci.core.trace;

/**
 * An immutable record of something the model did. Core defines the common events in
 * {@link Events}; upper modules add their own records implementing this interface.
 */
public interface TraceEvent {
    /** The category this event belongs to; sinks filter on it. */
    TraceCategory category();

    /** The domain the event concerns, or -1 for hardware/hypervisor-wide events. */
    int domid();
}
