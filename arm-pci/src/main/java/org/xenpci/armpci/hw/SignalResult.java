package org.xenpci.armpci.hw;

/** What a function did when asked to signal a message vector ({@link PciFunction#signal}). */
public enum SignalResult {
    /** The memory write was issued upstream (whether the MSI controller accepts it is its business). */
    SENT,
    /** The vector (or the whole function) is masked: its pending bit is now set. */
    PENDING,
    /** Neither MSI nor MSI-X is enabled (the function would use INTx, which is not modelled). */
    DISABLED,
    /**
     * COMMAND.MASTER is clear (PCIe Base 7.5.1.1.3), or the function is not in power state D0
     * (PCI PM 1.2, 5.3.1.4): it may not issue memory writes.
     */
    BUS_MASTER_DISABLED,
    /** The vector is outside the enabled MSI vectors or the MSI-X table. */
    NO_SUCH_VECTOR,
    /** The function has neither an MSI nor an MSI-X capability with behaviour. */
    NO_CAPABILITY,
    /** The function is not placed behind a host bridge, so the write goes nowhere. */
    NOT_CONNECTED
}
