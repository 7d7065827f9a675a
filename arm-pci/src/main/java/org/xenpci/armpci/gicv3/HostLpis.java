package org.xenpci.armpci.gicv3;

import java.util.HashMap;
import java.util.Map;
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
 * <p>Accounting (see docs/msi.md, "ITS memory"): every allocated block is counted against its
 * domain, either inside a reservation the domain got when a device was assigned to it, or in
 * the shared remainder no reservation holds (the hardware domain's MAPDs). Reservations count
 * in full whether used or not, so a domain can always allocate what it reserved whatever other
 * domains do.
 *
 * <p>Thread-safety: allocation and accounting are synchronized; each binding is an immutable record swapped
 * atomically, so the LPI path reads it without locks and never sees half an update.
 */
final class HostLpis {
    private static final Logger LOG = LoggerFactory.getLogger(HostLpis.class);
    /** Xen's {@code INVALID_LPI}: the host LPI is mapped but the guest has not (MAPTI) bound it. */
    static final int INVALID_LPI = 0;

    /** Who a host LPI belongs to. {@code vlpi} is {@link #INVALID_LPI} until the guest maps the event. */
    record Binding(Domain domain, int vcpu, int vlpi) {
    }

    /** A domain's host LPI account, in blocks of {@link ItsRegs#LPI_BLOCK}. */
    private static final class Account {
        int reserved;
        int usedReserved;
        int usedShared;
    }

    private final Xen xen;
    private final AtomicReferenceArray<Binding> bindings;
    private final boolean[] allocated;
    /** Per block: taken from its domain's reservation (true) or from the shared remainder. */
    private final boolean[] fromReservation;
    private final Map<Domain, Account> accounts = new HashMap<>();
    private int sharedUsed;
    private int reservedTotal;

    /** @param maxLpis number of host LPIs available above 8192 (a multiple of 32) */
    HostLpis(Xen xen, int maxLpis) {
        this.xen = xen;
        this.bindings = new AtomicReferenceArray<>(maxLpis);
        this.allocated = new boolean[maxLpis / ItsRegs.LPI_BLOCK];
        this.fromReservation = new boolean[allocated.length];
    }

    /** Number of blocks in the table. */
    int totalBlocks() {
        return allocated.length;
    }

    /**
     * Blocks neither allocated nor promised to a reservation: what a reservation or a shared
     * allocation may still take. Reservations count in full, used or not, so a reserved block
     * is always there when its domain asks for it.
     */
    private int unpromised() {
        return allocated.length - sharedUsed - reservedTotal;
    }

    /**
     * Sets {@code blocks} aside for {@code d} (a guest device being assigned): only {@code d} can
     * allocate them ({@link #allocateBlock(Domain, boolean)} with {@code reserved}).
     *
     * @return false (and nothing changes) if fewer blocks than that are unpromised
     */
    synchronized boolean reserve(Domain d, int blocks) {
        if (blocks < 0 || blocks > unpromised()) {
            return false;
        }
        accounts.computeIfAbsent(d, k -> new Account()).reserved += blocks;
        reservedTotal += blocks;
        return true;
    }

    /** Returns {@code blocks} of {@code d}'s reservation (its device left it; its LPIs were freed first). */
    synchronized void unreserve(Domain d, int blocks) {
        Account a = accounts.get(d);
        if (a == null || a.reserved - a.usedReserved < blocks) {
            throw new IllegalStateException(d + ": unreserving " + blocks + " LPI blocks it does not hold unused");
        }
        a.reserved -= blocks;
        reservedTotal -= blocks;
        forgetIfEmpty(d, a);
    }

    /**
     * Allocates a block of 32 host LPIs for {@code d}, all bound to no guest LPI yet: from
     * {@code d}'s reservation ({@code reserved}) or from what no reservation holds (the hardware
     * domain, which has none).
     *
     * @return the first host LPI, or -1 if none is left (-ENOSPC for the caller)
     */
    synchronized int allocateBlock(Domain d, boolean reserved) {
        Account a = accounts.get(d);
        if (reserved ? a == null || a.usedReserved >= a.reserved : unpromised() < 1) {
            return -1;
        }
        for (int b = 0; b < allocated.length; b++) {
            if (!allocated[b]) {
                allocated[b] = true;
                fromReservation[b] = reserved;
                if (a == null) {
                    a = new Account();
                    accounts.put(d, a);
                }
                if (reserved) {
                    a.usedReserved++;
                } else {
                    a.usedShared++;
                    sharedUsed++;
                }
                for (int i = 0; i < ItsRegs.LPI_BLOCK; i++) {
                    bindings.set(b * ItsRegs.LPI_BLOCK + i, new Binding(d, 0, INVALID_LPI));
                }
                return ItsRegs.LPI_OFFSET + b * ItsRegs.LPI_BLOCK;
            }
        }
        // Unreachable while the invariant (allocated = shared + reserved used <= total) holds.
        return -1;
    }

    /** Frees the block starting at host LPI {@code first}: its LPIs belong to nobody again. */
    synchronized void freeBlock(int first) {
        int b = (first - ItsRegs.LPI_OFFSET) / ItsRegs.LPI_BLOCK;
        Binding owner = bindings.get(b * ItsRegs.LPI_BLOCK);
        for (int i = 0; i < ItsRegs.LPI_BLOCK; i++) {
            bindings.set(b * ItsRegs.LPI_BLOCK + i, null);
        }
        allocated[b] = false;
        Account a = owner == null ? null : accounts.get(owner.domain());
        if (a != null) {
            if (fromReservation[b]) {
                a.usedReserved--;
            } else {
                a.usedShared--;
                sharedUsed--;
            }
            forgetIfEmpty(owner.domain(), a);
        }
    }

    private void forgetIfEmpty(Domain d, Account a) {
        if (a.reserved == 0 && a.usedReserved == 0 && a.usedShared == 0) {
            accounts.remove(d);
        }
    }

    /** {@code d}'s host LPIs: {in use, reserved} (in LPIs, not blocks). */
    synchronized int[] usage(Domain d) {
        Account a = accounts.get(d);
        return a == null ? new int[2]
                : new int[] {(a.usedReserved + a.usedShared) * ItsRegs.LPI_BLOCK, a.reserved * ItsRegs.LPI_BLOCK};
    }

    /** The whole table: {total, free (not allocated), reserved (promised to domains, used or not)} in LPIs. */
    synchronized int[] pool() {
        int used = 0;
        for (boolean x : allocated) {
            used += x ? 1 : 0;
        }
        return new int[] {allocated.length * ItsRegs.LPI_BLOCK, (allocated.length - used) * ItsRegs.LPI_BLOCK,
                reservedTotal * ItsRegs.LPI_BLOCK};
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
        if (xen.trace().enabled(TraceCategory.MSI)) {
            xen.trace().emit(new ItsEvents.LpiInjected(b.domain().domid(), b.vcpu(), b.vlpi(), lpi));
        }
    }
}
