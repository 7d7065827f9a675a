package org.xenpci.libxl.config;

import java.util.Locale;
import java.util.Optional;

/**
 * libxl's {@code libxl_domain_type} (libxl_types.idl), xl key {@code type}.
 */
public enum DomainType {
    /** -1: not set. */
    INVALID(-1),
    /** 1: HVM (not supported for Arm guests). */
    HVM(1),
    /** 2: PV (libxl turns it into PVH on Arm, with a warning). */
    PV(2),
    /** 3: PVH, the only Arm guest type. */
    PVH(3);

    private final int value;

    DomainType(int value) {
        this.value = value;
    }

    /**
     * Returns the C enum value.
     *
     * @return -1, 1, 2 or 3
     */
    public int value() {
        return value;
    }

    /**
     * Returns libxl's string form ({@code "pvh"}).
     *
     * @return the lower-case name
     */
    public String libxlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Looks up a name like {@code libxl_domain_type_from_string} (ASCII case-insensitive).
     *
     * @param s the text
     * @return the type, or empty if unknown
     */
    public static Optional<DomainType> fromLibxlName(String s) {
        for (DomainType v : values()) {
            if (Ascii.equalsIgnoreCase(v.libxlName(), s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
