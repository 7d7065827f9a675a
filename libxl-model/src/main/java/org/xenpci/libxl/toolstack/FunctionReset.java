package org.xenpci.libxl.toolstack;

import java.util.Objects;
import org.xenpci.core.pci.Sbdf;

/**
 * One {@code libxl__device_pci_reset} the toolstack made (tools/libs/light/libxl_pci.c, add and remove flows), and
 * how dom0 carried it out ({@link Pciback#reset}).
 *
 * @param sbdf the function reset
 * @param method the reset dom0 used, {@link ResetMethod#NONE} when it had none
 */
public record FunctionReset(Sbdf sbdf, ResetMethod method) {
    public FunctionReset {
        Objects.requireNonNull(sbdf, "sbdf");
        Objects.requireNonNull(method, "method");
    }
}
