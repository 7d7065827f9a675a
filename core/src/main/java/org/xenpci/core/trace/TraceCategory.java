package org.xenpci.core.trace;

/**
 * Coarse event families. A sink enables categories individually so that the hot config-access
 * path allocates nothing when its categories are off (the event is never constructed).
 */
public enum TraceCategory {
    /** Every MMIO trap taken (one per guest access to a trapped page). Hot. */
    TRAP,
    /** Every emulated config-space access, after decode. Hot. */
    CONFIG,
    /** Guest misbehaviour: data aborts, refused or dropped accesses, masked faults. */
    FAULT,
    /** Hypercalls and their results. */
    HYPERCALL,
    /** p2m map and unmap operations. */
    P2M,
    /** Device lifecycle: pdev add/remove, vPCI attach/detach, assignment. */
    DEVICE,
    /** Interrupts: what goes wrong or changes state (drops, vITS command results, MSI writes refused). */
    IRQ,
    /** Physical bus activity that reached no device. */
    BUS,
    /**
     * Every MSI message delivered: the ITS translation and the LPI made pending (one pair per
     * interrupt a device raises). Hot; added in trace.jsonl format 3 (these two events were
     * {@link #IRQ} before).
     */
    MSI
}
