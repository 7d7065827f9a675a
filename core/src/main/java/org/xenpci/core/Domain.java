package org.xenpci.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.TraceCategory;

/**
 * A Xen domain: its identity and privileges, vCPUs, p2m and device tree.
 *
 * <p>Upper layers keep per-domain state (vPCI's device list, the virtual slot bitmap, a vITS)
 * as typed <em>extensions</em> ({@link #extension}), the way Xen hangs state off
 * {@code struct domain}. {@link #pciLock()} is Xen's {@code d->pci_lock}: readers are config
 * reads, writers are config writes and device (de)assignment.
 *
 * <p>Pause ({@link #pause}, {@link #unpause}) is Xen's {@code domain_pause}: a nestable count;
 * while it is above 0 no vCPU of the domain runs. Here "runs" means "is inside
 * {@link Vcpu#mmioRead}/{@link Vcpu#mmioWrite} or {@link Xen#hypercall}": {@code pause()} returns
 * once none is, and until the matching {@code unpause()} every new trap returns at once without
 * running (a retryable {@link Vcpu.DataAbort}, or {@code -ERESTART} for a hypercall; see
 * {@link Vcpu}). Destruction pauses for good, and from then on accesses abort with
 * {@value Vcpu#DYING} and hypercalls return {@code -ESRCH}.
 */
public final class Domain {
    /** DOMID_IO: owner of quarantined devices. */
    public static final int DOMID_IO = 0x7FF1;
    /** DOMID_XEN: owner of devices Xen hides from everyone. */
    public static final int DOMID_XEN = 0x7FF2;
    /** DOMID_SELF. */
    public static final int DOMID_SELF = 0x7FF0;
    /** DOMID_INVALID. */
    public static final int DOMID_INVALID = 0x7FF4;

    /** Lifecycle. */
    public enum State { RUNNING, DYING, DEAD }

    private final Xen xen;
    private final int domid;
    private final String name;
    private final boolean hardwareDomain;
    private final boolean privileged;
    private final boolean iommuEnabled;
    private final boolean system;
    private final P2m p2m;
    private final List<Vcpu> vcpus;
    private final ReentrantReadWriteLock pciLock = new ReentrantReadWriteLock();
    /**
     * Extensions by {@link ExtensionSlot} index. Read without a lock (one volatile load and one
     * array element load: the config-access path reads vPCI's state here on every trap);
     * replaced by a larger copy, and written, under {@link #extensionLock}.
     */
    private volatile AtomicReferenceArray<Object> extensions = new AtomicReferenceArray<>(8);
    private final Object extensionLock = new Object();
    private volatile Fdt deviceTree;
    private final int vgicVersion;
    private volatile State state = State.RUNNING;
    private volatile String crashReason;
    /** Xen's {@code d->pause_count}; written under {@link #pauseLock}, read by every trap. */
    private volatile int pauseCount;
    private final Object pauseLock = new Object();

    Domain(Xen xen, DomainConfig config, int domid, boolean system) {
        this.xen = xen;
        this.domid = domid;
        this.name = config.name();
        this.hardwareDomain = config.hardwareDomain();
        this.privileged = config.privileged();
        this.iommuEnabled = config.iommu();
        this.vgicVersion = config.vgicVersion();
        this.system = system;
        this.p2m = new P2m(domid, xen.trace());
        List<Vcpu> vs = new ArrayList<>();
        for (int i = 0; i < config.vcpus(); i++) {
            vs.add(new Vcpu(this, i));
        }
        this.vcpus = Collections.unmodifiableList(vs);
    }

    public Xen xen() {
        return xen;
    }

    public int domid() {
        return domid;
    }

    public String name() {
        return name;
    }

    /** True for the hardware domain (dom0): it owns devices Xen does not give away. */
    public boolean isHardwareDomain() {
        return hardwareDomain;
    }

