package org.xenpci.libxl.config;

import java.util.Objects;

/**
 * The per-device defaults xl copies into every {@code pci=} entry before parsing its
 * {@code PCI_SPEC_STRING} (tools/xl/xl_parse.c: parse_pci_config; the defaults first, per-device keys override them): the global {@code pci_msitranslate},
 * {@code pci_power_mgmt}, {@code pci_permissive}, {@code pci_seize} keys and the RDM policy.
 *
 * @param msitranslate default {@code msitranslate}
 * @param powerMgmt    default {@code power_mgmt}
 * @param permissive   default {@code permissive}
 * @param seize        default {@code seize}
 * @param rdmPolicy    default {@code rdm_policy}; {@link RdmReservePolicy#STRICT} on Arm, because
 *                     xl copies the zero-filled HVM {@code rdm.policy} of a PVH config (xl_parse.c)
 */
public record PciDefaults(boolean msitranslate, boolean powerMgmt, boolean permissive, boolean seize,
                          RdmReservePolicy rdmPolicy) {

    /** xl's defaults for an Arm guest without any {@code pci_*} key: all false, strict. */
    public static final PciDefaults ARM = new PciDefaults(false, false, false, false, RdmReservePolicy.STRICT);

    /**
     * Validates.
     *
     * @throws NullPointerException if {@code rdmPolicy} is null
     */
    public PciDefaults {
        Objects.requireNonNull(rdmPolicy, "rdmPolicy");
    }
}
