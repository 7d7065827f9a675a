package org.xenpci.armpci.hw;

import static org.xenpci.core.pci.PciRegs.PCI_D0;
import static org.xenpci.core.pci.PciRegs.PCI_D3HOT;
import static org.xenpci.core.pci.PciRegs.PCI_PM_CAP_D1;
import static org.xenpci.core.pci.PciRegs.PCI_PM_CAP_D2;
import static org.xenpci.core.pci.PciRegs.PCI_PM_CTRL;
import static org.xenpci.core.pci.PciRegs.PCI_PM_CTRL_NO_SOFT_RESET;
import static org.xenpci.core.pci.PciRegs.PCI_PM_CTRL_STATE_MASK;
import static org.xenpci.core.pci.PciRegs.PCI_PM_PMC;

/**
 * The power state of a function with a Power Management capability (PCI Bus Power Management
 * Interface 1.2, chapter 3 and 5), installed by {@link PciFunction#fromConfig}:
 * <ul>
 * <li>PMCSR (pos+4) bits 1:0 PowerState are RW. Writing a state the PMC does not support (D1
 *     or D2 without PMC bit 9 / 10) completes but is discarded (3.2.4).</li>
 * <li>Outside D0 the function neither decodes memory/I/O nor masters the bus
 *     ({@link PciFunction#decodeBar}, {@link PciFunction#signal}).</li>
 * <li>D3hot to D0 with No_Soft_Reset (PMCSR bit 3, HwInit) clear resets the function
 *     ({@link PciFunction#functionLevelReset}): 5.4.1, "the function ... returns to the
 *     D0uninitialized state", which is what Linux's {@code pci_pm_reset} relies on. With
 *     No_Soft_Reset set the function keeps its state.</li>
 * </ul>
 * PME_En, PME_Status, Data_Select and the bridge extensions stay read-only (not modelled). The
 * model has no D3cold.
 *
 * <p>Thread-safety: the listener runs under the function's config-space lock.
 */
final class PowerManagementCapability implements CapabilityBehaviour {
    private PciFunction function;
    private int pos;

    @Override
    public void install(PciFunction fn, Capability cap, ConfigLayout layout) {
        this.function = fn;
        this.pos = cap.offset();
        ConfigSpace cs = fn.config();
        int pmc = cs.read(pos + PCI_PM_PMC, 2);
        boolean d1 = (pmc & PCI_PM_CAP_D1) != 0;
        boolean d2 = (pmc & PCI_PM_CAP_D2) != 0;
        // Powered up in D0 whatever a dump said (the model starts every function running).
        cs.clearBits(pos + PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK);
        layout.word(PCI_PM_CTRL, "PMCSR").field(0, 2, "POWER_STATE", AccessMode.RW).onChange((old, now) -> {
            if ((now == 1 && !d1) || (now == 2 && !d2)) {
                cs.setInternal(pos + PCI_PM_CTRL, 2, cs.read(pos + PCI_PM_CTRL, 2) & ~PCI_PM_CTRL_STATE_MASK | old);
                return;
            }
            fn.powerState(now);
            if (old == PCI_D3HOT && now == PCI_D0 && (cs.read(pos + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET) == 0) {
                fn.functionLevelReset();
            }
        });
    }

    @Override
    public void reset() {
        if (function != null) {
            function.config().clearBits(pos + PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK);
        }
    }
}
