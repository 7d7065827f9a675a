package org.xenpci.armpci;

import java.util.List;
import java.util.Optional;

/**
 * The registered host bridges in probe (DT) order, and Xen's lookups over them (xen/arch/arm/pci/pci-host-common.c: pci_find_host_bridge).
 * Immutable after boot, so lookups are lock-free; {@link #findHostBridge} is allocation-free
 * because it sits under the config-access path.
 */
public final class HostBridges {
    private final HostBridge[] bridges;

    HostBridges(List<HostBridge> bridges) {
        this.bridges = bridges.toArray(new HostBridge[0]);
    }

    /** All bridges in probe order. */
    public List<HostBridge> all() {
        return List.of(bridges);
    }

    /**
     * {@code pci_find_host_bridge(seg, bus)}: the first bridge in list order of segment
     * {@code segment} whose child or root bus range contains {@code bus}, or null.
     */
    public HostBridge findHostBridge(int segment, int bus) {
        for (int i = 0; i < bridges.length; i++) {
            HostBridge b = bridges[i];
            if (b.segment() == segment && b.coversBus(bus)) {
                return b;
            }
        }
        return null;
    }

    /** The bridge registered for the DT node at {@code path}, if any. */
    public Optional<HostBridge> byPath(String path) {
        for (HostBridge b : bridges) {
            if (b.path().equals(path)) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /**
     * {@code pci_get_host_bridge_segment(node)}: the segment of the bridge registered for the DT
     * node at {@code path}, or -EINVAL (-22) if Xen knows no bridge there.
     */
    public int segmentOf(String path) {
        return byPath(path).map(HostBridge::segment).orElse(org.xenpci.core.Errno.EINVAL.rc());
    }
}
