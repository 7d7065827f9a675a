package org.xenpci.core.pci;

/**
 * Placeholder so that {@code module-info.java}, which exports this package, compiles on the
 * {@code fdt} branch where the package has no classes yet (javac rejects exporting an empty
 * package). Delete once the package has real content.
 */
final class FdtBranchPlaceholder {
    private FdtBranchPlaceholder() {
    }
}
