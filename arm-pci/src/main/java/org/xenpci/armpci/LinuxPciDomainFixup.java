package org.xenpci.armpci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * Xen's dom0 DT fix-up {@code handle_linux_pci_domain} (xen/arch/arm/domain_build.c):
 * every top-level PCI host bridge node ({@code device_type = "pci"}, parent not a PCI node)
 * lacking {@code linux,pci-domain} gets one, so dom0 Linux numbers segments as Xen does.
 * Applies to disabled and passthrough-marked nodes too, in DT pre-order; the property is
 * appended after the node's existing properties, as {@code write_properties} emits it last.
 */
final class LinuxPciDomainFixup {
    private static final Logger LOG = LoggerFactory.getLogger(LinuxPciDomainFixup.class);

    private LinuxPciDomainFixup() {
    }

    /**
     * @throws PciBootException.PciDomainUnavailable when a node needs a number and Xen has none
     *         ({@code pci_get_new_domain_nr()} returns -1: DT numbering in use, or no bridge probed)
     */
    static Fdt apply(Fdt dt, ArmPciLayer layer) {
        Fdt out = dt;
        for (DtContext node : DtContext.preOrder(dt)) {
            if (!node.deviceTypeIs("pci")) {
                continue;
            }
            if (node.parent != null && node.parent.deviceTypeIs("pci")) {
                continue;
            }
            if (node.node.hasProperty("linux,pci-domain")) {
                continue;
            }
            int segment = layer.segmentOf(node.path);
            if (segment < 0) {
                segment = layer.numbering().newDomainNr();
                if (segment < 0) {
                    throw new PciBootException.PciDomainUnavailable(node.path);
                }
                LOG.debug("Assigned segment {} to {}", segment, node.path);
            }
            FdtNode current = out.node(node.path).orElseThrow();
            out = out.with(node.path, current.toBuilder().property(FdtProperty.u32("linux,pci-domain", segment)).build());
        }
        return out;
    }
}
