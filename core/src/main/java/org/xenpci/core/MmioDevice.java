package org.xenpci.core;

/**
 * A piece of hardware that answers loads and stores on the physical bus. Offsets are bytes
 * from the start of the region the device was registered with; sizes are 1, 2, 4 or 8 bytes;
 * values are little-endian, zero-extended to {@code long}.
 *
 * <p>Hardware never throws at a bus access: an offset it does not decode reads as all-ones
 * and drops writes, as a real bus target would.
 */
public interface MmioDevice {
    long read(long offset, int size);

    void write(long offset, int size, long value);

    /**
     * A binding for {@code [offset, offset + size)} of this device's region, for a caller that
     * will access that range repeatedly ({@link PhysicalAddressSpace#bind}), or null: the device
     * offers none and every access goes through {@link #read}/{@link #write}. The default offers
     * none, so a device (or a decorator around one) that does not know about bindings is always
     * reached through its own decode.
     */
    default MmioBinding bind(long offset, long size) {
        return null;
    }
}
