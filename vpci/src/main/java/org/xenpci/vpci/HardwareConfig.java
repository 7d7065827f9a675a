package org.xenpci.vpci;

/**
 * The real config space of ONE physical function, as vPCI reaches it for gaps (unhandled
 * bytes) and for handlers that pass through ({@code vpci_hw_read*}/{@code vpci_hw_write*}).
 * The PCI layer implements it over {@code PciConf} and the device's machine SBDF.
 *
 * <p>{@code reg} is a byte offset into the function's 4 KiB config space; {@code size} is 1, 2
 * or 4 bytes; values are zero-extended. Like Xen's {@code pci_conf_read*}, no alignment is
 * enforced: vPCI may issue a 2-byte access at an odd offset for a split gap (xen/drivers/vpci/vpci.c: vpci_read_hw).
 * Implementations must be thread-safe and must not allocate per access.
 */
public interface HardwareConfig {
    /** Reads {@code size} bytes at {@code reg}. */
    int read(int reg, int size);

    /** Writes the low {@code size} bytes of {@code value} at {@code reg}. */
    void write(int reg, int size, int value);
}
