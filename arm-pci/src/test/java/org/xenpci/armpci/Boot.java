package org.xenpci.armpci;

import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.fdt.Fdt;

/** Boots a Xen with the ArmPci extension on a tree and address space. */
final class Boot {
    private Boot() {
    }

    static Xen xen(Fdt fdt, PhysicalAddressSpace space, String cmdline, Profile profile, XenExtension... before) {
        Xen.Builder b = Xen.builder().hardware(new Hardware(fdt, space)).cmdline(cmdline).profile(profile);
        for (XenExtension e : before) {
            b.extension(e);
        }
        return b.extension(new ArmPci()).build();
    }

    static Xen xen(Fdt fdt, String cmdline) {
        return xen(fdt, new PhysicalAddressSpace(), cmdline, Profile.UPSTREAM);
    }

    static ArmPciLayer layer(Xen xen) {
        return xen.service(ArmPciLayer.class).orElseThrow();
    }

    /** An extension that turns the IOMMU on at init (must be added before ArmPci). */
    static XenExtension iommuOn() {
        return new XenExtension() {
            @Override
            public void init(Xen xen) {
                xen.iommuEnabled(true);
            }
        };
    }
}
