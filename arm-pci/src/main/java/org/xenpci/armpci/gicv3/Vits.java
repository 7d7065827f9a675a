package org.xenpci.armpci.gicv3;

import static org.xenpci.armpci.its.ItsRegs.*;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsControlFrame;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsHardware;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioHandler;
import org.xenpci.core.Vcpu;
import org.xenpci.core.trace.TraceCategory;

/**
 * A domain's virtual ITS (xen/arch/arm/vgic-v3-its.c): the ITS registers emulated at a guest
 * address, a command queue the guest keeps in its own RAM, and the commands turned into host
 * ITS operations:
 * <ul>
 * <li>MAPD(V=1) maps the device on the host ITS ({@code gicv3_its_map_guest_device}): for the
 *     hardware domain the host DeviceID is the guest's (xen/arch/arm/vgic-v3-its.c); for a guest it is found from
 *     the guest DeviceID (= guest RID) through {@link GuestPciDevices} and the host bridge's
 *     {@code msi-map}, so a guest can only map functions it owns. MAPD(V=0) unmaps it.</li>
 * <li>MAPC maps a collection to a vCPU (RDbase = vCPU number, GITS_TYPER.PTA = 0).</li>
 * <li>MAPTI / MAPI bind the event's host LPI to (vCPU, virtual LPI); MOVI retargets it; DISCARD
 *     unbinds it; INT makes the virtual LPI pending; CLEAR removes it; INV, INVALL, SYNC have
 *     nothing to do (no LPI configuration caching is modelled).</li>
 * </ul>
 * A command Xen refuses is ignored (the guest sees it consumed) and traced as
 * {@link ItsEvents.VitsCommand} with the errno; upstream Xen likewise only logs. Registers and
 * access rules are those of {@link ItsHardware}: 4- or 8-byte aligned accesses; others read
 * all-ones and are dropped. A guest CPU write to its GITS_TRANSLATER is dropped (a CPU write
 * has no DeviceID).
 *
 * <p>Thread-safety: synchronized on this object (Xen's {@code its->vcmd_lock} and
 * {@code its->its_lock} together); lock order Vits, then the host ITS.
 */
public final class Vits implements MmioHandler {
    private static final Logger LOG = LoggerFactory.getLogger(Vits.class);

    private final ItsLayer layer;
    private final Domain domain;
    private final long base;
    private final long size;
    /** The hardware domain's vITS shadows this host ITS; null for a guest vITS. */
    private final HostIts host;
    private final int devidBits;
    private final int evidBits;

    private final ItsControlFrame frame;
    /** Guest DeviceID to the host ITS and host DeviceID it was mapped on. */
    private final Map<Integer, VDevice> devices = new HashMap<>();
    /** Collection to vCPU. */
    private final Map<Integer, Integer> collections = new HashMap<>();
    /** {@code DeviceID << 32 | EventID} to {@code {vLPI, ICID}}. */
    private final Map<Long, int[]> ites = new HashMap<>();

    private record VDevice(HostIts its, int hostDevid, int eventBits) {
    }

    Vits(ItsLayer layer, Domain domain, long base, long size, HostIts host, int devidBits, int evidBits) {
        this.layer = layer;
        this.domain = domain;
        this.base = base;
        this.size = size;
        this.host = host;
        this.devidBits = devidBits;
        this.evidBits = evidBits;
        this.frame = new ItsControlFrame(GITS_TYPER_PHYSICAL | 7L << GITS_TYPER_ITT_ENTRY_SIZE_SHIFT
                | (long) (evidBits - 1) << GITS_TYPER_IDBITS_SHIFT | (long) (devidBits - 1) << GITS_TYPER_DEVBITS_SHIFT,
                ItsHardware.IIDR);
    }

    /** Guest-physical base of the control frame. */
    public long base() {
        return base;
    }

    /** Guest-physical address of this vITS's GITS_TRANSLATER: the doorbell guests program. */
    public long doorbell() {
        return base + GITS_TRANSLATER;
    }

    /** Bytes trapped from {@link #base()}. */
    public long size() {
        return size;
    }

    /** The domain this vITS belongs to. */
    public Domain domain() {
        return domain;
    }

    HostIts host() {
        return host;
    }

    /** Number of devices the guest has mapped (MAPD V=1) and Xen accepted. */
    public synchronized int mappedDevices() {
        return devices.size();
    }

    @Override
    public String name() {
        return "vits@" + Long.toHexString(base);
    }

    @Override
    public long read(Vcpu vcpu, long gpa, int sz) {
        synchronized (this) {
            return frame.read(gpa - base, sz);
        }
    }

    @Override
    public void write(Vcpu vcpu, long gpa, int sz, long value) {
        long offset = gpa - base;
        if (offset == GITS_TRANSLATER) {
            if (domain.xen().trace().enabled(TraceCategory.IRQ)) {
                domain.xen().trace().emit(new ItsEvents.VitsCommand(domain.domid(), -1, -1, (int) value, Errno.EPERM.rc()));
            }
            return;
        }
        synchronized (this) {
            frame.write(offset, sz, value);
            process();
        }
    }

