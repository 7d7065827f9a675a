package org.xenpci.core.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Generic mutations for seeded fuzzers: bytes (flips, boundary words, truncation, splices,
 * repeats) and text (boundary numbers, duplicated, removed or swapped lines, overlong tokens,
 * unicode, NULs, CRs, splices from another seed). Each fuzzer adds the mutations that know its
 * format; these are the format-blind ones. Deterministic for a given {@link Random}.
 */
public final class Mutator {
    /** Boundary numbers as text: 0, -1, 2^31, 2^32, 2^64-1 and their neighbours, huge counts. */
    public static final List<String> NUMBERS = List.of("0", "-1", "1", "2147483647", "2147483648", "-2147483648",
            "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615",
            "18446744073709551616", "0x0", "0xffffffff", "0x100000000", "0x7fffffff", "0x80000000",
            "0xffffffffffffffff", "0x10000000000000000", "99999999999999999999999999999999", "00", "08", "0x",
            "-0", "+1", "1e9", "0.5", "0777", "0xFFFF", "65535", "65536", "255", "256", "31", "32", "4096", "4095");
    /** 32-bit boundary words for binary formats. */
    public static final int[] WORDS = {0, 1, 2, 3, 4, 7, 8, 16, 17, 0x28, 0xff, 0x100, 0xfff, 0x1000, 0xffff,
            0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, -1, -4, -8};
    /** Odd characters: unicode (combining, dotless, astral, RTL, BOM), controls, NUL. */
    public static final List<String> ODD = List.of("\u0000", "\r", "\r\n", "\t", "\u00ff", "\u017f", "\u0130",
            "\u0131", "\u00e9", "e\u0301", "\uD83D\uDE00", "\uD800", "\u202e", "\uFEFF", "\u0085", "\u2028", "\u000b",
            "\f", "\u0007", "\\", "\"", "'", "#", ";", ",", "=", "[", "]", "{", "}", ":", ".", "@", " ", "\n", "x");

    private static final Pattern NUMBER = Pattern.compile("0[xX][0-9a-fA-F]+|[0-9]+");

    private final Random rnd;

    public Mutator(Random rnd) {
        this.rnd = rnd;
    }

    /** The random source (for format-specific mutations). */
    public Random random() {
        return rnd;
    }

    /** A value from a list. */
    public <T> T pick(List<T> from) {
        return from.get(rnd.nextInt(from.size()));
    }

    // ------------------------------------------------------------------------------------------
    // Bytes
    // ------------------------------------------------------------------------------------------

