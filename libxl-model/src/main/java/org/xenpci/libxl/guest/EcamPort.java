package org.xenpci.libxl.guest;

import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.EcamAddress;

/**
 * A guest's config-space accessor: loads and stores into an ECAM window at a guest-physical
 * address, exactly what a Linux {@code pci-host-ecam-generic} driver does. The window's offset 0
 * is bus {@code busStart}.
 *
 * <p>A data abort on a config access (the upstream profile gives guests no vPCI handler) is
 * recorded and the access reads as all-ones, which is what the guest's fault handler would
 * leave behind for a probe ({@link #aborts()} tells the scenario it happened).
 */
public final class EcamPort implements ConfigPort {
    private final Vcpu vcpu;
    private final long base;
    private final long size;
    private final int busStart;
    private int aborts;

    /**
     * @param base guest-physical base of the window
     * @param size window size in bytes
     * @param busStart bus number at offset 0
     */
    public EcamPort(Vcpu vcpu, long base, long size, int busStart) {
        this.vcpu = vcpu;
        this.base = base;
        this.size = size;
        this.busStart = busStart;
    }

    @Override
    public int busStart() {
        return busStart;
    }

    /** Last bus the window covers (1 MiB per bus). */
    @Override
    public int busEnd() {
        return (int) Math.min(255, busStart + (size >> 20) - 1);
    }

    /** Number of accesses that took a data abort. */
    @Override
    public int aborts() {
        return aborts;
    }

    /** Reads {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    @Override
    public int read(int bus, int devfn, int reg, int width) {
        long gpa = address(bus, devfn, reg);
        long v = vcpu.mmioRead(gpa, width);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
            return width == 4 ? -1 : (1 << (8 * width)) - 1;
        }
        return (int) v;
    }

    /** Writes {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    @Override
    public void write(int bus, int devfn, int reg, int width, int value) {
        vcpu.mmioWrite(address(bus, devfn, reg), width, value & 0xffffffffL);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
        }
    }

    private long address(int bus, int devfn, int reg) {
        return base + EcamAddress.offsetOf(bus - busStart, devfn >> 3, devfn & 7, reg);
    }
}
