package org.xenpci.armpci;

import java.util.Objects;
import org.xenpci.core.Domain;

/**
 * What an IOMMU does, right now, with the DMA of a PCI function's stream(s): translate it with
 * one domain's stage 2, abort it, or let it through untranslated. Read from the IOMMU's own
 * configuration (an SMMUv3 stream table entry, an SMMUv1/v2 stream match + S2CR + context
 * bank), not from the driver's bookkeeping, so that an auditor comparing it with pdev
 * ownership checks what the hardware would do. Consume with {@code instanceof} (Java 17).
 */
public sealed interface IommuContext permits IommuContext.Translate, IommuContext.Abort, IommuContext.Bypass {

    /**
     * Every stream of the function translates with {@code domain}'s p2m (Xen shares the p2m
     * with the SMMU).
     *
     * @param domain the domain whose stage 2 the streams use
     */
    record Translate(Domain domain) implements IommuContext {
        public Translate {
            Objects.requireNonNull(domain, "domain");
        }
    }

    /** Every stream of the function faults (detached, e.g. quarantined in dom_io, or never attached). */
    record Abort() implements IommuContext {
    }

    /**
     * At least one stream reaches memory untranslated (SMMU disabled, S2CR bypass, or streams of
     * one function that disagree): the function's DMA is not confined to any domain.
     *
     * @param why what makes it bypass, for reports
     */
    record Bypass(String why) implements IommuContext {
        public Bypass {
            Objects.requireNonNull(why, "why");
        }
    }

    /** The shared {@link Abort} value. */
    IommuContext ABORT = new Abort();
}