    /** One to a few format-blind byte mutations of {@code b} (not modified); {@code others} are splice donors. */
    public byte[] bytes(byte[] b, List<byte[]> others) {
        byte[] out = b;
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            out = byteOnce(out, others);
        }
        return out;
    }

    private byte[] byteOnce(byte[] b, List<byte[]> others) {
        if (b.length == 0) {
            return new byte[] {(byte) rnd.nextInt()};
        }
        byte[] c = b.clone();
        switch (rnd.nextInt(9)) {
            case 0 -> {
                int flips = 1 + rnd.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    c[rnd.nextInt(c.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> putWordBe(c, rnd.nextInt(Math.max(1, c.length / 4)) * 4, WORDS[rnd.nextInt(WORDS.length)]);
            case 2 -> putWordBe(c, rnd.nextInt(Math.max(1, c.length / 4)) * 4, rnd.nextInt(c.length * 2 + 16));
            case 3 -> c = Arrays.copyOf(c, rnd.nextInt(c.length)); // truncate
            case 4 -> { // splice: a chunk of a donor over a random place
                byte[] d = others.isEmpty() ? b : others.get(rnd.nextInt(others.size()));
                int len = 1 + rnd.nextInt(Math.min(256, d.length));
                int from = rnd.nextInt(d.length - len + 1);
                int to = rnd.nextInt(c.length);
                System.arraycopy(d, from, c, to, Math.min(len, c.length - to));
            }
            case 5 -> { // remove a chunk
                int at = rnd.nextInt(c.length);
                int len = 1 + rnd.nextInt(Math.min(64, c.length - at));
                byte[] n = new byte[c.length - len];
                System.arraycopy(c, 0, n, 0, at);
                System.arraycopy(c, at + len, n, at, c.length - at - len);
                c = n;
            }
            case 6 -> { // duplicate a chunk in place
                int at = rnd.nextInt(c.length);
                int len = 1 + rnd.nextInt(Math.min(64, c.length - at));
                byte[] n = new byte[c.length + len];
                System.arraycopy(c, 0, n, 0, at + len);
                System.arraycopy(c, at, n, at + len, c.length - at);
                c = n;
            }
            case 7 -> { // a run of one value (0, 0xff, random)
                int at = rnd.nextInt(c.length);
                int len = 1 + rnd.nextInt(Math.min(32, c.length - at));
                byte v = switch (rnd.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> (byte) 0xff;
                    default -> (byte) rnd.nextInt();
                };
                Arrays.fill(c, at, at + len, v);
            }
            default -> c[rnd.nextInt(c.length)] = (byte) rnd.nextInt();
        }
        return c;
    }

    /** Writes a big-endian word if it fits. */
    public static void putWordBe(byte[] b, int off, int v) {
        if (off < 0 || off + 4 > b.length) {
            return;
        }
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    // ------------------------------------------------------------------------------------------
    // Text
    // ------------------------------------------------------------------------------------------

    /** One to a few format-blind text mutations of {@code s}; {@code others} are splice donors. */
    public String text(String s, List<String> others) {
        String out = s;
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            out = textOnce(out, others);
        }
        return out;
    }

    private String textOnce(String s, List<String> others) {
        if (s.isEmpty()) {
            return pick(ODD);
        }
        switch (rnd.nextInt(12)) {
            case 0:
            case 1:
                return replaceNumber(s);
            case 2: { // duplicate a line
                List<String> lines = lines(s);
                int i = rnd.nextInt(lines.size());
                lines.add(i, lines.get(i));
                return String.join("\n", lines);
            }
            case 3: { // remove a line
                List<String> lines = lines(s);
                lines.remove(rnd.nextInt(lines.size()));
                return String.join("\n", lines);
            }
            case 4: { // swap two lines
                List<String> lines = lines(s);
                int i = rnd.nextInt(lines.size());
                int j = rnd.nextInt(lines.size());
                String t = lines.get(i);
                lines.set(i, lines.get(j));
                lines.set(j, t);
                return String.join("\n", lines);
            }
            case 5: // truncate
                return s.substring(0, rnd.nextInt(s.length()));
            case 6: { // insert an odd character
                int at = rnd.nextInt(s.length() + 1);
                return s.substring(0, at) + pick(ODD) + s.substring(at);
            }
            case 7: { // overlong: repeat a piece of the text many times
                int at = rnd.nextInt(s.length());
                int len = 1 + rnd.nextInt(Math.min(8, s.length() - at));
                String piece = s.substring(at, at + len);
                return s.substring(0, at) + piece.repeat(1 + rnd.nextInt(rnd.nextBoolean() ? 64 : 20_000)) + s.substring(at);
            }
            case 8: { // splice a line of a donor
                String d = others.isEmpty() ? s : pick(others);
                List<String> dl = lines(d);
                List<String> lines = lines(s);
                lines.add(rnd.nextInt(lines.size() + 1), pick(dl));
                return String.join("\n", lines);
            }
            case 9: { // delete a span
                int at = rnd.nextInt(s.length());
                int len = 1 + rnd.nextInt(Math.min(16, s.length() - at));
                return s.substring(0, at) + s.substring(at + len);
            }
            case 10: { // flip a character's bit (stays a char, may leave ASCII)
                int at = rnd.nextInt(s.length());
                char c = (char) (s.charAt(at) ^ (1 << rnd.nextInt(rnd.nextInt(4) == 0 ? 16 : 7)));
                return s.substring(0, at) + c + s.substring(at + 1);
            }
            default: { // a long run of one odd character
                int at = rnd.nextInt(s.length() + 1);
                return s.substring(0, at) + pick(ODD).repeat(1 + rnd.nextInt(5000)) + s.substring(at);
            }
        }
    }

    /** Replaces one number in {@code s} (hex or decimal) by a boundary number; inserts one if there is none. */
    public String replaceNumber(String s) {
        Matcher m = NUMBER.matcher(s);
        List<int[]> spans = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        String n = pick(NUMBERS);
        if (spans.isEmpty()) {
            int at = rnd.nextInt(s.length() + 1);
            return s.substring(0, at) + n + s.substring(at);
        }
        int[] span = spans.get(rnd.nextInt(spans.size()));
        return s.substring(0, span[0]) + n + s.substring(span[1]);
    }

    private static List<String> lines(String s) {
        return new ArrayList<>(Arrays.asList(s.split("\n", -1)));
    }
}