    /** {@code vgic_its_handle_cmds}: runs the guest's commands from its RAM. */
    private void process() {
        for (long at = frame.nextCommand(); at >= 0; at = frame.nextCommand()) {
            byte[] raw = domain.p2m().copyFromGuest(at, ITS_CMD_SIZE);
            ItsCommand c = raw == null ? null : ItsCommand.fromBytes(raw, 0);
            int rc = c == null ? Errno.EFAULT.rc() : execute(c);
            if (rc != 0) {
                LOG.warn("{}: vITS command {} ignored: rc {}", domain, c == null ? "(unreadable)" : Hex.of(c.opcode()), rc);
            }
            if (domain.xen().trace().enabled(TraceCategory.IRQ)) {
                domain.xen().trace().emit(new ItsEvents.VitsCommand(domain.domid(), c == null ? -1 : c.opcode(),
                        c == null ? -1 : c.deviceId(), c == null ? -1 : c.eventId(), rc));
            }
        }
    }

    private int execute(ItsCommand c) {
        switch (c.opcode()) {
            case GITS_CMD_MAPD:
                return c.valid() ? mapd(c) : unmapd(c.deviceId());
            case GITS_CMD_MAPC:
                if (!c.valid()) {
                    collections.remove(c.icid());
                    return 0;
                }
                if (c.rdBase() >= domain.vcpus().size()) {
                    return Errno.EINVAL.rc();
                }
                collections.put(c.icid(), (int) c.rdBase());
                return 0;
            case GITS_CMD_MAPTI:
                return mapti(c, c.pIntId());
            case GITS_CMD_MAPI:
                return mapti(c, c.eventId());
            case GITS_CMD_MOVI: {
                int[] ite = ites.get(key(c.deviceId(), c.eventId()));
                Integer vcpu = collections.get(c.icid());
                if (ite == null || vcpu == null) {
                    return Errno.ENOENT.rc();
                }
                ite[1] = c.icid();
                VDevice dev = devices.get(c.deviceId());
                return dev.its().assignGuestEvent(domain, doorbell(), c.deviceId(), c.eventId(), vcpu, ite[0]);
            }
            case GITS_CMD_DISCARD: {
                int[] ite = ites.remove(key(c.deviceId(), c.eventId()));
                if (ite == null) {
                    return Errno.ENOENT.rc();
                }
                return devices.get(c.deviceId()).its().assignGuestEvent(domain, doorbell(), c.deviceId(), c.eventId(), 0,
                        HostLpis.INVALID_LPI);
            }
            case GITS_CMD_INT:
            case GITS_CMD_CLEAR: {
                int[] ite = ites.get(key(c.deviceId(), c.eventId()));
                Integer vcpu = ite == null ? null : collections.get(ite[1]);
                if (vcpu == null) {
                    return Errno.ENOENT.rc();
                }
                if (c.opcode() == GITS_CMD_INT) {
                    domain.vcpu(vcpu).inject(ite[0]);
                } else {
                    domain.vcpu(vcpu).acknowledge(ite[0]);
                }
                return 0;
            }
            case GITS_CMD_INV:
            case GITS_CMD_INVALL:
            case GITS_CMD_SYNC:
                return 0;
            default:
                return Errno.EOPNOTSUPP.rc();
        }
    }

    private static long key(int devid, int event) {
        return (long) devid << 32 | (event & 0xffffffffL);
    }

    private int mapd(ItsCommand c) {
        int devid = c.deviceId();
        if (devidBits < 32 && Integer.toUnsignedLong(devid) >= 1L << devidBits) {
            return Errno.EINVAL.rc();
        }
        if (c.eventIdBits() > evidBits) {
            return Errno.EINVAL.rc(); // vgic-v3-its.c: its_handle_mapd: a size above the vITS evid_bits is rejected
        }
        if (devices.containsKey(devid)) {
            // Remapping a mapped device: drop the old mapping first, as a real ITS replaces the ITT.
            unmapd(devid);
        }
        HostIts its;
        int hostDevid;
        if (host != null) {
            its = host;
            hostDevid = devid; // hwdom: "use the ID dom0 uses"
        } else {
            ItsLayer.HostDevice hd = layer.resolveGuestDevice(domain, devid);
            if (hd == null) {
                return Errno.ENODEV.rc();
            }
            its = hd.its();
            hostDevid = hd.hostDevid();
        }
        int rc = its.mapGuestDevice(domain, hostDevid, doorbell(), devid, 1 << c.eventIdBits(), true);
        if (rc == 0) {
            devices.put(devid, new VDevice(its, hostDevid, c.eventIdBits()));
        }
        return rc;
    }

    private int unmapd(int devid) {
        VDevice dev = devices.remove(devid);
        if (dev == null) {
            return Errno.ENOENT.rc();
        }
        ites.keySet().removeIf(k -> (int) (k >>> 32) == devid);
        return dev.its().mapGuestDevice(domain, dev.hostDevid(), doorbell(), devid, 0, false);
    }

    private int mapti(ItsCommand c, int vlpi) {
        VDevice dev = devices.get(c.deviceId());
        Integer vcpu = collections.get(c.icid());
        if (dev == null || vcpu == null) {
            return Errno.ENOENT.rc();
        }
        if (vlpi < LPI_OFFSET || Integer.toUnsignedLong(c.eventId()) >= 1L << dev.eventBits()) {
            return Errno.EINVAL.rc();
        }
        int rc = dev.its().assignGuestEvent(domain, doorbell(), c.deviceId(), c.eventId(), vcpu, vlpi);
        if (rc == 0) {
            ites.put(key(c.deviceId(), c.eventId()), new int[] {vlpi, c.icid()});
        }
        return rc;
    }

    /** Forgets guest DeviceID {@code devid} after Xen unmapped it (device deassigned or removed). */
    synchronized void forget(int devid) {
        devices.remove(devid);
        ites.keySet().removeIf(k -> (int) (k >>> 32) == devid);
    }

    @Override
    public String toString() {
        return "vITS " + Hex.of(base) + " of " + domain;
    }
}
