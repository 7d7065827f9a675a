package org.xenpci.core.fdt;

/**
 * An in-memory tree would be invalid: a bad node or property name, a duplicate sibling or
 * property, or a path that does not name a node.
 */
public final class FdtTreeException extends FdtException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what is wrong with the tree
     */
    public FdtTreeException(String message) {
        super(message);
    }
}
