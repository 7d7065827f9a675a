package org.xenpci.armpci.hw;

import static org.xenpci.core.pci.PciRegs.PCI_EXP_DEVCAP;
import static org.xenpci.core.pci.PciRegs.PCI_EXP_DEVCAP_FLR;
import static org.xenpci.core.pci.PciRegs.PCI_EXP_DEVCTL;
import static org.xenpci.core.pci.PciRegs.PCI_EXP_DEVCTL_BCR_FLR;

/**
 * The one modelled behaviour of the PCI Express capability (PCIe Base 7.5.3), installed by
 * {@link PciFunction#fromConfig} on every function that has the capability: Device Control
 * bit 15, Initiate Function Level Reset (7.5.3.4). When Device Capabilities bit 28 (Function
 * Level Reset Capability, 7.5.3.3) is set, writing 1 resets the function at once
 * ({@link PciFunction#functionLevelReset}, 6.6.2) and the bit reads 0 afterwards, as the spec
 * requires. Without the capability bit the bit stays read-only 0, so the write does nothing.
 *
 * <p>Every other register of the capability stays read-only: Device Control's error reporting,
 * payload and ordering enables are not modelled, so software writing them changes nothing.
 *
 * <p>Thread-safety: the listener runs under the function's config-space lock, which is the lock
 * the reset takes.
 */
final class PcieCapability implements CapabilityBehaviour {
    private PciFunction function;
    private int pos;

    @Override
    public void install(PciFunction fn, Capability cap, ConfigLayout layout) {
        this.function = fn;
        this.pos = cap.offset();
        ConfigSpace cs = fn.config();
        if ((cs.read(pos + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) == 0) {
            return;
        }
        cs.clearBits(pos + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
        layout.word(PCI_EXP_DEVCTL, "DEVCTL").field(15, "BCR_FLR", AccessMode.RW).onChange((o, n) -> {
            if (n != 0) {
                fn.functionLevelReset();
            }
        });
    }

    @Override
    public void reset() {
        // The image may come from a dump taken mid-FLR; the bit always reads 0.
        if (function != null) {
            function.config().clearBits(pos + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
        }
    }
}
