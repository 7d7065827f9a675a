package org.xenpci.libxl.config;

/**
 * C-locale character classes. Java's {@code Character} methods and
 * {@code String.equalsIgnoreCase} accept non-ASCII letters and digits (e.g. U+017F folds to
 * 's'), which the C parsers being modelled never do.
 */
final class Ascii {
    private Ascii() {
    }

    /** {@code isxdigit} in the C locale. */
    static boolean isHexDigit(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** Value of a hex digit accepted by {@link #isHexDigit(char)}. */
    static int hexValue(char c) {
        if (c <= '9') {
            return c - '0';
        }
        return (c | 0x20) - 'a' + 10;
    }

    /** {@code isspace} in the C locale. */
    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000b' || c == '\f' || c == '\r';
    }

    /** {@code strcasecmp(a, b) == 0} in the C locale. */
    static boolean equalsIgnoreCase(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            if (lower(a.charAt(i)) != lower(b.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }

    /**
     * glibc's {@code atoi} on LP64: {@code (int) strtol(s, NULL, 10)}. Skips leading blanks,
     * takes an optional sign and decimal digits, saturates at the 64-bit limits like
     * {@code strtol}, then truncates to 32 bits. Never fails: no digits gives 0.
     */
    static int atoi(String s) {
        int i = 0;
        int n = s.length();
        while (i < n && isSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        long acc = 0;
        boolean overflow = false;
        for (; i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
            int d = s.charAt(i) - '0';
            if (!overflow) {
                // Accumulate as a negative number so that LONG_MIN fits, as strtol effectively does.
                if (acc < (Long.MIN_VALUE + d) / 10) {
                    overflow = true;
                } else {
                    acc = acc * 10 - d;
                }
            }
        }
        long value;
        if (overflow) {
            value = negative ? Long.MIN_VALUE : Long.MAX_VALUE;
        } else if (negative) {
            value = acc;
        } else {
            value = acc == Long.MIN_VALUE ? Long.MAX_VALUE : -acc;
        }
        return (int) value;
    }
}
