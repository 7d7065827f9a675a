package org.xenpci.vpci;

/**
 * A register's write callback ({@code vpci_write_t}). It receives the full-width value already
 * merged and masked by the table ({@code vpci_write}) and returns what the write means for the p2m owner
 * (STYLE 6); most handlers return {@link WriteOutcome#NO_EFFECT}.
 */
@FunctionalInterface
public interface WriteHandler {
    /**
     * @param dev the device whose register is written
     * @param reg the register's own offset (bytes into config space)
     * @param value the value for the whole register, masked to its size
     * @return the outcome; never null
     */
    WriteOutcome write(VpciDevice dev, int reg, int value);
}
