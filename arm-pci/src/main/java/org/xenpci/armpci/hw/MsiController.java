package org.xenpci.armpci.hw;

/**
 * An MSI controller as seen from a host bridge's inbound side (a GICv3 ITS): a memory write
 * that hits its doorbell arrives with the DeviceID the bridge derived from the requester ID
 * (the ITS "sideband" DeviceID, GICv3 architecture IHI 0069, 5.1). Registered on a
 * {@link HostBridgeHardware} by DT phandle.
 *
 * <p>Implementations are called concurrently from any function's signalling thread.
 */
public interface MsiController {
    /** True if {@code [maddr, maddr + size)} is this controller's doorbell (machine address, bytes). */
    boolean isDoorbell(long maddr, int size);

    /**
     * A message write of {@code size} bytes of {@code value} to doorbell address {@code maddr},
     * tagged with {@code deviceId}.
     */
    void message(int deviceId, long maddr, int size, long value);
}
