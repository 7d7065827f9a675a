package org.xenpci.armpci.gicv3;

import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Domain;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.trace.TraceCategory;

/**
 * Xen's host LPI bookkeeping (xen/arch/arm/gic-v3-lpi.c): allocation in blocks of
 * {@link ItsRegs#LPI_BLOCK} starting at {@link ItsRegs#LPI_OFFSET}, and for each allocated host
 * LPI the guest it belongs to ({@code union host_lpi}: domain, vCPU, virtual LPI), which
 * {@link #doLpi} ({@code gicv3_do_LPI}) uses to make the virtual LPI pending.
 *
 * <p>Thread-safety: allocation is synchronized; each binding is an immutable record swapped
 * atomically, so the LPI path reads it without locks and never sees half an update.
 */
final class HostLpis {
    private static final Logger LOG = LoggerFactory.getLogger(HostLpis.class);
    /** Xen's {@code INVALID_LPI}: the host LPI is mapped but the guest has not (MAPTI) bound it. */
    static final int INVALID_LPI = 0;

    /** Who a host LPI belongs to. {@code vlpi} is {@link #INVALID_LPI} until the guest maps the event. */
    record Binding(Domain domain, int vcpu, int vlpi) {
    }

    private final Xen xen;
    private final AtomicReferenceArray<Binding> bindings;
    private final boolean[] allocated;

    /** @param maxLpis number of host LPIs available above 8192 (a multiple of 32) */
    HostLpis(Xen xen, int maxLpis) {
        this.xen = xen;
        this.bindings = new AtomicReferenceArray<>(maxLpis);
        this.allocated = new boolean[maxLpis / ItsRegs.LPI_BLOCK];
    }

    /**
     * Allocates a block of 32 host LPIs for {@code d}, all bound to no guest LPI yet.
     *
     * @return the first host LPI, or -1 if none is left (-ENOSPC for the caller)
     */
    synchronized int allocateBlock(Domain d) {
        for (int b = 0; b < allocated.length; b++) {
            if (!allocated[b]) {
                allocated[b] = true;
                for (int i = 0; i < ItsRegs.LPI_BLOCK; i++) {
                    bindings.set(b * ItsRegs.LPI_BLOCK + i, new Binding(d, 0, INVALID_LPI));
                }
                return ItsRegs.LPI_OFFSET + b * ItsRegs.LPI_BLOCK;
            }
        }
        return -1;
    }

    /** Frees the block starting at host LPI {@code first}: its LPIs belong to nobody again. */
    synchronized void freeBlock(int first) {
        int b = (first - ItsRegs.LPI_OFFSET) / ItsRegs.LPI_BLOCK;
        for (int i = 0; i < ItsRegs.LPI_BLOCK; i++) {
            bindings.set(b * ItsRegs.LPI_BLOCK + i, null);
        }
        allocated[b] = false;
    }

    /** Binds host LPI {@code lpi} to virtual LPI {@code vlpi} on vCPU {@code vcpu} of its domain. */
    void bind(int lpi, int vcpu, int vlpi) {
        int i = lpi - ItsRegs.LPI_OFFSET;
        Binding b = bindings.get(i);
        if (b != null) {
            bindings.set(i, new Binding(b.domain(), vcpu, vlpi));
        }
    }

    /** The binding of host LPI {@code lpi}, or null if unallocated. */
    Binding binding(int lpi) {
        int i = lpi - ItsRegs.LPI_OFFSET;
        return i < 0 || i >= bindings.length() ? null : bindings.get(i);
    }

    /**
     * {@code gicv3_do_LPI}: a physical LPI fired; make its virtual LPI pending on the bound vCPU
     * ({@code vgic_vcpu_inject_lpi}), or drop it (traced) if nobody owns it or the guest has not
     * mapped the event.
     */
    void doLpi(int lpi) {
        Binding b = binding(lpi);
        if (b == null || b.vlpi() == INVALID_LPI || b.domain().isDying()) {
            String why = b == null ? "host LPI not allocated" : b.vlpi() == INVALID_LPI ? "no guest LPI mapped" : "domain dying";
            LOG.debug("host LPI {} dropped: {}", lpi, why);
            if (xen.trace().enabled(TraceCategory.IRQ)) {
                xen.trace().emit(new ItsEvents.LpiDropped(b == null ? -1 : b.domain().domid(), lpi, why));
            }
            return;
        }
        Vcpu v = b.domain().vcpu(b.vcpu());
        v.inject(b.vlpi());
        if (xen.trace().enabled(TraceCategory.IRQ)) {
            xen.trace().emit(new ItsEvents.LpiInjected(b.domain().domid(), b.vcpu(), b.vlpi(), lpi));
        }
    }
}
