package org.xenpci.vpci;

import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * The vPCI entry point for one {@link Xen}: attaches/detaches device state
 * ({@code vpci_assign_device}/{@code vpci_deassign_device}, xen/drivers/vpci/vpci.c) and serves config accesses
 * by SBDF with the device lookup of {@code vpci_read}/{@code vpci_write}.
 *
 * <p>Thread-safety: writes take the domain's {@code pciLock} for writing, as do
 * assign/deassign; reads take no domain-wide lock, only the device's (see {@link #read(Domain,
 * int, int, int)}), so reads of different devices by different vCPUs never serialise. Callers of assign/deassign hold Xen's pcidevs
 * lock, except PHYSDEVOP_pci_device_reset, which (as Xen) drops it once it holds the owner's
 * {@code pciLock}.
 */
public final class Vpci {
    private static final Logger LOG = LoggerFactory.getLogger(Vpci.class);

    /**
     * Where an access goes when no vPCI device matches ({@code vpci_read}/{@code vpci_write}): for the hardware domain
     * the PCI layer reads hardware and drops writes to read-only devices. Guests never reach it.
     */
    public interface Passthrough {
        /** hwdom read of an SBDF without vPCI; {@code machine} is Xen's packed SBDF (no allocation on this path). */
        int read(int machine, int reg, int size);

        /** hwdom write to an SBDF without vPCI; {@code machine} is Xen's packed SBDF. */
        void write(int machine, int reg, int size, int value);

        /** Nothing behind: reads all-ones, writes dropped. */
        Passthrough NONE = new Passthrough() {
            @Override
            public int read(int machine, int reg, int size) {
                return VpciRegisters.sizeMask(size);
            }

            @Override
            public void write(int machine, int reg, int size, int value) {
            }
        };
    }

    private final Xen xen;
    private final List<CapabilityEmulator> emulators;
    /** The same emulators as one array every device shares (a copy per device was 24 bytes each). */
    private final CapabilityEmulator[] emulatorArray;
    private final Passthrough passthrough;

    /**
     * @param emulators capability emulators in init order (Xen's link order: REBAR, MSI, MSI-X);
     *        empty models upstream Arm, where none of them is built
     * @param passthrough hwdom access to devices without vPCI
     */
    public Vpci(Xen xen, List<CapabilityEmulator> emulators, Passthrough passthrough) {
        this.xen = Objects.requireNonNull(xen, "xen");
        this.emulators = List.copyOf(emulators);
        this.emulatorArray = this.emulators.toArray(new CapabilityEmulator[0]);
        this.passthrough = Objects.requireNonNull(passthrough, "passthrough");
    }

    /** The capability emulators, in order. */
    public List<CapabilityEmulator> emulators() {
        return emulators;
    }

    /**
     * {@code vpci_assign_device}: creates the device's vPCI state for {@code owner}, assigns the
     * virtual SBDF (domU), inits the header (xen/drivers/vpci/header.c), the capabilities (cap.c) and, with
     * {@code Profile.vpciGuestIdentity}, the guest identity registers. Any failure undoes
     * everything. The caller decides whether vPCI applies at all ({@code has_vpci}, read-only
     * devices).
     *
     * @param current the vCPU doing the assignment (its exit path runs a deferred hwdom map), or null
     * @return 0 or a negative errno (-EOPNOTSUPP, -ENOSPC, -EEXIST, -EINVAL, ...)
     * @throws IllegalStateException if the device already has vPCI state in that domain
     */
    public int assignDevice(Domain owner, VpciDeviceSpec spec, Vcpu current) {
        VpciDomain vd = VpciDomain.of(owner);
        owner.pciLock().writeLock().lock();
        try {
            if (vd.findByMachineSbdf(spec.machine().sbdf()) != null) {
                throw new IllegalStateException(spec.machine() + " already has vPCI state in " + owner);
            }
            VpciDevice dev = new VpciDevice(owner, spec, emulatorArray);
            synchronized (dev) {
                dev.beginWrite();
                try {
                    return attach(vd, dev, spec, current);
                } finally {
                    dev.endWrite();
                }
            }
        } finally {
            owner.pciLock().writeLock().unlock();
        }
    }

    /** The body of {@link #assignDevice}, under the pci_lock and in a write section of {@code dev}. */
    private int attach(VpciDomain vd, VpciDevice dev, VpciDeviceSpec spec, Vcpu current) {
        Domain owner = dev.owner();
        if (!dev.hardwareDomainView()) {
            int g = vd.topology().assign(spec.machine(), spec.requestedSlot(), xen.profile().vpciGuestTopology(),
                    spec.virtfn() != null);
            if (g < 0) { // a guest SBDF is segment 0, so never negative: this is -errno
                LOG.warn("{}: cannot assign a virtual SBDF to {}: rc {}", owner, spec.machine(), g);
                return g;
            }
            dev.guestSbdf(g);
        }
        // Visible to modify_bars' overlap scan before init may map (hwdom MEMORY on).
        vd.add(dev);
        dev.attached(true);
        int rc = dev.header().init(dev, current);
        if (rc == 0) {
            rc = VpciCapabilities.init(dev, emulators,
                    !dev.hardwareDomainView() && xen.profile().vpciGuestIdentity());
        }
        if (rc == 0 && !dev.hardwareDomainView() && xen.profile().vpciGuestIdentity()) {
            rc = GuestIdentity.init(dev);
        }
        if (rc != 0) {
            LOG.warn("{}: vPCI init of {} failed: rc {}", owner, spec.machine(), rc);
            detach(vd, dev);
            return rc;
        }
        LOG.debug("{}: vPCI attached {} as {}", owner, spec.machine(),
                dev.guestSbdfRecord() == null ? "itself" : dev.guestSbdfRecord());
        return 0;
    }

