package org.xenpci.libxl.guest;

import static org.xenpci.core.pci.PciRegs.*;

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
public final class EcamPort {
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

    public int busStart() {
        return busStart;
    }

    /** Last bus the window covers (1 MiB per bus). */
    public int busEnd() {
        return (int) Math.min(255, busStart + (size >> 20) - 1);
    }

    /** Number of accesses that took a data abort. */
    public int aborts() {
        return aborts;
    }

    /** Reads {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
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
    public void write(int bus, int devfn, int reg, int width, int value) {
        vcpu.mmioWrite(address(bus, devfn, reg), width, value & 0xffffffffL);
        if (vcpu.takeDataAbort() != null) {
            aborts++;
        }
    }

    /**
     * Offset of legacy capability {@code id} of function {@code bus:devfn}, walking the list the
     * way Linux's {@code pci_find_capability} does (at most 48 hops, offsets below 0x40 end it),
     * or 0 if it has none.
     */
    public int findCapability(int bus, int devfn, int id) {
        if ((read(bus, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) == 0) {
            return 0;
        }
        int pos = read(bus, devfn, PCI_CAPABILITY_LIST, 1);
        for (int ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
            pos &= ~3;
            int header = read(bus, devfn, pos, 2);
            if ((header & 0xff) == 0xff) {
                return 0;
            }
            if ((header & 0xff) == id) {
                return pos;
            }
            pos = header >>> 8;
        }
        return 0;
    }

    private long address(int bus, int devfn, int reg) {
        return base + EcamAddress.offsetOf(bus - busStart, devfn >> 3, devfn & 7, reg);
    }
}
