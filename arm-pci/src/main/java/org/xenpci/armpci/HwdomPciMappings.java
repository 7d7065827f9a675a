package org.xenpci.armpci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Hex;
import org.xenpci.core.P2m;

/**
 * What the hardware domain's p2m gets for each registered host bridge at boot (xen/arch/arm/pci/pci-host-common.c: pci_host_bridge_mappings):
 * <ul>
 *   <li>{@code pci_host_bridge_mappings}: every DT {@code reg} entry except the ECAM windows,
 *       1:1 as device memory;</li>
 *   <li>{@code handle_device} with {@code has_vpci(hwdom) == false} (upstream): the ECAM windows
 *       and the {@code ranges} apertures (CPU addresses) 1:1 too. With the profile switch
 *       {@code vpciHardwareDomain} they stay unmapped: vPCI traps ECAM and maps BARs.</li>
 * </ul>
 * The p2m is page-granular: a region that does not start or end on a 4 KiB boundary is rounded
 * OUT to whole pages (the first page holding its first byte to the page holding its last), as
 * Xen's {@code map_range_to_domain} does with {@code paddr_to_pfn}/{@code PFN_UP}.
 */
final class HwdomPciMappings {
    private static final Logger LOG = LoggerFactory.getLogger(HwdomPciMappings.class);

    private HwdomPciMappings() {
    }

    /**
     * @throws PciBootException.HwdomMappingFailed if a mapping clashes with the p2m (Xen panics
     *         building dom0)
     */
    static void map(Domain hwdom, ArmPciLayer layer, boolean vpciHardwareDomain) {
        for (HostBridge b : layer.hostBridges().all()) {
            for (RegEntry r : b.regs()) {
                boolean ecam = r.address() == b.cfg().physBase()
                        || (b.childCfg().isPresent() && r.address() == b.childCfg().get().physBase());
                if (!ecam || !vpciHardwareDomain) {
                    map(hwdom, b, r.address(), r.size(), r.toString());
                }
            }
            if (!vpciHardwareDomain) {
                for (PciRange range : b.ranges()) {
                    map(hwdom, b, range.cpuAddress(), range.size(), range.toString());
                }
            }
        }
    }

    private static void map(Domain d, HostBridge b, long addr, long size, String what) {
        if (size == 0) {
            return;
        }
        long first = addr >>> P2m.PAGE_SHIFT;
        long last = (addr + size - 1) >>> P2m.PAGE_SHIFT;
        int rc = d.p2m().mapMmio(first, last - first + 1, first);
        if (rc != 0) {
            throw new PciBootException.HwdomMappingFailed(b.path(), "Unable to map " + what + " of " + b.path()
                    + " 1:1 into " + d + ": rc " + rc);
        }
        LOG.debug("{}: mapped {} 1:1 into {} ({} pages at {})", b.path(), what, d, last - first + 1,
                Hex.of(first << P2m.PAGE_SHIFT));
    }
}
