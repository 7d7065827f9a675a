package org.xenpci.libxl.guest;

/**
 * Config access to a host bridge with separate root and child windows as Xen's vPCI presents
 * them to a hardware domain that traps config space (xen/arch/arm/vpci.c,
 * {@code vpci_sbdf_from_gpa}): each window decoded as ECAM, the root window from the root bus,
 * the child window from the first child bus. On a DesignWare bridge the root window is DBI (one
 * bus, the root port) and the child window is the {@code config} region.
 */
public final class SplitEcamPort implements ConfigPort {
    private final EcamPort root;
    private final long rootSize;
    private final EcamPort child;

    /** @param rootSize size of the root window: offsets past it are not config space (all-ones, no access) */
    public SplitEcamPort(EcamPort root, long rootSize, EcamPort child) {
        this.root = root;
        this.rootSize = rootSize;
        this.child = child;
    }

    @Override
    public int busStart() {
        return root.busStart();
    }

    @Override
    public int busEnd() {
        return Math.max(root.busStart(), child.busEnd());
    }

    @Override
    public int aborts() {
        return root.aborts() + child.aborts();
    }

    @Override
    public int read(int bus, int devfn, int reg, int width) {
        if (bus == root.busStart()) {
            // On DesignWare the root window is DBI: only devfn 0's page is there.
            if (((long) devfn << 12) + reg >= rootSize) {
                return width == 4 ? -1 : (1 << (8 * width)) - 1;
            }
            return root.read(bus, devfn, reg, width);
        }
        return child.read(bus, devfn, reg, width);
    }

    @Override
    public void write(int bus, int devfn, int reg, int width, int value) {
        if (bus == root.busStart()) {
            if (((long) devfn << 12) + reg < rootSize) {
                root.write(bus, devfn, reg, width, value);
            }
        } else {
            child.write(bus, devfn, reg, width, value);
        }
    }
}
