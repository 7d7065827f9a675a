package org.xenpci.libxl.config;

import java.util.Locale;
import java.util.Optional;

/**
 * libxl's {@code libxl_gic_version} (libxl_types.idl), xl key {@code gic_version}.
 */
public enum GicVersion {
    /** 0: use the host's GIC version ("native"). */
    DEFAULT(0),
    /** 0x20: GICv2. */
    V2(0x20),
    /** 0x30: GICv3. */
    V3(0x30);

    private final int value;

    GicVersion(int value) {
        this.value = value;
    }

    /**
     * Returns the C enum value.
     *
     * @return 0, 0x20 or 0x30
     */
    public int value() {
        return value;
    }

    /**
     * Returns libxl's string form ({@code "v3"}), as printed in JSON.
     *
     * @return the lower-case name
     */
    public String libxlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Looks up a name like {@code libxl_gic_version_from_string} (ASCII case-insensitive).
     *
     * @param s the text
     * @return the version, or empty if unknown
     */
    public static Optional<GicVersion> fromLibxlName(String s) {
        for (GicVersion v : values()) {
            if (Ascii.equalsIgnoreCase(v.libxlName(), s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