    /**
     * {@code vpci_deassign_device}: runs every capability cleanup (not hiding), unmaps the BARs
     * still mapped in the owner's p2m (a model decision, see {@code unmapBars}), frees the
     * virtual slot and drops all handlers. No-op if the device has no vPCI state.
     */
    public void deassignDevice(Domain owner, Sbdf machine) {
        VpciDomain vd = owner.extension(VpciDomain.class);
        if (vd == null) {
            return;
        }
        owner.pciLock().writeLock().lock();
        try {
            VpciDevice dev = vd.findByMachineSbdf(machine.sbdf());
            if (dev != null) {
                synchronized (dev) {
                    dev.beginWrite();
                    try {
                        detach(vd, dev);
                    } finally {
                        dev.endWrite();
                    }
                }
            }
        } finally {
            owner.pciLock().writeLock().unlock();
        }
    }

    private void detach(VpciDomain vd, VpciDevice dev) {
        // Capabilities first: MSI-X cleanup masks the physical table over the bus, which needs
        // memory decoding still on; then the BARs leave the old owner's p2m.
        for (CapabilityEmulator e : emulators) {
            e.cleanup(dev, false);
        }
        unmapBars(dev);
        vd.topology().release(dev.guestSbdf());
        dev.guestSbdf(VpciDevice.INVALID_SBDF);
        dev.registers().clear();
        dev.attached(false);
        vd.remove(dev);
    }

    /**
     * Model-level seam for xl's {@code vslot} (the one place the toolstack talks to vPCI outside
     * a hypercall). Xen's {@code XEN_DOMCTL_assign_device} has no field for a guest slot, and
     * upstream ignores {@code vslot} on Arm (xen/arch/arm/vpci.c, xen/drivers/vpci/vpci.c). Under
     * {@code Profile.vpciGuestTopology} the toolstack records the slot it wants here, per domain
     * and machine SBDF, right before it issues the domctl; {@link ArmVpci} reads it when it
     * attaches the device ({@link VpciDeviceSpec#withRequestedSlot}). Without the topology
     * switch the hint is stored but ignored, as upstream. Thread-safe.
     *
     * @param guest the domain the device is about to be assigned to
     * @param machine the physical function
     * @param slot the virtual slot 0..31, or -1 to forget a previous request
     */
    public void requestVirtualSlot(Domain guest, Sbdf machine, int slot) {
        if (slot < -1 || slot >= VirtualTopology.MAX_VIRT_DEV) {
            throw new IllegalArgumentException("virtual slot " + slot + " outside -1..31 for " + machine);
        }
        VpciDomain.of(guest).requestSlot(machine.sbdf(), slot);
    }

    /** The slot the toolstack requested for {@code machine} in {@code guest}, or -1. */
    public int requestedVirtualSlot(Domain guest, Sbdf machine) {
        VpciDomain vd = guest.extension(VpciDomain.class);
        return vd == null ? -1 : vd.requestedSlot(machine.sbdf());
    }

    /** The vPCI state of {@code machine} in {@code owner}, or null. */
    public VpciDevice device(Domain owner, Sbdf machine) {
        VpciDomain vd = owner.extension(VpciDomain.class);
        return vd == null ? null : vd.findByMachineSbdf(machine.sbdf());
    }

    /**
     * {@code vpci_read}: a config read by domain {@code d} of {@code size} bytes (1..4) at
     * {@code reg} of {@code sbdf} (hwdom: machine SBDF; domU: guest SBDF).
     */
    public int read(Domain d, Sbdf sbdf, int reg, int size) {
        return read(d, sbdf.sbdf(), reg, size);
    }

    /**
     * {@link #read(Domain, Sbdf, int, int)} keyed by Xen's packed SBDF ({@code seg << 16 | bdf}):
     * the allocation-free form the ECAM trap handlers use.
     */
    public int read(Domain d, int sbdf, int reg, int size) {
        return read(d, d.extension(VpciDomain.SLOT), sbdf, reg, size);
    }

