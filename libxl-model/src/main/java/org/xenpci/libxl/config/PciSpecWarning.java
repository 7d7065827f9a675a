package org.xenpci.libxl.config;

import java.util.Objects;

/**
 * A spelling in a {@code PCI_SPEC_STRING} that xl accepts only through glibc's {@code sscanf} /
 * {@code strtoul} leniency, or text xl silently ignores: reported by {@link PciSpecLint}, never
 * a reason to reject the spec.
 *
 * @param spec    the whole spec string
 * @param offset  0-based index into {@code spec} where the spelling starts
 * @param kind    what was found
 * @param message a one-line explanation naming the field and what xl makes of it
 */
public record PciSpecWarning(String spec, int offset, Kind kind, String message) {

    /** The lenient spellings. */
    public enum Kind {
        /** White space before a number ({@code 01:00. 3}, {@code 01:00.0@ 1}): {@code %x} skips it. */
        BLANK,
        /** A {@code +} or {@code -} before a number ({@code 01:+1.0}); {@code -} negates modulo 2^64. */
        SIGN,
        /** A {@code 0x}/{@code 0X} prefix on a number ({@code 03:0x1f.0}, {@code vslot=0x1f}). */
        HEX_PREFIX,
        /** {@code 0x} with no hex digit after it ({@code 01:00.0x}): read as 0, the {@code x} consumed. */
        BARE_HEX_PREFIX,
        /**
         * A number xl does not store as written: above 32 bits ({@code 1:100000001.0} is device 1)
         * or a negative one that wraps back into range ({@code 1:-ffffffffffffffff.0}).
         */
        WRAPPED,
        /**
         * Text xl never reads: after the function of a {@code bdf=} value ({@code bdf=01:00.0@5}
         * gives no vslot) or after the number of a {@code vslot=} value ({@code vslot=3zz}).
         */
        IGNORED_TEXT
    }

    /**
     * Validates.
     *
     * @throws NullPointerException     if a component is null
     * @throws IllegalArgumentException if {@code offset} is outside {@code [0, spec.length()]}
     */
    public PciSpecWarning {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        if (offset < 0 || offset > spec.length()) {
            throw new IllegalArgumentException("offset " + offset + " outside the spec (length " + spec.length() + ")");
        }
    }

    /**
     * Formats as {@code offset N: MESSAGE}.
     *
     * @return the text
     */
    @Override
    public String toString() {
        return "offset " + offset + ": " + message;
    }
}
