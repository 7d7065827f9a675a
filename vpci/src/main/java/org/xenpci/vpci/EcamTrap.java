package org.xenpci.vpci;

import org.xenpci.core.Domain;
import org.xenpci.core.MmioHandler;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.EcamAddress;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * The Arm vPCI MMIO handler over one ECAM window (xen/arch/arm/vpci.c {@code vpci_mmio_read} /
 * {@code vpci_mmio_write} with {@code vpci_ecam_read/write}; xen/arch/arm/vpci.c, xen/drivers/vpci/vpci.c).
 *
 * <p>Decode: offset = gpa - window base; bus = offset bits 27:20, devfn = 19:12, register =
 * 11:0 ({@link EcamAddress}). The hardware domain's windows add the bridge's first bus (8-bit
 * wrap) and carry its segment; the guest window is segment 0 with no base bus, and the SBDF is
 * then the guest's (vPCI translates through the virtual topology). Access check
 * ({@link VpciAccess#allowed}): 1, 2, 4 or 8 bytes, naturally aligned, inside 4 KiB; anything
 * else is refused, i.e. a data abort. An 8-byte access is two 4-byte vPCI accesses, low half
 * first.
 *
 * <p>Thread-safe (final fields and a kept lookup hint, see {@code vpciDomain}); allocation-free
 * unless the CONFIG trace category is on.
 */
final class EcamTrap implements MmioHandler {
    private final Vpci vpci;
    private final String name;
    private final long base;
    private final int segment;
    private final int busStart;
    private final Trace trace;
    /**
     * The vPCI state of the domain whose p2m holds this trap (one trap serves one domain), kept
     * from its first access so a config read need not find it among the domain's extensions.
     * Written racily with one value; {@link Vpci#read(Domain, VpciDomain, int, int, int)} checks
     * it against the trapping domain and treats it as a hint only.
     */
    private VpciDomain vpciDomain;

    /**
     * @param base guest-physical base of the window
     * @param segment PCI segment the window decodes into
     * @param busStart bus number at window offset 0 (0 for the guest window)
     */
    EcamTrap(Vpci vpci, String name, long base, int segment, int busStart, Trace trace) {
        this.vpci = vpci;
        this.name = name;
        this.base = base;
        this.segment = segment;
        this.busStart = busStart;
        this.trace = trace;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean accepts(Vcpu vcpu, long gpa, int size) {
        return VpciAccess.allowed(EcamAddress.register(gpa - base, EcamAddress.ECAM_REGISTER_BITS), size);
    }

    private int sbdf(long offset) {
        int bus = (busStart + EcamAddress.bus(offset, EcamAddress.ECAM_REGISTER_BITS)) & 0xff;
        return segment << 16 | bus << 8 | EcamAddress.devfn(offset, EcamAddress.ECAM_REGISTER_BITS);
    }

    @Override
    public long read(Vcpu vcpu, long gpa, int size) {
        long offset = gpa - base;
        int sbdf = sbdf(offset);
        int reg = EcamAddress.register(offset, EcamAddress.ECAM_REGISTER_BITS);
        Domain d = vcpu.domain();
        VpciDomain vd = vpciDomain(d);
        long value;
        if (size == 8) {
            long lo = vpci.read(d, vd, sbdf, reg, 4) & 0xffffffffL;
            long hi = vpci.read(d, vd, sbdf, reg + 4, 4) & 0xffffffffL;
            value = lo | hi << 32;
        } else {
            value = vpci.read(d, vd, sbdf, reg, size) & 0xffffffffL;
        }
        if (trace.enabled(TraceCategory.CONFIG)) {
            trace.emit(new VpciEvents.ConfigAccess(d.domid(), sbdf, reg, size, false, value));
        }
        return value;
    }

    /** The vPCI state kept from an earlier access, else {@code d}'s, looked up now (and kept once it exists). */
    private VpciDomain vpciDomain(Domain d) {
        VpciDomain vd = vpciDomain;
        if (vd == null) {
            vd = d.extension(VpciDomain.SLOT);
            vpciDomain = vd;
        }
        return vd;
    }

    @Override
    public void write(Vcpu vcpu, long gpa, int size, long value) {
        long offset = gpa - base;
        int sbdf = sbdf(offset);
        int reg = EcamAddress.register(offset, EcamAddress.ECAM_REGISTER_BITS);
        if (size == 8) {
            vpci.write(vcpu, sbdf, reg, 4, (int) value);
            vpci.write(vcpu, sbdf, reg + 4, 4, (int) (value >>> 32));
        } else {
            vpci.write(vcpu, sbdf, reg, size, (int) value);
        }
        if (trace.enabled(TraceCategory.CONFIG)) {
            trace.emit(new VpciEvents.ConfigAccess(vcpu.domain().domid(), sbdf, reg, size, true, value));
        }
    }
}
