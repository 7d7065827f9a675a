package org.xenpci.armpci;

import java.util.OptionalLong;

/**
 * Xen's segment numbering state (xen/arch/arm/pci/pci-host-common.c: {@code use_dt_domains},
 * {@code domain_nr}, xen/arch/arm/pci/pci-host-common.c: pci_bus_find_domain_nr). Either every host bridge carries {@code linux,pci-domain} or
 * none does and they are numbered 0, 1, 2... in probe order.
 *
 * <p>Not thread-safe: used only during single-threaded boot (the probe walk, then the dom0 DT
 * fix-up), as in Xen's {@code __init} code.
 */
final class PciDomainNumbering {
    /** -1 undecided, 0 auto numbering, 1 DT numbering. */
    private int useDtDomains = -1;
    /** Last auto number handed out. */
    private int domainNr = -1;

    /** {@code dt_get_pci_domain_nr}: the property's first cell truncated to u16, or -1 (-EINVAL) if absent/short. */
    static int dtPciDomainNr(DtContext node) {
        OptionalLong v = node.firstCell("linux,pci-domain");
        return v.isPresent() ? (int) (v.getAsLong() & 0xffff) : -1;
    }

    /**
     * {@code pci_bus_find_domain_nr}: the segment for a bridge being probed, or -1 when it mixes
     * styles with earlier bridges (Xen then BUG()s).
     */
    int findDomainNr(DtContext node) {
        int domain = dtPciDomainNr(node);
        if (domain >= 0 && useDtDomains != 0) {
            useDtDomains = 1;
            return domain;
        }
        if (domain < 0 && useDtDomains != 1) {
            useDtDomains = 0;
            return newDomainNr();
        }
        return -1;
    }

    /**
     * {@code pci_get_new_domain_nr}: the next auto number, or -1 unless auto numbering is in use
     * (including the initial undecided state, so with no bridge probed the answer is -1).
     */
    int newDomainNr() {
        if (useDtDomains != 0) {
            return -1;
        }
        return ++domainNr;
    }
}
