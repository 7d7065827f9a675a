package org.xenpci.armpci.hw;

/**
 * A hardware model was described wrongly: a BAR size that is not a power of two or below the
 * minimum for its kind, a BAR index the header cannot hold, a config image of the wrong length,
 * a topology with a duplicate slot. Thrown while the model is built, never at a bus access
 * (bus accesses never throw: see {@link org.xenpci.core.MmioDevice}). The message names the
 * offending input.
 */
public class HardwareConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** @param message names the bad input and its value (hex) */
    public HardwareConfigException(String message) {
        super(message);
    }
}
