package org.xenpci.armpci.hw;

import java.util.Optional;
import org.xenpci.core.pci.PciRegs;

/**
 * One device slot on a bus: up to 8 functions, function 0 always present. With more than one
 * function, function 0's header type has bit 7 (multi-function) set, so software scans the
 * others (PCI Local Bus 3.0 6.2.1); a config read of an absent function reads all-ones.
 *
 * <p>Immutable once built.
 */
public final class PciDevice {
    private final PciFunction[] functions;

    PciDevice(PciFunction[] functions) {
        if (functions[0] == null) {
            throw new HardwareConfigException("a device needs function 0 before functions 1..7");
        }
        this.functions = functions.clone();
        int count = 0;
        for (PciFunction f : functions) {
            count += f == null ? 0 : 1;
        }
        if (count > 1) {
            // The multi-function bit is what tells enumeration to look past function 0.
            functions[0].config().setBits(PciRegs.PCI_HEADER_TYPE, 1, PciRegs.PCI_HEADER_TYPE_MFD);
        }
    }

    /** The function {@code fn} (0..7), if present. */
    public Optional<PciFunction> function(int fn) {
        return Optional.ofNullable(fn >= 0 && fn < 8 ? functions[fn] : null);
    }

    /** Allocation-free lookup for the bus path: null when absent. */
    PciFunction functionOrNull(int fn) {
        return functions[fn];
    }

    /** True when function 0 advertises more functions (header type bit 7). */
    public boolean isMultiFunction() {
        return (functions[0].config().read(PciRegs.PCI_HEADER_TYPE, 1) & PciRegs.PCI_HEADER_TYPE_MFD) != 0;
    }
}
