package org.xenpci.armpci.gicv3;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.core.Domain;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's GICv3 ITS support as one booted Xen holds it, published as a service by
 * {@link GicV3Its}: the host ITSes, the host LPI table, every domain's virtual ITS, and the
 * operations vPCI needs to route a guest's MSIs.
 *
 * <p>Audit views ({@link #mappings()}, {@link #reservations()}, {@link #usage}, {@link #ittPools()},
 * {@link #lpiPool()}, {@link #hostLpiBinding}) return immutable snapshots; they take each host
 * ITS's lock in turn, so a view spanning several ITSes is consistent per ITS, not across them.
 *
 * <p>Thread-safety: host ITSes and vITSes are thread-safe themselves; the per-domain vITS map
 * is concurrent.
 */
public final class ItsLayer {
    private static final Logger LOG = LoggerFactory.getLogger(ItsLayer.class);

    /** A physical function's place on a host ITS. */
    record HostDevice(HostIts its, int hostDevid) {
    }

    private final Xen xen;
    private final List<HostIts> hostIts;
    private final HostLpis lpis;
    private final Map<Integer, Vits[]> vits = new ConcurrentHashMap<>();

    ItsLayer(Xen xen, List<HostIts> hostIts, HostLpis lpis) {
        this.xen = xen;
        this.hostIts = List.copyOf(hostIts);
        this.lpis = lpis;
    }

    /** The host ITS bases (machine addresses), in DT order. */
    public List<Long> hostItsBases() {
        return hostIts.stream().map(HostIts::base).toList();
    }

    /** The machine base of the host ITS whose DT node has {@code phandle} (what msi-map names), if Xen drives one. */
    public java.util.OptionalLong hostItsBase(int phandle) {
        for (HostIts its : hostIts) {
            if (its.phandle() == phandle) {
                return java.util.OptionalLong.of(its.base());
            }
        }
        return java.util.OptionalLong.empty();
    }

    /** The virtual ITSes of {@code d} (hwdom: one per host ITS; guest: at most one). */
    public List<Vits> vits(Domain d) {
        Vits[] v = vits.get(d.domid());
        return v == null ? List.of() : List.of(v);
    }

    void addVits(Domain d, Vits v) {
        vits.merge(d.domid(), new Vits[] {v}, (a, b) -> {
            Vits[] n = java.util.Arrays.copyOf(a, a.length + 1);
            n[a.length] = b[0];
            return n;
        });
    }

    HostIts hostItsAt(long base) {
        for (HostIts its : hostIts) {
            if (its.base() == base) {
                return its;
            }
        }
        return null;
    }

    HostLpis lpis() {
        return lpis;
    }

    /**
     * The host ITS and host DeviceID of the physical function {@code machine}: its host
     * bridge's {@code msi-map} ({@link MsiMap}, the same mapping the hardware applies) on
     * requester ID {@code bus << 8 | devfn}, and the host ITS whose DT phandle it names.
     *
     * @return null if no bridge, no mapping, or no ITS Xen drives has that phandle
     */
    HostDevice hostDevice(Sbdf machine) {
        ArmPciLayer pci = xen.service(ArmPciLayer.class).orElse(null);
        HostBridge b = pci == null ? null : pci.findHostBridge(machine.segment(), machine.bus());
        if (b == null) {
            return null;
        }
        Optional<MsiMap.Translation> t = b.msiMapping().map(machine.bdf());
        if (t.isEmpty()) {
            return null;
        }
        for (HostIts its : hostIts) {
            if (its.phandle() == t.get().controllerPhandle()) {
                return new HostDevice(its, t.get().deviceId());
            }
        }
        return null;
    }

    /** A guest's DeviceID to the host device, through vPCI's {@link GuestPciDevices}; null if it owns none there. */
    HostDevice resolveGuestDevice(Domain d, int guestDevid) {
        GuestPciDevices devs = xen.service(GuestPciDevices.class).orElse(null);
        Sbdf machine = devs == null ? null : devs.machineSbdf(d, guestDevid);
        return machine == null ? null : hostDevice(machine);
    }

    /**
     * The physical message to program for a guest's MSI/MSI-X vector of {@code machine}
     * ({@code guestAddress}, {@code guestData} as the guest wrote them).
     * <ul>
     * <li>Hardware domain: unchanged: its vITSes sit at the host ITS addresses and it uses host
     *     DeviceIDs, so its messages are already physical (xen/arch/arm/vgic-v3-its.c).</li>
     * <li>Guest: only a message to ITS own vITS doorbell is routable; it becomes a write of the
     *     same EventID to the doorbell of the host ITS that serves the function (the event's host
     *     LPI then carries the guest binding). Anything else (another domain's doorbell, the
     *     physical doorbell, RAM, a wrong vITS) is refused: empty, and the vector must stay
     *     masked in hardware.</li>
     * </ul>
     */
    public Optional<PhysicalMsi> physicalMessage(Domain d, Sbdf machine, long guestAddress, int guestData) {
        if (d.isHardwareDomain()) {
            return Optional.of(new PhysicalMsi(guestAddress, guestData));
        }
        Vits[] v = vits.get(d.domid());
        if (v == null || guestAddress != v[0].doorbell()) {
            return Optional.empty();
        }
        HostDevice hd = hostDevice(machine);
        return hd == null ? Optional.empty() : Optional.of(new PhysicalMsi(hd.its().doorbell(), guestData));
    }

    /**
     * Removes every ITS mapping {@code owner} has for {@code machine} (host MAPD V=0, host LPIs
     * freed, the vITS's device and events forgotten) and gives back what was reserved for it.
     * Called when the device is deassigned from or removed under {@code owner}; a later message
     * from it is dropped by the hardware ITS.
     */
    public void releaseDevice(Domain owner, Sbdf machine) {
        HostDevice hd = hostDevice(machine);
        if (hd == null) {
            return;
        }
        HostIts.Device dev = hd.its().device(owner, hd.hostDevid());
        if (dev != null) {
            hd.its().mapGuestDevice(owner, hd.hostDevid(), dev.guestDoorbell, dev.guestDevid, 0, false);
            for (Vits v : vits(owner)) {
                if (v.doorbell() == dev.guestDoorbell) {
                    v.forget(dev.guestDevid);
                }
            }
            LOG.debug("{}: ITS mappings of {} released", owner, machine);
        }
        hd.its().unreserve(owner, hd.hostDevid(), machine);
    }

    /**
     * Reserves on the host ITS serving {@code machine} the ITT memory and host LPIs the function
     * can need (its MSI/MSI-X vector count rounded up to a power of two, at least 32 events), for
     * {@code owner}, a guest with a vITS that the function is being assigned to. Nothing for the
     * hardware domain or a domain without a vITS (upstream guests), nor for a function no host
     * ITS serves.
     *
     * @return 0, or -ENOSPC (the pool cannot hold it: the assignment fails, nothing changed),
     *         -EBUSY (another domain holds that host DeviceID), -EINVAL (beyond the ITS's widths)
     */
    int reserveDevice(Domain owner, Sbdf machine) {
        if (owner.isHardwareDomain() || !vits.containsKey(owner.domid())) {
            return 0;
        }
        HostDevice hd = hostDevice(machine);
        ArmPciLayer pci = xen.service(ArmPciLayer.class).orElse(null);
        if (hd == null || pci == null) {
            return 0;
        }
        int rc = hd.its().reserve(owner, hd.hostDevid(), machine, MsiVectors.events(MsiVectors.of(pci.conf(), machine)));
        if (rc != 0) {
            LOG.warn("{}: cannot reserve ITS resources for {} ({})", owner, machine, rc);
        }
        return rc;
    }

    /**
     * {@code gicv3_its_map_guest_device(d, host_doorbell, host_devid, guest_doorbell, guest_devid,
     * nr_events, valid)} (xen/arch/arm/gic-v3-its.c): finds the host ITS by its doorbell address and maps or
     * unmaps the device there, eagerly mapping every event to a host LPI.
     *
     * @return 0, -ENOENT (no host ITS has that doorbell, or unmapping an unmapped device),
     *         -EINVAL (DeviceID beyond the ITS's DeviceID bits, or the event count, rounded up to
     *         a power of two of at least 32, not below 2^EventID bits), -EBUSY (already mapped,
     *         or reserved for another domain), -ENOSPC (more events than the device's
     *         reservation, a non-hardware domain mapping a DeviceID not reserved for it, or host
     *         LPIs or ITT memory exhausted)
     */
    public int mapGuestDevice(Domain d, long hostDoorbell, int hostDevid, long guestDoorbell, int guestDevid,
            int nrEvents, boolean valid) {
        for (HostIts its : hostIts) {
            if (its.doorbell() == hostDoorbell) {
                return its.mapGuestDevice(d, hostDevid, guestDoorbell, guestDevid, nrEvents, valid);
            }
        }
        return org.xenpci.core.Errno.ENOENT.rc();
    }

    /**
     * Host LPI bound to event {@code event} of host DeviceID {@code hostDevid} of {@code d} on the
     * ITS with doorbell {@code hostDoorbell}, or -1 (a debugging and test view).
     */
    public int hostLpi(Domain d, long hostDoorbell, int hostDevid, int event) {
        for (HostIts its : hostIts) {
            if (its.doorbell() == hostDoorbell) {
                HostIts.Device dev = its.device(d, hostDevid);
                return dev == null || event < 0 || event >= dev.events ? -1 : dev.hostLpi(event);
            }
        }
        return -1;
    }

    /**
     * Where Xen delivers event {@code event} of the physical function {@code machine} owned by
     * guest {@code d} when the message carries the guest doorbell {@code guestDoorbell}: the
     * (vCPU, virtual LPI) binding of the event's host LPI, which the guest's vITS set with MAPD,
     * MAPC and MAPTI/MAPI. A read-only view for the toolstack and tests; takes the host ITS lock.
     *
     * @return empty if the function has no host ITS, {@code d} has not mapped it (MAPD) behind
     *         that doorbell, the event is beyond its ITT, or the event is not bound (no MAPTI yet,
     *         or DISCARDed)
     */
    public Optional<GuestLpi> guestLpi(Domain d, Sbdf machine, long guestDoorbell, int event) {
        HostDevice hd = hostDevice(machine);
        HostIts.Device dev = hd == null ? null : hd.its().device(d, hd.hostDevid());
        if (dev == null || dev.guestDoorbell != guestDoorbell || event < 0 || event >= dev.events) {
            return Optional.empty();
        }
        HostLpis.Binding b = lpis.binding(dev.hostLpi(event));
        if (b == null || b.domain() != d || b.vlpi() == HostLpis.INVALID_LPI) {
            return Optional.empty();
        }
        return Optional.of(new GuestLpi(b.vlpi(), b.vcpu()));
    }

    /**
     * Audit view: every device mapped on every host ITS (host ITSes in DT order, then by host
     * DeviceID), with the domain it belongs to. Each ITS is read under its lock.
     */
    public List<ItsMapping> mappings() {
        List<ItsMapping> out = new java.util.ArrayList<>();
        for (HostIts its : hostIts) {
            out.addAll(its.mappings());
        }
        return List.copyOf(out);
    }

    /** Audit view: every reservation on every host ITS (DT order, then host DeviceID). */
    public List<ItsReservation> reservations() {
        List<ItsReservation> out = new java.util.ArrayList<>();
        for (HostIts its : hostIts) {
            out.addAll(its.reservations());
        }
        return List.copyOf(out);
    }

    /**
     * Audit view: {@code d}'s ITS memory and host LPIs over every host ITS, used and reserved.
     * All zero for a domain that holds nothing (a destroyed one included).
     */
    public ItsUsage usage(Domain d) {
        long inUse = 0;
        long reserved = 0;
        int devices = 0;
        for (HostIts its : hostIts) {
            long[] u = its.ittUsage(d);
            inUse += u[0];
            reserved += u[1];
            devices += its.mappedDevices(d);
        }
        int[] l = lpis.usage(d);
        return new ItsUsage(d.domid(), devices, inUse, reserved, l[0], l[1]);
    }

    /** Audit view: the ITT memory pool of each host ITS (DT order). */
    public List<IttPool> ittPools() {
        return hostIts.stream().map(HostIts::pool).toList();
    }

    /** Audit view: Xen's host LPI table (shared by all host ITSes). */
    public LpiPool lpiPool() {
        int[] p = lpis.pool();
        return new LpiPool(p[0], p[1], p[2]);
    }

    /**
     * Audit view: the domain, vCPU and virtual LPI host LPI {@code hostLpi} is bound to, or empty
     * if it is not allocated. Lock-free (reads the binding {@link HostLpis#doLpi} uses).
     */
    public Optional<HostLpiBinding> hostLpiBinding(int hostLpi) {
        HostLpis.Binding b = lpis.binding(hostLpi);
        return b == null ? Optional.empty()
                : Optional.of(new HostLpiBinding(hostLpi, b.domain().domid(), b.vcpu(), b.vlpi()));
    }

    /** Number of devices {@code d} has mapped on host ITSes. */
    public int mappedDevices(Domain d) {
        int n = 0;
        for (HostIts its : hostIts) {
            n += its.mappedDevices(d);
        }
        return n;
    }

    void domainDestroyed(Domain d) {
        for (HostIts its : hostIts) {
            its.releaseDomain(d);
        }
        Vits[] gone = vits.remove(d.domid());
        if (gone != null) {
            // Leave no trap behind: the vITS frames go with the domain.
            for (org.xenpci.core.P2m.Entry e : d.p2m().entries()) {
                if (e instanceof org.xenpci.core.P2m.Trapped) {
                    for (Vits v : gone) {
                        d.p2m().removeTrap(e.gpa(), v);
                    }
                }
            }
        }
    }
}
