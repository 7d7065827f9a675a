package org.xenpci.core;

/** Tiny hex formatting helpers: every address and size in messages and JSON is {@code 0x...} lower case. */
public final class Hex {
    private Hex() {
    }

    /** {@code 0x} followed by the unsigned lower-case hex digits of {@code value}. */
    public static String of(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** {@code 0x} followed by the unsigned lower-case hex digits of {@code value}. */
    public static String of(int value) {
        return "0x" + Integer.toHexString(value);
    }

    /**
     * Parses {@code 0x...} hex or plain decimal, as platform files and CLIs accept.
     *
     * @throws NumberFormatException with the offending text
     */
    public static long parse(String text) {
        String t = text.trim();
        try {
            if (t.startsWith("0x") || t.startsWith("0X")) {
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new NumberFormatException("not a number: \"" + text + "\"");
        }
    }
}
