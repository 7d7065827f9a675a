package org.xenpci.core.fdt;

/**
 * Base of every error raised by the flattened device tree package.
 *
 * <p>Unchecked on purpose: a malformed device tree is a programming or input error that callers
 * rarely can recover from locally, and the subclasses carry enough detail to report it.
 */
public class FdtException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what went wrong
     */
    public FdtException(String message) {
        super(message);
    }
}
