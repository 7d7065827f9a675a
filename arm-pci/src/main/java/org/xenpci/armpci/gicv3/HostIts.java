package org.xenpci.armpci.gicv3;

import static org.xenpci.armpci.its.ItsRegs.*;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Hex;
import org.xenpci.core.PhysicalAddressSpace;

/**
 * Xen's driver for one host ITS (xen/arch/arm/gic-v3-its.c): it programs the hardware only
 * through its registers and a command queue in memory Xen owns, and keeps the host-side
 * bookkeeping of guest devices ({@code struct its_device}): host DeviceID, the guest's doorbell
 * and DeviceID, the host LPIs of every event.
 *
 * <p>Rules of {@link #mapGuestDevice} follow {@code gicv3_its_map_guest_device} (spec 5.3).
 * Host LPIs are eagerly mapped for every event, routed to collection 0 = pCPU 0.
 *
 * <p>Thread-safety: every method is synchronized (Xen's {@code its->its_lock}); the command
 * queue is written and consumed under it.
 */
final class HostIts {
    private static final Logger LOG = LoggerFactory.getLogger(HostIts.class);
    /** Command queue: 64 KiB (16 pages), as Xen's {@code ITS_CMD_QUEUE_SZ}. */
    static final long QUEUE_SIZE = 0x10000;
    /** ITTs are at least this big and this aligned ({@code ITS_ITT_ALIGN}). */
    static final long ITT_ALIGN = 256;

    /** A guest device mapped on this ITS. */
    static final class Device {
        final Domain domain;
        final int hostDevid;
        final long guestDoorbell;
        final int guestDevid;
        final int events;
        final int[] lpiBlocks;

        Device(Domain domain, int hostDevid, long guestDoorbell, int guestDevid, int events, int[] lpiBlocks) {
            this.domain = domain;
            this.hostDevid = hostDevid;
            this.guestDoorbell = guestDoorbell;
            this.guestDevid = guestDevid;
            this.events = events;
            this.lpiBlocks = lpiBlocks;
        }

        int hostLpi(int event) {
            return lpiBlocks[event / LPI_BLOCK] + event % LPI_BLOCK;
        }
    }

    private final long base;
    private final int phandle;
    private final String path;
    private final PhysicalAddressSpace bus;
    private final HostLpis lpis;
    private final long queue;
    private long ittNext;
    private final long ittEnd;
    private final int devidBits;
    private final int evidBits;
    private long cwriter;
    private final Map<Integer, Device> devices = new HashMap<>();

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
        this.ittNext = xenMemory + QUEUE_SIZE;
        this.ittEnd = xenMemory + xenMemorySize;
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
     * @return 0, -EINVAL (DeviceID or event count too big), -EBUSY (already mapped), -ENOENT
     *         (unmapping a device that is not mapped for {@code d}), -ENOSPC (no host LPIs or ITT memory)
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
        if (devices.containsKey(hostDevid)) {
            return Errno.EBUSY.rc();
        }
        long ittSize = Math.max(ITT_ALIGN, (long) events * 8);
        long itt = (ittNext + ITT_ALIGN - 1) & ~(ITT_ALIGN - 1);
        if (itt + ittSize > ittEnd) {
            return Errno.ENOSPC.rc();
        }
        int[] blocks = new int[events / LPI_BLOCK];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = lpis.allocateBlock(d);
            if (blocks[i] < 0) {
                for (int j = 0; j < i; j++) {
                    lpis.freeBlock(blocks[j]);
                }
                return Errno.ENOSPC.rc();
            }
        }
        ittNext = itt + ittSize;
        Device dev = new Device(d, hostDevid, guestDoorbell, guestDevid, events, blocks);
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
        devices.remove(dev.hostDevid);
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

    /** Unmaps every device {@code d} has on this ITS (domain destruction). */
    synchronized void releaseDomain(Domain d) {
        for (Device dev : devices.values().toArray(new Device[0])) {
            if (dev.domain == d) {
                unmap(dev);
            }
        }
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
