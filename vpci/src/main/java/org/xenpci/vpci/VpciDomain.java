package org.xenpci.vpci;

import java.util.List;
import org.xenpci.core.Domain;
import org.xenpci.core.ExtensionSlot;

/**
 * Per-domain vPCI state, kept as a {@link Domain} extension (Xen hangs it off {@code struct
 * domain}): the domain's devices with vPCI, its {@link VirtualTopology}, and why vPCI crashed it
 * ({@code domain_crash}, recorded on the core {@code Domain}).
 *
 * <p>Thread-safety: the device list changes under the domain's {@code pciLock} write lock
 * (attach/detach; readers get an immutable exact-length snapshot); lookups by SBDF go through two {@link SbdfIndex}es
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
    /** Attached devices in attach order: {@code all[0..count)}, guarded by this object's monitor. */
    private VpciDevice[] all = NONE;
    private int count;
    /** Exact-length snapshot of {@code all[0..count)} for lock-free readers; null after a change. */
    private volatile VpciDevice[] devices = NONE;
    /** The guest frames of this domain's mapped BARs, for modify_bars' overlap step. */
    private final BarIndex mappedBars = new BarIndex();
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
        return List.of(snapshot());
    }

    VpciDevice[] devicesArray() {
        return snapshot();
    }

    /** The domain's mapped BARs by guest frame (maintained by {@link VpciHeader}). */
    BarIndex mappedBars() {
        return mappedBars;
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
        // Amortised growth: attaching n devices copies O(n) references in all (doubling), not
        // O(n^2); the exact-length snapshot readers use is rebuilt on their next read.
        if (all.length == count) {
            all = java.util.Arrays.copyOf(all, Math.max(4, count * 2));
        }
        all[count++] = dev;
        byMachine.put(dev.machineSbdf().sbdf(), dev);
        int g = dev.guestSbdf();
        if (g != VpciDevice.INVALID_SBDF) {
            byGuest.put(g, dev);
        }
        devices = null;
    }

    /** The current exact-length snapshot, rebuilt after a change (steady state: one volatile read). */
    private VpciDevice[] snapshot() {
        VpciDevice[] d = devices;
        if (d != null) {
            return d;
        }
        synchronized (this) {
            if (devices == null) {
                devices = java.util.Arrays.copyOf(all, count);
            }
            return devices;
        }
    }

    synchronized void remove(VpciDevice dev) {
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (all[i] != dev) {
                all[n++] = all[i];
            }
        }
        java.util.Arrays.fill(all, n, count, null);
        count = n;
        devices = null;
        byMachine.remove(dev.machineSbdf().sbdf(), dev);
        // The guest SBDF was already released (detach): find the device by identity.
        byGuest.removeDevice(dev);
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
