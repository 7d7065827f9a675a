package org.xenpci.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * One booted Xen: the hypervisor model. Build with {@link #builder()}; {@code build()} boots it:
 * parses the command line, creates the system domains, runs each {@link XenExtension}'s init,
 * then creates the hardware domain (domid 0) with its device tree and RAM, and finally marks
 * the system active.
 *
 * <p>Thread-safety: domain creation/destruction and extension registration are serialised; the
 * hypercall and trap paths may be entered concurrently from any number of vCPUs.
 */
public final class Xen {
    /** The observer of every step (see {@link XenObserver}); null when none. */
    private volatile XenObserver observer;
    private volatile InterruptListener interruptListener;

    private static final Logger LOG = LoggerFactory.getLogger(Xen.class);

    /** {@code __HYPERVISOR_physdev_op}. */
    public static final int HYPERVISOR_PHYSDEV_OP = 33;
    /** {@code __HYPERVISOR_domctl}. */
    public static final int HYPERVISOR_DOMCTL = 36;
    /** {@code XEN_DOMCTL_INTERFACE_VERSION} at the modelled commit. */
    public static final int XEN_DOMCTL_INTERFACE_VERSION = 0x18;
    /** {@code sizeof(struct xen_domctl)}: 16-byte header plus the 128-byte union. */
    public static final int XEN_DOMCTL_SIZE = 144;
    /** {@code XEN_DOMCTL_assign_device}: the envelope resolves DOMID_IO to dom_io and refuses DOMID_INVALID. */
    public static final int XEN_DOMCTL_ASSIGN_DEVICE = 37;
    /** {@code XEN_DOMCTL_test_assign_device}: the envelope passes DOMID_INVALID as "no domain". */
    public static final int XEN_DOMCTL_TEST_ASSIGN_DEVICE = 45;
    /** {@code XEN_DOMCTL_deassign_device}: the envelope resolves DOMID_IO to dom_io and refuses DOMID_INVALID. */
    public static final int XEN_DOMCTL_DEASSIGN_DEVICE = 47;

    /** Boot progress, as Xen's {@code system_state}. */
    public enum SystemState { BOOTING, ACTIVE }

    private final Hardware hardware;
    private final BootOptions bootOptions;
    private final Profile profile;
    private final Trace trace;
    private final XsmPolicy xsm;
    private final List<XenExtension> extensions;
    private final Map<Integer, HypercallHandler> hypercalls = new ConcurrentHashMap<>();
    private final Map<Long, HypercallHandler> physdevOps = new ConcurrentHashMap<>();
    private final Map<Long, DomctlHandler> domctls = new ConcurrentHashMap<>();
    private final NavigableMap<Integer, Domain> domains = new ConcurrentSkipListMap<>();
    private final ReentrantLock pcidevsLock = new ReentrantLock();
    private final Map<Class<?>, Object> services = new ConcurrentHashMap<>();
    private volatile SystemState systemState = SystemState.BOOTING;
    private volatile boolean iommuEnabled;
    private final Domain domIo;
    private final Domain domXen;
    private Domain hardwareDomain;

    private Xen(Builder b) {
        this.hardware = Objects.requireNonNull(b.hardware, "hardware");
        this.profile = b.profile;
        this.trace = b.trace;
        this.xsm = b.xsm;
        this.extensions = List.copyOf(b.extensions);
        this.bootOptions = BootOptions.parse(b.cmdline);
        hardware.addressSpace().trace(trace);
        hypercalls.put(HYPERVISOR_PHYSDEV_OP, this::physdevOp);
        hypercalls.put(HYPERVISOR_DOMCTL, this::domctl);
        this.domIo = new Domain(this, new DomainConfig("dom_io", 1, false, false, true), Domain.DOMID_IO, true);
        this.domXen = new Domain(this, new DomainConfig("dom_xen", 1, false, false, false), Domain.DOMID_XEN, true);
    }

    public static Builder builder() {
        return new Builder();
    }

    private Xen boot(int hwdomVcpus) {
        LOG.debug("booting Xen model, profile {}, cmdline \"{}\"", profile.name(), bootOptions.cmdline());
        if (hardware.ram().isEmpty()) {
            // xen/arch/arm/setup.c (arm64/mmu/mm.c from 4.19): setup_mm panics before anything
            // else is set up. Host DTs often carry no /memory: the bootloader fills it in.
            throw BootException.badNode("/memory",
                    "no RAM bank in the host device tree: Xen panics (\"No memory bank\"); the bootloader normally"
                            + " writes /memory, give the banks in the platform file's \"memory\"");
        }
        for (XenExtension e : extensions) {
            e.init(this);
        }
        Fdt dt = hardware.deviceTree();
        for (XenExtension e : extensions) {
            dt = e.hardwareDomainDeviceTree(this, dt);
        }
        Domain d0 = new Domain(this, new DomainConfig("Domain-0", hwdomVcpus, true, true, iommuEnabled), 0, false);
        d0.deviceTree(dt);
        for (Hardware.RamBank bank : hardware.ram()) {
            // Dom0 on Arm is direct-mapped: its RAM is the host's, at the host addresses (1:1).
            d0.p2m().addRam(bank.base(), bank.memory());
        }
        synchronized (this) {
            domains.put(0, d0);
            hardwareDomain = d0;
        }
        for (XenExtension e : extensions) {
            e.domainCreated(d0);
        }
        systemState = SystemState.ACTIVE;
        return this;
    }

    public Hardware hardware() {
        return hardware;
    }

    public BootOptions bootOptions() {
        return bootOptions;
    }

    public Profile profile() {
        return profile;
    }

    public Trace trace() {
        return trace;
    }

    public XsmPolicy xsm() {
        return xsm;
    }

    public SystemState systemState() {
        return systemState;
    }

    /** Whether an IOMMU driver is active (set by the extension that drives one). */
    public boolean iommuEnabled() {
        return iommuEnabled;
    }

    /** Called by an IOMMU extension during init when it takes charge of an IOMMU. */
    public void iommuEnabled(boolean on) {
        if (systemState != SystemState.BOOTING) {
            throw new IllegalStateException("the IOMMU can only be enabled at boot");
        }
        this.iommuEnabled = on;
    }

    /** Xen's global {@code pcidevs_lock}: segment lists, ownership, assignment. */
    public ReentrantLock pcidevsLock() {
        return pcidevsLock;
    }

    /** The hardware domain (dom0). */
    public Domain hardwareDomain() {
        return hardwareDomain;
    }

    /** DOMID_IO, owner of quarantined devices. */
    public Domain domIo() {
        return domIo;
    }

    /** DOMID_XEN, owner of devices hidden from every domain. */
    public Domain domXen() {
        return domXen;
    }

    /** A live domain by id (system domains included), if any. */
    public Optional<Domain> domain(int domid) {
        if (domid == Domain.DOMID_IO) {
            return Optional.of(domIo);
        }
        if (domid == Domain.DOMID_XEN) {
            return Optional.of(domXen);
        }
        return Optional.ofNullable(domains.get(domid));
    }

    /** Live ordinary domains by domid (system domains excluded). */
    public List<Domain> domains() {
        return List.copyOf(domains.values());
    }

    /** A service an extension published (e.g. the PCI layer), by type. */
    public <T> Optional<T> service(Class<T> type) {
        return Optional.ofNullable(type.cast(services.get(type)));
    }

    /**
     * Publishes a service for other extensions and for embedders.
     *
     * @throws IllegalStateException if one of that type is already published
     */
    public <T> void publish(Class<T> type, T service) {
        if (services.putIfAbsent(type, service) != null) {
            throw new IllegalStateException(type.getSimpleName() + " is already published");
        }
    }

    /** Registers a top-level hypercall (replacing none of the built-in two). */
    public void registerHypercall(int op, HypercallHandler handler) {
        if (hypercalls.putIfAbsent(op, handler) != null) {
            throw new IllegalStateException("hypercall " + op + " already registered");
        }
    }

    /** Registers a {@code PHYSDEVOP_*} sub-op: {@code args[0]} is the cmd, {@code args[1]} the argument GPA. */
    public void registerPhysdevOp(int cmd, HypercallHandler handler) {
        if (physdevOps.putIfAbsent((long) cmd, handler) != null) {
            throw new IllegalStateException("physdev op " + cmd + " already registered");
        }
    }

    /** Registers a {@code XEN_DOMCTL_*} sub-op. */
    public void registerDomctl(int cmd, DomctlHandler handler) {
        if (domctls.putIfAbsent((long) cmd, handler) != null) {
            throw new IllegalStateException("domctl " + cmd + " already registered");
        }
    }

    /**
     * Creates a domain (the model of {@code XEN_DOMCTL_createdomain} as the toolstack drives it):
     * the lowest free domid from 1, no RAM yet (the domain builder adds it).
     */
    public Domain createDomain(DomainConfig config) {
        if (config.hardwareDomain()) {
            throw new IllegalArgumentException("the hardware domain is created at boot");
        }
        Domain d;
        synchronized (this) {
            int domid = 1;
            while (domains.containsKey(domid)) {
                domid++;
            }
            if (domid >= Domain.DOMID_SELF) {
                throw new IllegalStateException("no free domid");
            }
            d = new Domain(this, config, domid, false);
            domains.put(domid, d);
        }
        try {
            for (XenExtension e : extensions) {
                e.domainCreated(d);
            }
        } catch (RuntimeException ex) {
            destroyDomain(d);
            throw ex;
        }
        LOG.debug("created {}", d);
        return d;
    }

    /**
     * Destroys a domain ({@code domain_kill}, then {@code domain_destroy}): marks it dying and
     * pauses it for good ({@link Domain#pause}: returns once no vCPU of it is inside a trap or
     * hypercall; from then on its accesses abort with {@value Vcpu#DYING} and its hypercalls
     * return {@code -ESRCH}), drops its vCPUs' deferred work, lets every extension relinquish
     * what the domain holds (devices go back through deassignment), then lets them free their
     * own state in reverse order, then forgets it. A domain already dying or dead is left alone
     * (Xen's {@code domain_kill} of a dead domain returns 0), so concurrent or repeated calls are
     * safe. Must not be called from a trap of the domain itself, nor holding a lock its traps take.
     *
     * @throws IllegalArgumentException for the hardware domain or a system domain
     * @throws IllegalStateException if called from inside a trap or hypercall of {@code d}
     */
    public void destroyDomain(Domain d) {
        if (d.isHardwareDomain() || d.isSystemDomain()) {
            throw new IllegalArgumentException("cannot destroy " + d);
        }
        if (!d.kill()) {
            return;
        }
        for (XenExtension e : extensions) {
            e.domainRelinquishResources(d);
        }
        List<XenExtension> reversed = new ArrayList<>(extensions);
        Collections.reverse(reversed);
        for (XenExtension e : reversed) {
            e.domainDestroyed(d);
        }
        synchronized (this) {
            domains.remove(d.domid());
        }
        d.state(Domain.State.DEAD);
    }

    /**
     * An HVC from {@code vcpu}: hypercall {@code op} with argument registers {@code args}
     * (missing ones read as 0). Unknown ops return -ENOSYS.
     *
     * <p>A vCPU that is not running returns without the hypercall running at all: a dying or
     * dead domain's with {@code -ESRCH} (Xen never schedules it again, so it has no answer of its
     * own; ESRCH is what the rest of Xen says of a domain on its way out of the domain list), a
     * paused domain's with {@code -ERESTART}, Xen's hypercall-continuation code: re-issue the HVC
     * once the domain is unpaused. Nothing else returns -ERESTART to a caller.
     */
    public HypercallResult hypercall(Vcpu vcpu, int op, long... args) {
        if (!vcpu.enterHypercall()) {
            return HypercallResult.failed(vcpu.domain().isDying() ? Errno.ESRCH : Errno.ERESTART);
        }
        HypercallResult r;
        try {
            long[] regs = new long[5];
            System.arraycopy(args, 0, regs, 0, Math.min(args.length, 5));
            HypercallHandler h = hypercalls.get(op);
            boolean traced = trace.enabled(TraceCategory.HYPERCALL);
            long subOp = traced ? subOp(vcpu, op, regs) : -1;
            r = h == null ? HypercallResult.failed(Errno.ENOSYS) : h.handle(vcpu, regs);
            if (traced) {
                trace.emit(new Events.Hypercall(vcpu.domain().domid(), op, subOp, r.rc()));
            }
            vcpu.processPendingWork();
        } finally {
            vcpu.exitHypercall();
        }
        XenObserver o = observer;
        if (o != null) {
            o.afterHypercall(vcpu, op, r);
        }
        return r;
    }

    /**
     * Registers the one {@link InterruptListener} (null removes it). Thread-safe; takes effect
     * for interrupts made pending afterwards.
     */
    public void interruptListener(InterruptListener l) {
        this.interruptListener = l;
    }

    /** The registered {@link InterruptListener}, or null. */
    public InterruptListener interruptListener() {
        return interruptListener;
    }

    /**
     * Registers the one {@link XenObserver} (null removes it). Thread-safe; takes effect for
     * steps that start afterwards.
     */
    public void observer(XenObserver o) {
        this.observer = o;
    }

    /** The registered observer, or null. */
    public XenObserver observer() {
        return observer;
    }

    /** Tells the observer (if any) that a toolstack operation starts. */
    public void toolstackStepStarted(String what) {
        XenObserver o = observer;
        if (o != null) {
            o.beforeToolstack(what);
        }
    }

    /** Tells the observer (if any) that a toolstack operation completed (or failed). */
    public void toolstackStepDone(String what) {
        XenObserver o = observer;
        if (o != null) {
            o.afterToolstack(what);
        }
    }

    private HypercallResult physdevOp(Vcpu vcpu, long[] args) {
        HypercallHandler h = physdevOps.get(args[0]);
        return h == null ? HypercallResult.failed(Errno.ENOSYS) : h.handle(vcpu, args);
    }

    /**
     * The sub-op of a hypercall for its trace event, as Xen reads it before dispatching: the
     * PHYSDEVOP number in the first argument register, the {@code cmd} field (offset 0) of the
     * {@code struct xen_domctl} the first argument points to ({@code xen/include/public/domctl.h});
     * -1 for other ops and for a domctl whose struct is not in guest RAM (do_domctl's -EFAULT).
     */
    private static long subOp(Vcpu vcpu, int op, long[] regs) {
        if (op == HYPERVISOR_PHYSDEV_OP) {
            return regs[0];
        }
        if (op == HYPERVISOR_DOMCTL) {
            byte[] cmd = vcpu.domain().p2m().copyFromGuest(regs[0], 4);
            return cmd == null ? -1 : (cmd[0] & 0xffL) | (cmd[1] & 0xffL) << 8 | (cmd[2] & 0xffL) << 16 | (cmd[3] & 0xffL) << 24;
        }
        return -1;
    }

    /**
     * The domctl envelope, in {@code do_domctl}'s order (xen/common/domctl.c): copy (-EFAULT),
     * interface version (-EACCES), target lookup, the XSM domctl check (-EPERM), then the sub-op
     * (-ENOSYS if none, as {@code subarch_do_domctl} answers on arm64).
     */
    private HypercallResult domctl(Vcpu vcpu, long[] args) {
        byte[] raw = vcpu.domain().p2m().copyFromGuest(args[0], XEN_DOMCTL_SIZE);
        if (raw == null) {
            return HypercallResult.failed(Errno.EFAULT);
        }
        GuestStruct op = new GuestStruct(raw);
        if (op.u32(4) != XEN_DOMCTL_INTERFACE_VERSION) {
            return HypercallResult.failed(Errno.EACCES);
        }
        long cmd = op.u32(0);
        int domid = op.u16(8);
        Domain caller = vcpu.domain();
        Domain target;
        boolean assignOrDeassign = cmd == XEN_DOMCTL_ASSIGN_DEVICE || cmd == XEN_DOMCTL_DEASSIGN_DEVICE;
        if (assignOrDeassign && domid == Domain.DOMID_IO) {
            target = domIo; // quarantine: the one way a domctl names a system domain
        } else if (assignOrDeassign && domid == Domain.DOMID_INVALID) {
            return HypercallResult.failed(Errno.ESRCH); // before XSM, whoever the caller is
        } else if (cmd == XEN_DOMCTL_TEST_ASSIGN_DEVICE && domid == Domain.DOMID_INVALID) {
            target = null; // "assigned to any domU?"
        } else {
            // rcu_lock_domain_by_id: ordinary domains only, so DOMID_SELF, DOMID_IO and
            // DOMID_XEN are unknown here; an unprivileged caller learns nothing (-EPERM).
            target = domains.get(domid);
            if (target == null) {
                return HypercallResult.failed(caller.isPrivileged() ? Errno.ESRCH : Errno.EPERM);
            }
        }
        if (!xsm.permits(XsmHook.DOMCTL, caller, target, cmd)) {
            return HypercallResult.failed(Errno.EPERM);
        }
        DomctlHandler h = domctls.get(cmd);
        if (h == null) {
            return HypercallResult.failed(Errno.ENOSYS);
        }
        return h.handle(vcpu, target, op);
    }

    /** Builder; {@link #build()} boots. */
    public static final class Builder {
        private Hardware hardware;
        private String cmdline = "";
        private Profile profile = Profile.FULL;
        private Trace trace = Trace.standard();
        private XsmPolicy xsm = XsmPolicy.DUMMY;
        private final List<XenExtension> extensions = new ArrayList<>();
        private int hwdomVcpus = 1;

        public Builder hardware(Hardware h) {
            hardware = h;
            return this;
        }

        public Builder cmdline(String c) {
            cmdline = Objects.requireNonNull(c, "cmdline");
            return this;
        }

        public Builder profile(Profile p) {
            profile = Objects.requireNonNull(p, "profile");
            return this;
        }

        /** The trace to use; default {@link Trace#standard()} (no per-access TRAP/CONFIG events). */
        public Builder trace(Trace t) {
            trace = Objects.requireNonNull(t, "trace");
            return this;
        }

        public Builder xsm(XsmPolicy p) {
            xsm = Objects.requireNonNull(p, "xsm");
            return this;
        }

        /** Adds an extension; extensions run in the order added. */
        public Builder extension(XenExtension e) {
            extensions.add(Objects.requireNonNull(e, "extension"));
            return this;
        }

        public Builder hardwareDomainVcpus(int n) {
            hwdomVcpus = n;
            return this;
        }

        /** Boots Xen on the hardware. Any extension failure propagates and nothing is left running. */
        public Xen build() {
            return new Xen(this).boot(hwdomVcpus);
        }
    }
}
