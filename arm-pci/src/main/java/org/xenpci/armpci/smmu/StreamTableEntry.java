package org.xenpci.armpci.smmu;

import java.util.Objects;
import org.xenpci.armpci.Pdev;
import org.xenpci.core.Domain;

/**
 * One valid STE of the model's stream table: the master (pdev) behind the SID and the domain
 * whose p2m stage 2 uses, or null when the STE aborts (device detached, e.g. in dom_io).
 *
 * @param pdev the PCI device the stream belongs to
 * @param context the domain whose stage-2 tables the STE points at (Xen shares the p2m with the
 *        SMMU), or null for an aborting STE
 */
public record StreamTableEntry(Pdev pdev, Domain context) {
    public StreamTableEntry {
        Objects.requireNonNull(pdev, "pdev");
    }
}
