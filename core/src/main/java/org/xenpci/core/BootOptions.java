package org.xenpci.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Xen command line, parsed the way Xen's {@code parse_params} does for the options the
 * model knows. Unknown options are kept in {@link #warnings()} and otherwise ignored, as Xen
 * prints "Unknown command line option" and boots on.
 *
 * <p>Boolean spellings follow Xen's {@code parse_bool}: {@code 1 yes on true enable} and
 * {@code 0 no off false disable}; a bare {@code name} means true and {@code no-name} false.
 * An invalid value leaves the default and warns ("parameter ... has invalid value").
 *
 * @param pciPassthrough {@code pci-passthrough=} (Arm only, default false)
 * @param iommu {@code iommu=} when given as a boolean (empty if not given)
 * @param warnings every message Xen would have printed while parsing, in order
 */
public record BootOptions(String cmdline, boolean pciPassthrough, Optional<Boolean> iommu, List<String> warnings) {
    private static final Logger LOG = LoggerFactory.getLogger(BootOptions.class);

    public BootOptions {
        warnings = List.copyOf(warnings);
    }

    /** Parses a command line; never throws for guest-style bad input, only for null. */
    public static BootOptions parse(String cmdline) {
        java.util.Objects.requireNonNull(cmdline, "cmdline");
        boolean pciPassthrough = false;
        Optional<Boolean> iommu = Optional.empty();
        List<String> warnings = new ArrayList<>();
        for (String token : cmdline.trim().split("\\s+")) {
            if (token.isEmpty()) {
                continue;
            }
            int eq = token.indexOf('=');
            String key = eq < 0 ? token : token.substring(0, eq);
            String value = eq < 0 ? null : token.substring(eq + 1);
            boolean negated = false;
            if (key.startsWith("no-") && eq < 0) {
                negated = true;
                key = key.substring(3);
            }
            switch (key) {
                case "pci-passthrough": {
                    Optional<Boolean> b = value == null ? Optional.of(!negated) : parseBool(value);
                    if (b.isPresent()) {
                        pciPassthrough = b.get();
                    } else {
                        warnings.add("parameter \"pci-passthrough\" has invalid value \"" + value + "\", rc=-22!");
                    }
                    break;
                }
                case "iommu": {
                    Optional<Boolean> b = value == null ? Optional.of(!negated) : parseBool(value);
                    if (b.isPresent()) {
                        iommu = b;
                    } else {
                        warnings.add("parameter \"iommu\" value \"" + value + "\" is not modelled; ignored");
                    }
                    break;
                }
                default:
                    warnings.add("parameter \"" + token + "\" unknown!");
            }
        }
        for (String w : warnings) {
            LOG.warn("(XEN) {}", w);
        }
        return new BootOptions(cmdline, pciPassthrough, iommu, Collections.unmodifiableList(warnings));
    }

    /** Xen's {@code parse_bool}: empty if the spelling is not a boolean. */
    public static Optional<Boolean> parseBool(String s) {
        switch (s) {
            case "1": case "yes": case "on": case "true": case "enable":
                return Optional.of(Boolean.TRUE);
            case "0": case "no": case "off": case "false": case "disable":
                return Optional.of(Boolean.FALSE);
            default:
                return Optional.empty();
        }
    }
}
