package org.xenpci.libxl.config;

/**
 * One {@code %x} conversion of glibc's {@code sscanf} on LP64, the way
 * tools/libs/util/libxlu_pci.c ({@code parse_bdf}, {@code parse_vslot}) reads every number of a
 * {@code PCI_SPEC_STRING}. glibc (stdio-common/vfscanf-internal.c, documented in the glibc
 * manual's "Numeric Input Conversions": {@code %x} reads what {@code strtoul} with base 16 reads):
 * <ol>
 * <li>skips C-locale white space ({@code isspace});</li>
 * <li>takes one optional {@code +} or {@code -};</li>
 * <li>takes a {@code 0}, and an {@code x}/{@code X} right after it, even when no hex digit
 *     follows: {@code "0x"} alone is the number 0 with both characters consumed, because scanf
 *     pushes back at most one character;</li>
 * <li>takes every hex digit that follows, without a limit;</li>
 * <li>converts with {@code strtoul}: above 2^64-1 the result is {@code ULONG_MAX} (ERANGE,
 *     whatever the sign), else a {@code -} negates modulo 2^64;</li>
 * <li>stores {@code (unsigned int)} of that, the low 32 bits.</li>
 * </ol>
 * The conversion fails (a matching or input failure; {@code sscanf} then returns fewer
 * conversions than asked for) when neither a {@code 0} nor a hex digit follows the blanks and
 * sign. Verified against glibc 2.36. Stateless.
 */
final class ScanfHex {
    private ScanfHex() {
    }

    /**
     * The result of one conversion, with the lenient spellings it went through, for
     * {@link PciSpecLint}.
     *
     * @param start    where the conversion began (before any blank)
     * @param numberAt index after the blanks: the sign, prefix or first digit
     * @param end      index after the last character consumed
     * @param value    the stored {@code unsigned int}, as a Java int
     * @param signAt   index of the {@code +}/{@code -}, or -1
     * @param prefixAt index of the {@code 0} of a {@code 0x}/{@code 0X} prefix, or -1
     * @param digits   hex digits after the sign and prefix; a leading {@code 0} without
     *                 {@code x} counts as a digit
     * @param exact    the stored value is the number the digits denote (no sign applied to a
     *                 non-zero number, no 64-bit saturation, no cut to 32 bits)
     */
    record Field(int start, int numberAt, int end, int value, int signAt, int prefixAt, int digits,
                 boolean exact) {
        /** True when blanks preceded the number. */
        boolean blank() {
            return numberAt > start;
        }

        /** True for a {@code 0x} prefix with no hex digit after it (read as 0). */
        boolean barePrefix() {
            return prefixAt >= 0 && digits == 0;
        }

        /** The stored value as an unsigned number. */
        long unsigned() {
            return Integer.toUnsignedLong(value);
        }
    }

    /**
     * Runs one {@code %x} conversion on {@code s[from, limit)}; {@code limit} plays the C string's
     * terminating NUL.
     *
     * @return the field, or null when the conversion fails
     */
    static Field scan(String s, int from, int limit) {
        int i = from;
        while (i < limit && Ascii.isSpace(s.charAt(i))) {
            i++;
        }
        int numberAt = i;
        int signAt = -1;
        boolean negative = false;
        if (i < limit && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            signAt = i;
            negative = s.charAt(i) == '-';
            i++;
        }
        boolean zero = false;
        int prefixAt = -1;
        if (i < limit && s.charAt(i) == '0') {
            zero = true;
            i++;
            if (i < limit && (s.charAt(i) == 'x' || s.charAt(i) == 'X')) {
                prefixAt = i - 1;
                i++;
            }
        }
        long acc = 0;
        boolean overflow = false;
        int digits = 0;
        for (; i < limit && Ascii.isHexDigit(s.charAt(i)); i++, digits++) {
            if (Long.compareUnsigned(acc, 0x0fff_ffff_ffff_ffffL) > 0) {
                overflow = true; // strtoul: ERANGE, ULONG_MAX; keep consuming digits
            } else {
                acc = acc << 4 | Ascii.hexValue(s.charAt(i));
            }
        }
        if (!zero && digits == 0) {
            return null;
        }
        long ul = overflow ? -1L : negative ? -acc : acc;
        boolean exact = !overflow && (negative ? acc == 0 : (acc >>> 32) == 0);
        return new Field(from, numberAt, i, (int) ul, signAt, prefixAt,
                prefixAt >= 0 || !zero ? digits : digits + 1, exact);
    }
}
