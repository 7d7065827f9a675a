package org.xenpci.vpci;

import java.util.List;
import org.xenpci.core.Domain;

/**
 * Per-domain vPCI state, kept as a {@link Domain} extension (Xen hangs it off {@code struct
 * domain}): the domain's devices with vPCI, its {@link VirtualTopology}, and why vPCI crashed it
 * ({@code domain_crash}, recorded on the core {@code Domain}).
 *
 * <p>Thread-safety: the device list is an immutable array replaced under the domain's
 * {@code pciLock} write lock (attach/detach); lookups are allocation-free scans of the current
 * array and may run under the read lock.
 */
public final class VpciDomain {
    private static final VpciDevice[] NONE = new VpciDevice[0];

    private final Domain domain;
    private final VirtualTopology topology = new VirtualTopology();
    private volatile VpciDevice[] devices = NONE;
    private volatile String crashReason;
    /** The guest frames of this domain's mapped BARs, for modify_bars' overlap step. */
    private final BarIndex mappedBars = new BarIndex();
    /** Toolstack hint: machine SBDF (packed) to requested virtual slot; see {@link Vpci#requestVirtualSlot}. */
    private final java.util.Map<Integer, Integer> requestedSlots = new java.util.concurrent.ConcurrentHashMap<>();

    VpciDomain(Domain domain) {
        this.domain = domain;
    }

    /** The domain's vPCI state, created on first use. */
    public static VpciDomain of(Domain d) {
        return d.extension(VpciDomain.class, VpciDomain::new);
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

    /** The domain's mapped BARs by guest frame (maintained by {@link VpciHeader}). */
    BarIndex mappedBars() {
        return mappedBars;
    }

    /** The device whose guest SBDF (packed) is {@code guestSbdf}, or null. Allocation-free. */
    public VpciDevice findByGuestSbdf(int guestSbdf) {
        for (VpciDevice d : devices) {
            if (d.guestSbdf() == guestSbdf) {
                return d;
            }
        }
        return null;
    }

    /** The device whose machine SBDF (packed) is {@code machineSbdf}, or null. Allocation-free. */
    public VpciDevice findByMachineSbdf(int machineSbdf) {
        for (VpciDevice d : devices) {
            if (d.machineSbdf().sbdf() == machineSbdf) {
                return d;
            }
        }
        return null;
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
        mappedBars.removeDevice(dev);
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
