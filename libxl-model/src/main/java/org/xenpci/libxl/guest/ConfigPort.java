package org.xenpci.libxl.guest;

/**
 * How a guest kernel reaches PCI config space on one host bridge: {@link EcamPort} for ECAM
 * windows, {@link DesignWarePort} for a DesignWare root complex driven directly. Accesses that
 * take a data abort read all-ones and are counted in {@link #aborts()}.
 */
public interface ConfigPort {
    /** First bus (the root bus). */
    int busStart();

    /** Last bus the port can reach. */
    int busEnd();

    /** Number of accesses that took a data abort. */
    int aborts();

    /** Reads {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    int read(int bus, int devfn, int reg, int width);

    /** Writes {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    void write(int bus, int devfn, int reg, int width, int value);
}
