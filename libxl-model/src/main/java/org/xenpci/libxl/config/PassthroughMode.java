package org.xenpci.libxl.config;

import java.util.Locale;
import java.util.Optional;

/**
 * libxl's {@code libxl_passthrough} (libxl_types.idl), xl key {@code passthrough} (xl.cfg(5)).
 */
public enum PassthroughMode {
    /** 0: libxl picks enabled if any pci/dtdev is configured, else disabled. */
    DEFAULT,
    /** 1: no passthrough; a config with pci= entries then fails with ERROR_INVAL. */
    DISABLED,
    /** 2: passthrough on (share_pt on Arm). */
    ENABLED,
    /** 3: separate IOMMU page tables; rejected on Arm. */
    SYNC_PT,
    /** 4: IOMMU shares the p2m. */
    SHARE_PT;

    /**
     * Returns the C enum value.
     *
     * @return 0..4
     */
    public int value() {
        return ordinal();
    }

    /**
     * Returns libxl's string form ({@code "share_pt"}).
     *
     * @return the lower-case name
     */
    public String libxlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Looks up a name like {@code libxl_passthrough_from_string} (ASCII case-insensitive).
     *
     * @param s the text
     * @return the mode, or empty if unknown
     */
    public static Optional<PassthroughMode> fromLibxlName(String s) {
        for (PassthroughMode v : values()) {
            if (Ascii.equalsIgnoreCase(v.libxlName(), s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
