package org.xenpci.libxl.config;

import java.util.Optional;

/**
 * libxl's {@code libxl_rdm_reserve_policy} enum (libxl_types.idl): the per-device reserved
 * device memory policy carried in {@code libxl_device_pci.rdm_policy}.
 */
public enum RdmReservePolicy {
    /** -1: the IDL init value; libxl's setdefault turns it into {@link #STRICT}. */
    INVALID(-1),
    /** 0: assign with flag 0. */
    STRICT(0),
    /** 1: assign with {@code XEN_DOMCTL_DEV_RDM_RELAXED}. */
    RELAXED(1);

    private final int value;

    RdmReservePolicy(int value) {
        this.value = value;
    }

    /**
     * Returns the C enum value.
     *
     * @return -1, 0 or 1
     */
    public int value() {
        return value;
    }

    /**
     * Returns libxl's string form, the lower-case enum name used in JSON and xenstore
     * ({@code "strict"}).
     *
     * @return the name
     */
    public String libxlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Looks a name up the way {@code libxl_rdm_reserve_policy_from_string} does: ASCII
     * case-insensitive ({@code strcasecmp} in the C locale), no trimming.
     *
     * @param s the text
     * @return the policy, or empty if no name matches (libxl returns ERROR_FAIL then)
     */
    public static Optional<RdmReservePolicy> fromLibxlName(String s) {
        for (RdmReservePolicy p : values()) {
            if (Ascii.equalsIgnoreCase(p.libxlName(), s)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
