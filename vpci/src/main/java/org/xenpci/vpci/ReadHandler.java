package org.xenpci.vpci;

/**
 * A register's read callback ({@code vpci_read_t}). State a handler needs (a BAR slot, a
 * cached value) is captured when the handler is created at init time, never per access.
 *
 * <p>A handler only loads state and changes nothing (as Xen's {@code vpci_read_t}s): config
 * reads run it without the device lock, optimistically, and discard its value if a write
 * section of the device overlapped ({@link VpciDevice}); it may then run a second time.
 *
 * <p>The register table recognises {@link VpciHandlers}' stock handlers (hardware reads, 0,
 * all-ones, {@link VpciHandlers.CachedValue}) and does what they do inline instead of calling
 * them; every other handler is called.
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