    /** Xen's {@code is_privileged}: passes XSM_PRIV checks under the default policy. */
    public boolean isPrivileged() {
        return privileged;
    }

    /** Whether the domain was created with {@code XEN_DOMCTL_CDF_iommu} (device assignment possible). */
    public boolean iommuEnabled() {
        return iommuEnabled;
    }

    /** The domain's virtual GIC version, 2 or 3 ({@code d->arch.vgic.version}). */
    public int vgicVersion() {
        return vgicVersion;
    }

    /** True for Xen's internal domains (DOMID_IO, DOMID_XEN): no vCPUs, never scheduled. */
    public boolean isSystemDomain() {
        return system;
    }

    public P2m p2m() {
        return p2m;
    }

    public List<Vcpu> vcpus() {
        return vcpus;
    }

    public Vcpu vcpu(int id) {
        return vcpus.get(id);
    }

    public State state() {
        return state;
    }

    void state(State s) {
        this.state = s;
    }

    /**
     * Xen's {@code domain_crash}: the domain is shut down with reason "crash" and never runs
     * again (its vCPUs' further accesses take data aborts). Idempotent; the first reason stays.
     */
    public void crash(String reason) {
        synchronized (this) {
            if (crashReason != null) {
                return;
            }
            crashReason = reason;
        }
        org.slf4j.LoggerFactory.getLogger(Domain.class).warn("(XEN) {}: domain_crash: {}", this, reason);
        if (xen.trace().enabled(TraceCategory.FAULT)) {
            xen.trace().emit(new Events.Warning(domid, "domain_crash: " + reason));
        }
    }

    /** True once the domain crashed. */
    public boolean isCrashed() {
        return crashReason != null;
    }

    /** Why the domain crashed, or null. */
    public String crashReason() {
        return crashReason;
    }

    /** True once destruction has started. */
    public boolean isDying() {
        return state != State.RUNNING;
    }

