package org.xenpci.core;

import java.util.function.Supplier;
import org.xenpci.core.fdt.FdtValueException;

/**
 * Xen cannot boot on this host because of its device tree: a node Xen (or the board model built
 * from the same tree) needs is missing, or a property has a value Xen would reject, where real
 * Xen panics or fails to build dom0. The message names the node's absolute path and, when a
 * property is at fault, the property; {@link #getCause()} keeps the lower-level error (an
 * {@link org.xenpci.core.fdt.FdtValueException}, an overlap on the bus, ...).
 *
 * <p>Thrown by {@code Platform.Builder.build()} (arm-pci) and {@link Xen.Builder#build()};
 * nothing is left booted or registered when it is thrown to the caller. The Arm PCI layer's
 * {@code PciBootException} is the kind for the places its spec names.
 */
public class BootException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String nodePath;
    private final String property;

    /**
     * @param nodePath absolute path of the node at fault ("/" for the root)
     * @param property the property at fault, or null when the node as a whole is
     * @param message the whole message, naming the node (and property)
     */
    protected BootException(String nodePath, String property, String message, Throwable cause) {
        super(message, cause);
        this.nodePath = nodePath;
        this.property = property;
    }

    /** A property of {@code nodePath} has a value that cannot be used: {@code "PATH: property 'P': PROBLEM"}. */
    public static BootException badProperty(String nodePath, String property, String problem, Throwable cause) {
        return new BootException(nodePath, property, nodePath + ": property '" + property + "': " + problem, cause);
    }

    /** A property of {@code nodePath} has a value that cannot be used. */
    public static BootException badProperty(String nodePath, String property, String problem) {
        return badProperty(nodePath, property, problem, null);
    }

    /** A node that must exist or must be usable is not: {@code "PATH: PROBLEM"}. */
    public static BootException badNode(String nodePath, String problem) {
        return new BootException(nodePath, null, nodePath + ": " + problem, null);
    }

    /**
     * Runs {@code read} over the node at {@code nodePath}, turning a property of the wrong shape
     * ({@link FdtValueException}) into {@link #badProperty}: how DT parsers name the node the
     * generic property accessors cannot know.
     */
    public static <T> T readingNode(String nodePath, Supplier<T> read) {
        try {
            return read.get();
        } catch (FdtValueException e) {
            throw badProperty(nodePath, e.propertyName(), e.problem(), e);
        }
    }

    /** Absolute path of the DT node at fault. */
    public String nodePath() {
        return nodePath;
    }

    /** The property at fault, or null when the node as a whole is. */
    public String property() {
        return property;
    }
}
