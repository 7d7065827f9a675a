package org.xenpci.libxl.config;

import java.util.Locale;
import java.util.Optional;

/**
 * libxl's {@code libxl_vuart_type} (libxl_types.idl), xl key {@code vuart}.
 */
public enum VuartType {
    /** 0: no emulated UART (the IDL default). */
    UNKNOWN,
    /** 1: the SBSA UART (vpl011) at {@code GUEST_PL011_BASE}. */
    SBSA_UART;

    /**
     * Returns the C enum value.
     *
     * @return 0 or 1
     */
    public int value() {
        return ordinal();
    }

    /**
     * Returns libxl's string form ({@code "sbsa_uart"}).
     *
     * @return the lower-case name
     */
    public String libxlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Looks up a name like {@code libxl_vuart_type_from_string} (ASCII case-insensitive).
     *
     * @param s the text
     * @return the type, or empty if unknown
     */
    public static Optional<VuartType> fromLibxlName(String s) {
        for (VuartType v : values()) {
            if (Ascii.equalsIgnoreCase(v.libxlName(), s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
