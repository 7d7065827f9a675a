package org.xenpci.libxl.scenario;

import org.xenpci.core.Domain;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.toolstack.Libxl;

/** Guests for scenario tests: an xl.cfg with 1 GiB, a vCPU count and {@code pci = [ ... ]}. */
public final class TestGuests {
    private TestGuests() {
    }

    /** {@code name = ...; memory = 1024; vcpus = ...; pci = [ ... ]}. */
    public static XlConfig config(String name, int vcpus, String... pci) {
        StringBuilder b = new StringBuilder("name = \"" + name + "\"\nmemory = 1024\nvcpus = " + vcpus + "\npci = [ ");
        for (int i = 0; i < pci.length; i++) {
            b.append(i == 0 ? "" : ", ").append('"').append(pci[i]).append('"');
        }
        return XlConfig.parse(b.append(" ]\n").toString(), name + ".cfg");
    }

    /** Makes the functions assignable and creates the guest. */
    public static Domain create(Libxl libxl, String name, int vcpus, String... pci) {
        XlConfig c = config(name, vcpus, pci);
        libxl.makeAssignable(c);
        return libxl.createDomain(c).domain();
    }

    /** {@link #create}, then the reference guest probes its bus (BARs placed, MSI-X set up). */
    public static Domain createProbed(Libxl libxl, String name, int vcpus, String... pci) {
        Domain d = create(libxl, name, vcpus, pci);
        new ReferenceGuest(d).probe();
        return d;
    }
}
