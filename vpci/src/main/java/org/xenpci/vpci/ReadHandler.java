package org.xenpci.vpci;

/**
 * A register's read callback ({@code vpci_read_t}). State a handler needs (a BAR slot, a
 * cached value) is captured when the handler is created at init time, never per access.
 */
@FunctionalInterface
public interface ReadHandler {
    /**
     * @param dev the device whose register is read
     * @param reg the register's own offset (bytes into config space), whatever the access was
     * @return the full register value (its {@code size} low bytes are used)
     */
    int read(VpciDevice dev, int reg);
}