    /**
     * {@link #read(Domain, int, int, int)} with {@code d}'s vPCI state as the caller holds it
     * ({@link EcamTrap} keeps it: a trap serves one domain). A hint only: one of another domain,
     * or null, is replaced by {@code d}'s own; only the lock-free first lookup uses it, and a miss
     * there takes the locked path, which looks the domain's state up afresh, so an outdated
     * {@code vd} costs time, never a wrong answer.
     */
    int read(Domain d, VpciDomain vd, int sbdf, int reg, int size) {
        if (vd == null || vd.domain() != d) {
            vd = d.extension(VpciDomain.SLOT);
        }
        // Xen's vpci_read holds d->pci_lock for reading to keep the pdev and its vpci alive
        // while it takes pdev->vpci->lock. Fast path: the device index is lock-free and a detach
        // runs under the device's own lock, so the device lock plus an "attached" check gives
        // the same guarantee without a domain-wide lock word that every vCPU's read would write
        // (the shared read-lock count made reads of different devices serialise, and its
        // per-thread hold counters allocated).
        VpciDevice dev = lookup(d, vd, sbdf);
        if (dev != null) {
            // Optimistic first: no monitor, validated against the device's write sections
            // (VpciDevice#validate), so concurrent reads of one device share no lock word. A read
            // that overlapped a change, or a device being detached, takes the monitor below.
            int stamp = dev.readStamp();
            if (stamp >= 0 && dev.attached()) {
                int value;
                try {
                    value = dev.readOptimistic(reg, size);
                } catch (RuntimeException raced) {
                    value = 0;
                    stamp = -1; // a handler met state mid-change: read again under the lock
                }
                if (dev.validate(stamp)) {
                    return value;
                }
            }
            synchronized (dev) {
                if (dev.attached()) {
                    return dev.read(reg, size);
                }
            }
        }
        // No vPCI device, or it was detached under our feet: as Xen, under the read lock, so a
        // read racing a deassign/assign pair (PHYSDEVOP_pci_device_reset) waits for the pair
        // rather than slipping to hardware in between.
        d.pciLock().readLock().lock();
        try {
            dev = lookup(d, sbdf);
            if (dev != null) {
                return dev.read(reg, size);
            }
            return d.isHardwareDomain() ? passthrough.read(sbdf, reg, size) : VpciRegisters.sizeMask(size);
        } finally {
            d.pciLock().readLock().unlock();
        }
    }

    /** {@code vpci_write}: the write counterpart of {@link #read}, by {@code current}'s domain. */
    public WriteOutcome write(Vcpu current, Sbdf sbdf, int reg, int size, int value) {
        return write(current, sbdf.sbdf(), reg, size, value);
    }

    /** {@link #write(Vcpu, Sbdf, int, int, int)} keyed by Xen's packed SBDF (allocation-free). */
    public WriteOutcome write(Vcpu current, int sbdf, int reg, int size, int value) {
        Domain d = current.domain();
        d.pciLock().writeLock().lock();
        try {
            VpciDevice dev = lookup(d, sbdf);
            if (dev != null) {
                return dev.write(current, reg, size, value);
            }
            if (d.isHardwareDomain()) {
                passthrough.write(sbdf, reg, size, value);
            }
            return WriteOutcome.NO_EFFECT;
        } finally {
            d.pciLock().writeLock().unlock();
        }
    }

    private VpciDevice lookup(Domain d, int key) {
        return lookup(d, d.extension(VpciDomain.SLOT), key);
    }

    /** The device {@code key} names for {@code d}, looked up in {@code vd} (d's vPCI state, or null). */
    private VpciDevice lookup(Domain d, VpciDomain vd, int key) {
        if (d.isHardwareDomain()) {
            VpciDevice dev = vd == null ? null : vd.findByMachineSbdf(key);
            if (dev == null) {
                VpciDomain hidden = xen.domXen().extension(VpciDomain.SLOT);
                dev = hidden == null ? null : hidden.findByMachineSbdf(key);
            }
            return dev;
        }
        return vd == null ? null : vd.findByGuestSbdf(key);
    }

    /**
     * A device leaving a domain must not stay reachable through that domain's p2m: every page
     * of the owner's p2m that maps a machine frame of one of the device's BARs is unmapped,
     * whatever the guest did with its BARs (moved them over each other, left decoding off with
     * frames still shared by another enabled BAR), then memory decoding is turned off in
     * hardware. Upstream's {@code vpci_deassign_device} (xen/drivers/vpci/vpci.c) only frees
     * the rangesets and leaves the mappings to the toolstack's reset; the model closes that
     * window at once (isolation first, docs/security.md).
     */
    private static void unmapBars(VpciDevice dev) {
        P2m p2m = dev.owner().p2m();
        VpciHeader h = dev.header();
        for (int i = 0; i < VpciHeader.SLOTS; i++) {
            VpciBar bar = h.bar(i);
            if (!bar.mappable() || bar.size() == 0) {
                continue;
            }
            long first = bar.addr() >>> P2m.PAGE_SHIFT;
            long last = (bar.addr() + bar.size() - 1) >>> P2m.PAGE_SHIFT;
            // Only a BAR inside its host bridge's windows was ever mapped (modify_bars skips the
            // others, pci_check_bar); an unassigned BAR at 0 must not cut the hardware domain's
            // 1:1 mappings of whatever really lives there.
            if (dev.spec().checkBar().check(dev.machineSbdf(), first, last)) {
                p2m.unmapMachineFrames(first, last);
            }
        }
        h.decodingOff(dev);
    }
}