    /**
     * Xen's {@code domain_pause}: raises the pause count and waits until no vCPU of the domain
     * is inside a trap or hypercall; none enters until the count is back to 0. Nestable; callable
     * from any thread, except from inside a trap or hypercall of this domain's own vCPUs (Xen
     * asserts {@code d != current->domain}), and not while holding a lock those traps take
     * ({@link #pciLock()}, the pcidevs lock, a device lock), which would deadlock as in Xen.
     * Interrupting the waiting thread does not end the wait (Xen's pause is not interruptible);
     * the interrupt status is restored on return.
     *
     * @throws IllegalStateException if called from inside a trap of this domain (the count is
     *     left unchanged)
     */
    public void pause() {
        boolean interrupted = false;
        synchronized (pauseLock) {
            refuseOwnTrap("pause");
            pauseCount++;
            for (Vcpu v : vcpus) {
                while (v.running()) {
                    try {
                        // Timed: a vCPU leaves its trap with a release store and no fence, so its
                        // check for a pending pause may read the count from before our increment
                        // and skip the wake-up; the re-read here catches that exit (Vcpu#exit).
                        pauseLock.wait(1);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Xen asserts {@code d != current->domain}: a vCPU cannot stop its own domain from inside a trap. */
    private void refuseOwnTrap(String what) {
        for (Vcpu v : vcpus) {
            if (v.runningOnCurrentThread()) {
                throw new IllegalStateException(v + " cannot " + what + " its own domain from inside a trap");
            }
        }
    }

    /**
     * Xen's {@code domain_unpause}: lowers the pause count; at 0 the vCPUs run again (their next
     * trap is handled). A dying domain stays stopped: destruction holds a pause of its own.
     *
     * @throws IllegalStateException if the domain is not paused (an unbalanced unpause)
     */
    public void unpause() {
        synchronized (pauseLock) {
            if (pauseCount == 0) {
                throw new IllegalStateException(this + " is not paused");
            }
            pauseCount--;
        }
    }

    /** True while the pause count is above 0 (always once the domain is dying). */
    public boolean isPaused() {
        return pauseCount != 0;
    }

    /** Xen's {@code d->pause_count}. */
    public int pauseCount() {
        return pauseCount;
    }

    /** A vCPU left its last trap while a pause is pending: wake the pauser. */
    void vcpuStopped() {
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
    }

    /**
     * The first step of destruction ({@code domain_kill}): pause for good, mark dying, and drop
     * the vCPUs' deferred work (no vCPU runs, so nobody else touches it).
     *
     * @return false if destruction had already started
     */
    boolean kill() {
        // Refused before anything changes: a half-killed domain could never be destroyed again.
        refuseOwnTrap("destroy");
        synchronized (this) {
            if (state != State.RUNNING) {
                return false;
            }
            state = State.DYING;
        }
        pause();
        for (Vcpu v : vcpus) {
            v.dropPendingWork();
        }
        return true;
    }

    /** The device tree this domain boots with (hwdom: fixed-up host DT; guests: the libxl DT). */
    public Fdt deviceTree() {
        return deviceTree;
    }

    /** Sets the domain's device tree (domain build). */
    public void deviceTree(Fdt fdt) {
        this.deviceTree = fdt;
    }

    /** Xen's {@code d->pci_lock}. Lock order: Xen's pcidevs lock, then this, then per-device locks. */
    public ReentrantReadWriteLock pciLock() {
        return pciLock;
    }

    /** The extension of this type, created by {@code factory} on first use (thread-safe). */
    public <T> T extension(Class<T> type, Function<Domain, T> factory) {
        return extension(ExtensionSlot.of(type), factory);
    }

    /**
     * The extension in {@code slot}, created by {@code factory} on first use. Thread-safe: at
     * most one factory call wins per domain and slot (the factory runs under the domain's
     * extension lock, so it must not block on other domains' extensions).
     */
    public <T> T extension(ExtensionSlot<T> slot, Function<Domain, T> factory) {
        T cur = extension(slot);
        if (cur != null) {
            return cur;
        }
        synchronized (extensionLock) {
            cur = extension(slot);
            if (cur == null) {
                cur = Objects.requireNonNull(factory.apply(this), "extension factory returned null");
                slotTable(slot.index()).set(slot.index(), cur);
            }
            return cur;
        }
    }

    /** The extension of this type, or null. */
    public <T> T extension(Class<T> type) {
        return extension(ExtensionSlot.of(type));
    }

    /** The extension in {@code slot}, or null. Lock-free and allocation-free: for hot paths. */
    public <T> T extension(ExtensionSlot<T> slot) {
        AtomicReferenceArray<Object> t = extensions;
        int i = slot.index();
        return i < t.length() ? slot.type().cast(t.get(i)) : null;
    }

    /** Removes an extension (domain destruction, device detach). */
    public void removeExtension(Class<?> type) {
        int i = ExtensionSlot.of(type).index();
        synchronized (extensionLock) {
            AtomicReferenceArray<Object> t = extensions;
            if (i < t.length()) {
                t.set(i, null);
            }
        }
    }

    /** The slot table, grown to hold {@code index}; caller holds {@link #extensionLock}. */
    private AtomicReferenceArray<Object> slotTable(int index) {
        AtomicReferenceArray<Object> t = extensions;
        if (index < t.length()) {
            return t;
        }
        AtomicReferenceArray<Object> bigger = new AtomicReferenceArray<>(Math.max(index + 1, 2 * t.length()));
        for (int i = 0; i < t.length(); i++) {
            bigger.set(i, t.get(i));
        }
        extensions = bigger;
        return bigger;
    }

    /**
     * Convenience for tests and scripts: a load through vCPU 0. Callable from any thread: it
     * holds vCPU 0's monitor for the access, so two callers never run vCPU 0 at once (a vCPU
     * runs on one thread at a time, see {@link Vcpu}) and each gets its own access's abort.
     * Code driving vCPU 0 itself on another thread alongside synchronizes on it likewise.
     *
     * @return the value, or empty if the access took a data abort
     */
    public java.util.OptionalLong mmioRead(long gpa, int size) {
        Vcpu v = vcpus.get(0);
        synchronized (v) {
            long value = v.mmioRead(gpa, size);
            return v.takeDataAbort() == null ? java.util.OptionalLong.of(value) : java.util.OptionalLong.empty();
        }
    }

    /**
     * Convenience for tests and scripts: a store through vCPU 0, serialised as
     * {@link #mmioRead(long, int)}.
     *
     * @return true if it completed, false if it took a data abort
     */
    public boolean mmioWrite(long gpa, int size, long value) {
        Vcpu v = vcpus.get(0);
        synchronized (v) {
            v.mmioWrite(gpa, size, value);
            return v.takeDataAbort() == null;
        }
    }

    /**
     * The stage-2 path of one guest access: p2m lookup, then RAM, device memory or trap
     * handler; unmapped addresses and refused accesses abort. Deferred vCPU work runs before
     * returning, so the p2m is consistent when the guest resumes.
     */
    long access(Vcpu vcpu, long gpa, int size, boolean write, long value) {
        long result = stage2(vcpu, gpa, size, write, value);
        XenObserver o = xen.observer();
        if (o != null) {
            o.afterAccess(vcpu, gpa, size, write, value);
        }
        return result;
    }

    private long stage2(Vcpu vcpu, long gpa, int size, boolean write, long value) {
        vcpu.clearAbort();
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("access size must be 1, 2, 4 or 8 bytes, not " + size);
        }
        if (!vcpu.enter()) {
            // Not scheduled: nothing ran. A dying domain never runs again; a paused one may retry.
            boolean dying = isDying();
            vcpu.abort(gpa, size, write, dying ? Vcpu.DYING : Vcpu.PAUSED, !dying);
            return 0;
        }
        try {
            return run(vcpu, gpa, size, write, value);
        } finally {
            vcpu.exit();
        }
    }

    private long run(Vcpu vcpu, long gpa, int size, boolean write, long value) {
        long mask = size == 8 ? -1L : (1L << (8 * size)) - 1;
        if (crashReason != null) {
            vcpu.abort(gpa, size, write, "domain crashed");
            return 0;
        }
        P2m.Entry e = p2m.lookup(gpa, vcpu.p2mHit);
        long result = 0;
        if (e == null || !e.contains(gpa + size - 1)) {
            vcpu.abort(gpa, size, write, e == null ? "unmapped" : "access crosses a p2m entry");
            return 0;
        }
        if (e instanceof P2m.Ram r) {
            long off = r.memOffset() + gpa - r.gpa();
            if (write) {
                r.memory().write(off, size, value & mask);
            } else {
                result = r.memory().read(off, size);
            }
        } else if (e instanceof P2m.DirectMmio m) {
            long maddr = m.maddr() + (gpa - m.gpa());
            if (write) {
                xen.hardware().addressSpace().write(maddr, size, value & mask);
            } else {
                result = xen.hardware().addressSpace().read(maddr, size) & mask;
            }
        } else {
            MmioHandler h = ((P2m.Trapped) e).handler();
            if (!h.accepts(vcpu, gpa, size)) {
                vcpu.abort(gpa, size, write, "refused by " + h.name());
                return 0;
            }
            if (write) {
                h.write(vcpu, gpa, size, value & mask);
            } else {
                result = h.read(vcpu, gpa, size) & mask;
            }
            if (xen.trace().enabled(TraceCategory.TRAP)) {
                xen.trace().emit(new Events.MmioTrap(domid, vcpu.id(), gpa, size, write, write ? value & mask : result, h.name()));
            }
            vcpu.processPendingWork();
        }
        return result;
    }

    @Override
    public String toString() {
        return "d" + domid + (name.isEmpty() ? "" : "(" + name + ")");
    }
}
