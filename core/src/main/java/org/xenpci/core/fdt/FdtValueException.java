package org.xenpci.core.fdt;

/**
 * A property value does not have the shape an accessor expects, for example
 * {@link FdtProperty#asU32()} on a value that is not exactly one cell (4 bytes).
 */
public final class FdtValueException extends FdtException {
    private static final long serialVersionUID = 1L;

    /** Name of the property whose value had the wrong shape. */
    private final String propertyName;
    private final String problem;

    /**
     * Creates an exception about one property.
     *
     * @param propertyName name of the offending property
     * @param problem      what is wrong with its value
     */
    public FdtValueException(String propertyName, String problem) {
        super("property '" + propertyName + "': " + problem);
        this.propertyName = propertyName;
        this.problem = problem;
    }

    /**
     * Returns what is wrong with the value, without the property name.
     *
     * @return the problem
     */
    public String problem() {
        return problem;
    }

    /**
     * Returns the name of the property whose value had the wrong shape.
     *
     * @return the property name
     */
    public String propertyName() {
        return propertyName;
    }
}
