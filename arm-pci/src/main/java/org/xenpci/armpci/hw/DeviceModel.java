package org.xenpci.armpci.hw;

/**
 * The model of what sits behind a function's BARs (a storage controller's registers, queues and
 * DMA engine), installed with {@link PciFunction#installDeviceModel}. The function keeps it so
 * users can reach it ({@link PciFunction#deviceModel(Class)}) and resets it with itself.
 */
public interface DeviceModel {
    /**
     * The function is being reset (FLR, or a PM D3hot to D0 soft reset): the device returns to
     * its power-on state. Runs with the function's config-space lock held, so it must not block
     * on a lock the model holds while it issues DMA or signals (both take that config lock):
     * record the reset and apply it at the model's next access.
     */
    void functionReset();
}
