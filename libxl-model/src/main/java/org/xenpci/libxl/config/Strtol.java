package org.xenpci.libxl.config;

/**
 * C {@code strtol(s, &end, 0)} as xlu_cfg_get_long uses it: leading blanks, optional sign,
 * {@code 0x}/{@code 0X} hex, leading {@code 0} octal, else decimal; the whole text must be
 * consumed.
 */
final class Strtol {
    private Strtol() {
    }

    /**
     * Parses like {@code strtol} with base 0 and requires full consumption.
     *
     * @throws NumberFormatException if there are no digits or trailing characters remain
     * @throws ArithmeticException   if the value does not fit in 64 bits (ERANGE)
     */
    static long parseBase0(String s) {
        int i = 0;
        int n = s.length();
        while (i < n && Ascii.isSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        int base = 10;
        if (i + 1 < n && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && i + 2 < n && Ascii.isHexDigit(s.charAt(i + 2))) {
            base = 16;
            i += 2;
        } else if (i < n && s.charAt(i) == '0') {
            base = 8;
        }
        int start = i;
        java.math.BigInteger acc = java.math.BigInteger.ZERO;
        boolean overflow = false;
        for (; i < n; i++) {
            char c = s.charAt(i);
            int d = Ascii.isHexDigit(c) ? Ascii.hexValue(c) : 99;
            if (d >= base) {
                break;
            }
            // Past 64 bits the value is ERANGE whatever follows: stop growing the number, so a
            // 100,000-digit value costs a scan, not 100,000 ever longer BigIntegers (found by
            // XlInputFuzzTest: gigabytes and seconds per value).
            if (!overflow) {
                acc = acc.multiply(java.math.BigInteger.valueOf(base)).add(java.math.BigInteger.valueOf(d));
                overflow = acc.bitLength() > 64;
            }
        }
        if (i == start || i != n) {
            throw new NumberFormatException("not a valid number: \"" + abbreviate(s) + "\"");
        }
        if (overflow) {
            throw new ArithmeticException("out of range: " + abbreviate(s));
        }
        if (negative) {
            acc = acc.negate();
        }
        return acc.longValueExact();
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }
}
