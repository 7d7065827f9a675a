package org.xenpci.vpci;

import java.util.List;
import org.xenpci.core.Domain;
import org.xenpci.core.ExtensionSlot;

/**
 * Per-domain vPCI state, kept as a {@link Domain} extension (Xen hangs it off {@code struct
 * domain}): the domain's devices with vPCI, its {@link VirtualTopology}, and why vPCI crashed it
 * ({@code domain_crash}, recorded on the core {@code Domain}).
 *
 * <p>Thread-safety: the device list is an immutable array replaced under the domain's
 * {@code pciLock} write lock (attach/detach); lookups by SBDF go through two {@link SbdfIndex}es
 * (machine and guest SBDF) updated at the same time, lock-free and allocation-free, so the
 * config-access trap may look a device up without any lock (it then takes the device's lock and
 * checks the device is still attached, see {@link Vpci#read(Domain, int, int, int)}).
 */
public final class VpciDomain {
    private static final VpciDevice[] NONE = new VpciDevice[0];

    /** The domain's slot for this extension: the trap path reaches it with one array load. */
    static final ExtensionSlot<VpciDomain> SLOT = ExtensionSlot.of(VpciDomain.class);

    private final Domain domain;
    private final VirtualTopology topology = new VirtualTopology();
    private volatile VpciDevice[] devices = NONE;
    private final SbdfIndex byMachine = new SbdfIndex();
    private final SbdfIndex byGuest = new SbdfIndex();
    private volatile String crashReason;
    /** Toolstack hint: machine SBDF (packed) to requested virtual slot; see {@link Vpci#requestVirtualSlot}. */
    private final java.util.Map<Integer, Integer> requestedSlots = new java.util.concurrent.ConcurrentHashMap<>();

    VpciDomain(Domain domain) {
        this.domain = domain;
    }

    /** The domain's vPCI state, created on first use. */
    public static VpciDomain of(Domain d) {
        return d.extension(SLOT, VpciDomain::new);
    }

    public Domain domain() {
        return domain;
    }

    public VirtualTopology topology() {
        return topology;
    }

    /** Devices with vPCI owned by the domain, in attach order. */
    public List<VpciDevice> devices() {
        return List.of(devices);
    }

    VpciDevice[] devicesArray() {
        return devices;
    }

    /** The device whose guest SBDF (packed) is {@code guestSbdf}, or null. Lock-free, allocation-free. */
    public VpciDevice findByGuestSbdf(int guestSbdf) {
        if (guestSbdf == VpciDevice.INVALID_SBDF) {
            return null;
        }
        return byGuest.get(guestSbdf);
    }

    /** The device whose machine SBDF (packed) is {@code machineSbdf}, or null. Lock-free, allocation-free. */
    public VpciDevice findByMachineSbdf(int machineSbdf) {
        return byMachine.get(machineSbdf);
    }

    void requestSlot(int machineSbdf, int slot) {
        if (slot < 0) {
            requestedSlots.remove(machineSbdf);
        } else {
            requestedSlots.put(machineSbdf, slot);
        }
    }

    int requestedSlot(int machineSbdf) {
        return requestedSlots.getOrDefault(machineSbdf, -1);
    }

    synchronized void add(VpciDevice dev) {
        VpciDevice[] cur = devices;
        VpciDevice[] next = java.util.Arrays.copyOf(cur, cur.length + 1);
        next[cur.length] = dev;
        byMachine.put(dev.machineSbdf().sbdf(), dev);
        int g = dev.guestSbdf();
        if (g != VpciDevice.INVALID_SBDF) {
            byGuest.put(g, dev);
        }
        devices = next;
    }

    synchronized void remove(VpciDevice dev) {
        VpciDevice[] cur = devices;
        int n = 0;
        VpciDevice[] next = new VpciDevice[cur.length];
        for (VpciDevice d : cur) {
            if (d != dev) {
                next[n++] = d;
            }
        }
        devices = java.util.Arrays.copyOf(next, n);
        byMachine.remove(dev.machineSbdf().sbdf(), dev);
        // The guest SBDF was already released (detach): find the device by identity.
        byGuest.removeDevice(dev);
    }

    /**
     * Crashes the domain ({@code domain_crash}) through core's {@code Domain.crash}, which logs
     * and traces it; the reason is also kept here for vPCI's own reports.
     */
    public void crash(String reason) {
        crashReason = reason;
        domain.crash(reason);
    }

    /** True once vPCI crashed the domain. */
    public boolean crashed() {
        return crashReason != null;
    }

    /** Why vPCI crashed the domain, or null. */
    public String crashReason() {
        return crashReason;
    }
}
