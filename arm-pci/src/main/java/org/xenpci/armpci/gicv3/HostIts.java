package org.xenpci.armpci.gicv3;

import static org.xenpci.armpci.its.ItsRegs.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Hex;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's driver for one host ITS (xen/arch/arm/gic-v3-its.c): it programs the hardware only
 * through its registers and a command queue in memory Xen owns, and keeps the host-side
 * bookkeeping of guest devices ({@code struct its_device}): host DeviceID, the guest's doorbell
 * and DeviceID, the host LPIs of every event.
 *
 * <p>Rules of {@link #mapGuestDevice} follow {@code gicv3_its_map_guest_device} (xen/arch/arm/gic-v3-its.c).
 * Host LPIs are eagerly mapped for every event, routed to collection 0 = pCPU 0. ITT memory
 * comes from an {@link IttAllocator} over Xen's memory after the command queue: freed on unmap
 * and reused, as Xen's {@code xfree} of the ITT. A guest's device gets its ITT memory and LPIs
 * reserved when it is assigned ({@link #reserve}); see docs/msi.md, "ITS memory".
 *
 * <p>Thread-safety: every method is synchronized (Xen's {@code its->its_lock}); the command
 * queue is written and consumed under it.
 */
final class HostIts {
    private static final Logger LOG = LoggerFactory.getLogger(HostIts.class);
    /** Command queue: 64 KiB (16 pages), as Xen's {@code ITS_CMD_QUEUE_SZ}. */
    static final long QUEUE_SIZE = 0x10000;
    /** ITTs are at least this big and this aligned ({@code ITS_ITT_ALIGN}); also the allocation unit. */
    static final long ITT_ALIGN = 256;

    /** A guest device mapped on this ITS. */
    static final class Device {
        final Domain domain;
        final int hostDevid;
        final long guestDoorbell;
        final int guestDevid;
        final int events;
        final int[] lpiBlocks;
        final long itt;
        final long ittBytes;
        /** The ITT sits in the device's {@link Reservation} (not freed on unmap, only when the reservation goes). */
        final boolean reserved;

        Device(Domain domain, int hostDevid, long guestDoorbell, int guestDevid, int events, int[] lpiBlocks, long itt,
                long ittBytes, boolean reserved) {
            this.domain = domain;
            this.hostDevid = hostDevid;
            this.guestDoorbell = guestDoorbell;
            this.guestDevid = guestDevid;
            this.events = events;
            this.lpiBlocks = lpiBlocks;
            this.itt = itt;
            this.ittBytes = ittBytes;
            this.reserved = reserved;
        }

        int hostLpi(int event) {
            return lpiBlocks[event / LPI_BLOCK] + event % LPI_BLOCK;
        }
    }

    /**
     * ITT memory and host LPIs set aside for a guest's device from its assignment until it
     * leaves the guest: the guest's MAPD of it takes its ITT and LPIs from here only, so no other
     * domain can make it fail, and the guest can take no more than this.
     */
    private static final class Reservation {
        final Domain domain;
        final int hostDevid;
        final int maxEvents;
        final long itt;
        final long ittBytes;
        final List<Sbdf> functions = new ArrayList<>(1);

        Reservation(Domain domain, int hostDevid, int maxEvents, long itt, long ittBytes) {
            this.domain = domain;
            this.hostDevid = hostDevid;
            this.maxEvents = maxEvents;
            this.itt = itt;
            this.ittBytes = ittBytes;
        }
    }

    private final long base;
    private final int phandle;
    private final String path;
    private final PhysicalAddressSpace bus;
    private final HostLpis lpis;
    private final long queue;
    private final IttAllocator itts;
    private final int devidBits;
    private final int evidBits;
    private long cwriter;
    private final Map<Integer, Device> devices = new HashMap<>();
    private final Map<Integer, Reservation> reservations = new HashMap<>();

    /**
     * Probes and initialises the ITS at {@code base}: reads GITS_TYPER, sets up the command
     * queue at {@code xenMemory} (64 KiB) with ITTs carved after it up to
     * {@code xenMemory + xenMemorySize}, maps collection 0 to pCPU 0, and enables the ITS.
     */
    HostIts(String path, int phandle, long base, PhysicalAddressSpace bus, HostLpis lpis, long xenMemory,
            long xenMemorySize) {
        this.path = path;
        this.phandle = phandle;
        this.base = base;
        this.bus = bus;
        this.lpis = lpis;
        long typer = bus.read(base + GITS_TYPER, 8);
        this.devidBits = (int) (typer >>> GITS_TYPER_DEVBITS_SHIFT & 0x1f) + 1;
        this.evidBits = (int) (typer >>> GITS_TYPER_IDBITS_SHIFT & 0x1f) + 1;
        this.queue = xenMemory;
        this.itts = new IttAllocator(xenMemory + QUEUE_SIZE, Math.max(0, xenMemorySize - QUEUE_SIZE), ITT_ALIGN);
        bus.write(base + GITS_CTLR, 4, 0);
        bus.write(base + GITS_CBASER, 8, GITS_CBASER_VALID | queue | (QUEUE_SIZE / 4096 - 1));
        bus.write(base + GITS_CWRITER, 8, 0);
        bus.write(base + GITS_CTLR, 4, GITS_CTLR_ENABLED);
        submit(ItsCommand.mapc(0, 0, true), ItsCommand.sync(0));
        LOG.info("GICv3 ITS {} at {}: {} DeviceID bits, {} EventID bits", path, Hex.of(base), devidBits, evidBits);
    }

    long base() {
        return base;
    }

    int phandle() {
        return phandle;
    }

    String path() {
        return path;
    }

    /** Machine address of GITS_TRANSLATER. */
    long doorbell() {
        return base + GITS_TRANSLATER;
    }

    int devidBits() {
        return devidBits;
    }

    int evidBits() {
        return evidBits;
    }

    /** Writes the commands into the queue and advances GITS_CWRITER ({@code its_send_command}). */
    private void submit(ItsCommand... cmds) {
        for (ItsCommand c : cmds) {
            long at = queue + cwriter;
            bus.write(at, 8, c.dw0());
            bus.write(at + 8, 8, c.dw1());
            bus.write(at + 16, 8, c.dw2());
            bus.write(at + 24, 8, c.dw3());
            cwriter = (cwriter + ITS_CMD_SIZE) % QUEUE_SIZE;
        }
        bus.write(base + GITS_CWRITER, 8, cwriter);
        // gicv3_its_wait_commands: the modelled ITS consumes the queue synchronously.
        long creadr = bus.read(base + GITS_CREADR, 8);
        if ((creadr & GITS_CQUEUE_OFFSET_MASK) != cwriter) {
            LOG.error("ITS {}: command queue stuck at {} (writer {})", Hex.of(base), Hex.of(creadr), Hex.of(cwriter));
        }
    }

    /**
     * {@code gicv3_its_map_guest_device}: maps ({@code valid}) or unmaps host DeviceID
     * {@code hostDevid} for {@code d}.
     *
     * <p>Memory and LPIs: a DeviceID reserved for {@code d} ({@link #reserve}) takes its ITT and
     * LPIs from the reservation, and may be mapped with at most the reserved event count; the
     * hardware domain (no reservations) allocates from what no reservation holds and gives it
     * back on unmap, as Xen {@code xzalloc}s and {@code xfree}s the ITT. Any other domain has no
     * share outside its reservations.
     *
     * @return 0, -EINVAL (DeviceID or event count too big), -EBUSY (already mapped, or reserved
     *         for another domain), -ENOENT (unmapping a device that is not mapped for {@code d}),
     *         -ENOSPC (more events than reserved for the device, or no host LPIs or ITT memory)
     */
    synchronized int mapGuestDevice(Domain d, int hostDevid, long guestDoorbell, int guestDevid, int nrEvents,
            boolean valid) {
        if (!valid) {
            Device dev = devices.get(hostDevid);
            if (dev == null || dev.domain != d) {
                return Errno.ENOENT.rc();
            }
            unmap(dev);
            return 0;
        }
        if (devidBits < 32 && Integer.toUnsignedLong(hostDevid) >= 1L << devidBits) {
            return Errno.EINVAL.rc();
        }
        int events = nrEvents <= 1 ? 1 : Integer.highestOneBit(nrEvents - 1) << 1;
        events = Math.max(events, LPI_BLOCK);
        if (events <= 0 || (evidBits < 32 && Integer.toUnsignedLong(events) >= 1L << evidBits)) {
            return Errno.EINVAL.rc();
        }
        Reservation r = reservations.get(hostDevid);
        if (devices.containsKey(hostDevid) || (r != null && r.domain != d)) {
            return Errno.EBUSY.rc();
        }
        if (r == null ? !d.isHardwareDomain() : events > r.maxEvents) {
            LOG.warn("ITS {}: {} DeviceID {}: {} events exceed its share ({}); -ENOSPC", Hex.of(base), d,
                    Hex.of(hostDevid), events, r == null ? 0 : r.maxEvents);
            return Errno.ENOSPC.rc();
        }
        long ittSize = Math.max(ITT_ALIGN, (long) events * 8);
        long itt = r != null ? r.itt : itts.allocate(ittSize);
        if (itt < 0) {
            return Errno.ENOSPC.rc();
        }
        int[] blocks = new int[events / LPI_BLOCK];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = lpis.allocateBlock(d, r != null);
            if (blocks[i] < 0) {
                for (int j = 0; j < i; j++) {
                    lpis.freeBlock(blocks[j]);
                }
                if (r == null) {
                    itts.free(itt);
                }
                return Errno.ENOSPC.rc();
            }
        }
        Device dev = new Device(d, hostDevid, guestDoorbell, guestDevid, events, blocks, itt, itts.roundUp(ittSize),
                r != null);
        devices.put(hostDevid, dev);
        submit(ItsCommand.mapd(hostDevid, Integer.numberOfTrailingZeros(events), itt, true));
        for (int e = 0; e < events; e++) {
            submit(ItsCommand.mapti(hostDevid, e, dev.hostLpi(e), 0), ItsCommand.event(GITS_CMD_INV, hostDevid, e));
        }
        submit(ItsCommand.sync(0));
        LOG.debug("ITS {}: {} DeviceID {} (guest {}) mapped with {} events", Hex.of(base), d, Hex.of(hostDevid),
                Hex.of(guestDevid), events);
        return 0;
    }

    private void unmap(Device dev) {
        submit(ItsCommand.mapd(dev.hostDevid, 1, 0, false), ItsCommand.sync(0));
        for (int b : dev.lpiBlocks) {
            lpis.freeBlock(b);
        }
        if (!dev.reserved) {
            itts.free(dev.itt);
        }
        devices.remove(dev.hostDevid);
    }

    /**
     * Sets aside, for {@code d}, the ITT memory and host LPIs that host DeviceID
     * {@code hostDevid} can need with {@code maxEvents} events (assignment of {@code function}
     * to a guest with a vITS). Idempotent for a function already holding it; a second function
     * of {@code d} behind the same DeviceID (aliasing requester IDs) shares the reservation.
     *
     * @return 0, -EINVAL (DeviceID or event count beyond this ITS), -EBUSY (the DeviceID is
     *         reserved for or mapped by another domain), -ENOSPC (not enough ITT memory or host
     *         LPIs left unreserved); on error nothing changed
     */
    synchronized int reserve(Domain d, int hostDevid, Sbdf function, int maxEvents) {
        if ((devidBits < 32 && Integer.toUnsignedLong(hostDevid) >= 1L << devidBits)
                || (evidBits < 32 && Integer.toUnsignedLong(maxEvents) >= 1L << evidBits)) {
            return Errno.EINVAL.rc();
        }
        Reservation r = reservations.get(hostDevid);
        Device mapped = devices.get(hostDevid);
        if ((r != null && r.domain != d) || (mapped != null && mapped.domain != d)) {
            return Errno.EBUSY.rc();
        }
        if (r != null) {
            if (!r.functions.contains(function)) {
                r.functions.add(function);
            }
            return 0;
        }
        long bytes = Math.max(ITT_ALIGN, (long) maxEvents * 8);
        long itt = itts.allocate(bytes);
        if (itt < 0) {
            LOG.warn("ITS {}: no ITT memory left to reserve {} bytes for {} ({})", Hex.of(base), bytes, function, d);
            return Errno.ENOSPC.rc();
        }
        if (!lpis.reserve(d, maxEvents / LPI_BLOCK)) {
            itts.free(itt);
            LOG.warn("ITS {}: no host LPIs left to reserve {} for {} ({})", Hex.of(base), maxEvents, function, d);
            return Errno.ENOSPC.rc();
        }
        r = new Reservation(d, hostDevid, maxEvents, itt, itts.roundUp(bytes));
        r.functions.add(function);
        reservations.put(hostDevid, r);
        return 0;
    }

    /**
     * {@code function} of {@code d} left it: when no function holds the reservation of
     * {@code hostDevid} any more, the device is unmapped if {@code d} mapped it and its memory
     * and LPIs go back to the pool.
     */
    synchronized void unreserve(Domain d, int hostDevid, Sbdf function) {
        Reservation r = reservations.get(hostDevid);
        if (r == null || r.domain != d) {
            return;
        }
        r.functions.remove(function);
        if (r.functions.isEmpty()) {
            drop(r);
        }
    }

    private void drop(Reservation r) {
        Device dev = devices.get(r.hostDevid);
        if (dev != null && dev.domain == r.domain) {
            unmap(dev);
        }
        reservations.remove(r.hostDevid);
        itts.free(r.itt);
        lpis.unreserve(r.domain, r.maxEvents / LPI_BLOCK);
    }

    /** The device mapped at {@code hostDevid} for {@code d}, or null. */
    synchronized Device device(Domain d, int hostDevid) {
        Device dev = devices.get(hostDevid);
        return dev != null && dev.domain == d ? dev : null;
    }

    /** The device {@code d} knows as {@code guestDevid} behind {@code guestDoorbell}, or null. */
    synchronized Device guestDevice(Domain d, long guestDoorbell, int guestDevid) {
        for (Device dev : devices.values()) {
            if (dev.domain == d && dev.guestDoorbell == guestDoorbell && dev.guestDevid == guestDevid) {
                return dev;
            }
        }
        return null;
    }

    /**
     * {@code gicv3_assign_guest_event}: binds {@code event} of a mapped device to {@code vlpi} on
     * {@code vcpu} (0 as vlpi unbinds, {@code gicv3_remove_guest_event}).
     *
     * @return 0, -ENOENT (device not mapped for d), -EINVAL (event out of range)
     */
    synchronized int assignGuestEvent(Domain d, long guestDoorbell, int guestDevid, int event, int vcpu, int vlpi) {
        Device dev = guestDevice(d, guestDoorbell, guestDevid);
        if (dev == null) {
            return Errno.ENOENT.rc();
        }
        if (event < 0 || event >= dev.events) {
            return Errno.EINVAL.rc();
        }
        lpis.bind(dev.hostLpi(event), vcpu, vlpi);
        return 0;
    }

    /** Unmaps every device {@code d} has on this ITS and drops its reservations (domain destruction). */
    synchronized void releaseDomain(Domain d) {
        for (Device dev : devices.values().toArray(new Device[0])) {
            if (dev.domain == d) {
                unmap(dev);
            }
        }
        for (Reservation r : reservations.values().toArray(new Reservation[0])) {
            if (r.domain == d) {
                drop(r);
            }
        }
    }

    /** Snapshot of every mapped device, by host DeviceID. */
    synchronized List<ItsMapping> mappings() {
        List<ItsMapping> out = new ArrayList<>(devices.size());
        for (Device dev : devices.values()) {
            out.add(new ItsMapping(path, base, dev.hostDevid, dev.domain.domid(), dev.guestDevid, dev.guestDoorbell,
                    dev.events, dev.itt, dev.ittBytes, dev.reserved));
        }
        out.sort(java.util.Comparator.comparingInt(ItsMapping::hostDevid));
        return out;
    }

    /** Snapshot of every reservation, by host DeviceID. */
    synchronized List<ItsReservation> reservations() {
        List<ItsReservation> out = new ArrayList<>(reservations.size());
        for (Reservation r : reservations.values()) {
            out.add(new ItsReservation(path, r.hostDevid, r.domain.domid(), r.functions, r.maxEvents, r.itt, r.ittBytes,
                    r.maxEvents));
        }
        out.sort(java.util.Comparator.comparingInt(ItsReservation::hostDevid));
        return out;
    }

    /** {@code d}'s ITT memory here: {in use, reserved} bytes. */
    synchronized long[] ittUsage(Domain d) {
        long inUse = 0;
        long reserved = 0;
        for (Device dev : devices.values()) {
            inUse += dev.domain == d ? dev.ittBytes : 0;
        }
        for (Reservation r : reservations.values()) {
            reserved += r.domain == d ? r.ittBytes : 0;
        }
        return new long[] {inUse, reserved};
    }

    /** Snapshot of the ITT pool. */
    synchronized IttPool pool() {
        return new IttPool(path, itts.base(), itts.totalBytes(), itts.freeBytes(), itts.largestFree(), itts.freeExtents());
    }

    /** Number of devices mapped for {@code d}. */
    synchronized int mappedDevices(Domain d) {
        int n = 0;
        for (Device dev : devices.values()) {
            n += dev.domain == d ? 1 : 0;
        }
        return n;
    }
}
