package org.xenpci.libxl.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An optional lint for {@code PCI_SPEC_STRING}s: finds the spellings xl accepts only because
 * glibc's {@code sscanf("%x")} / {@code strtoul(..., 16)} are lenient (blanks, signs,
 * {@code 0x} prefixes, numbers that wrap) and text xl silently ignores. xl-pci-configuration(5)
 * documents plain hex digits; these spellings work with glibc's xl and may not elsewhere.
 *
 * <p>The lint reads the spec exactly as {@link PciSpecParser} does (the same code path; a
 * positional BDF that fails and is re-read as key=value pairs contributes nothing) and never
 * changes what it parses to. {@link XlConfig} adds its findings to {@link XlConfig#warnings()}.
 * Stateless and thread-safe.
 */
public final class PciSpecLint {
    private PciSpecLint() {
    }

    /**
     * Lints one spec.
     *
     * @param spec the string, e.g. {@code 01:00.0@0x1f}
     * @return the warnings in string order; empty for a canonical spec, and for a spec
     *         {@link PciSpecParser} rejects (its {@link PciSpecException} is the finding)
     */
    public static List<PciSpecWarning> warnings(String spec) {
        Objects.requireNonNull(spec, "spec");
        List<PciSpecWarning> out = new ArrayList<>();
        try {
            PciSpecParser.parse(spec, PciDefaults.ARM, out);
        } catch (PciSpecException e) {
            return List.of();
        }
        out.sort((a, b) -> Integer.compare(a.offset(), b.offset()));
        return List.copyOf(out);
    }
}
