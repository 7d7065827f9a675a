package org.xenpci.core.fdt;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Prints a tree as device tree source in dtc's style, such that {@code dtc -I dts -O dtb}
 * (1.6.1) compiles it back to exactly {@code FdtWriter.write(fdt)} without any warning.
 *
 * <p>Value rendering follows dtc's own guess for blobs (treesource.c): printable NUL-terminated
 * data becomes strings, lengths that are multiples of 4 bytes become {@code <cells>}, anything
 * else {@code [bytes]}. The bytes are reproduced exactly whatever the choice.
 *
 * <p>Phandles: every node with a unique {@code phandle} (or {@code linux,phandle}) gets a label
 * derived from its name ({@code intc@8000000} becomes {@code intc_8000000}; a digit-leading name
 * gets an {@code n} prefix; clashes get {@code _2}, {@code _3}... in pre-order). The explicit
 * {@code phandle} property is kept so the value does not change, and the phandle cells of
 * {@code interrupt-parent}, {@code interrupt-map}, {@code msi-map}, {@code iommu-map} and the
 * phandle+args lists dtc checks ({@code clocks}, {@code phys}, {@code *-gpios}, ...) are printed
 * as {@code &label}. A reference to the root node is printed as {@code &{/}}. A value that does
 * not fit its binding's layout is printed as raw cells.
 *
 * <p>Not representable in source: {@link Fdt#bootCpuidPhys()}; pass {@code -b} to dtc.
 */
public final class DtsWriter {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private DtsWriter() {
    }

    /**
     * Prints a tree as DTS.
     *
     * @param fdt the tree
     * @return the source text, ending with a newline
     */
    public static String write(Fdt fdt) {
        return new Printer(fdt, true).print();
    }

    /**
     * Prints a tree as {@code dtc -I dtb -O dts} (1.6.1) prints the same blob: no labels and no
     * {@code &references}, every phandle as its number, values guessed as above. What dtc prints
     * for a blob it reads, byte for byte (checked against the real dtc in the tests).
     *
     * @param fdt the tree
     * @return the source text, ending with a newline
     */
    public static String decompile(Fdt fdt) {
        return new Printer(fdt, false).print();
    }

    /** One printing run; holds the phandle labels. */
    private static final class Printer {
        private final Fdt fdt;
        private final StringBuilder out = new StringBuilder();
        /** phandle value -> node, only for phandles used by exactly one node. */
        private final Map<Integer, FdtNode> byPhandle = new HashMap<>();
        /** phandle value -> reference text ({@code &label} or {@code &{/}}). */
        private final Map<Integer, String> refs = new HashMap<>();
        /** path -> label of labelled nodes. */
        private final Map<String, String> labels = new HashMap<>();

        /** dtc's decompile layout: "\0" inside strings, a blank line before every child node. */
        private final boolean asDtcDecompiles;

        Printer(Fdt fdt, boolean labelled) {
            this.fdt = fdt;
            this.asDtcDecompiles = !labelled;
            if (labelled) {
                assignLabels();
            }
        }

        private void assignLabels() {
            Map<Integer, String> pathByPhandle = new LinkedHashMap<>();
            Set<Integer> duplicates = new HashSet<>();
            fdt.forEachNode((path, node) -> {
                OptionalInt ph = safePhandle(node);
                if (ph.isEmpty() || ph.getAsInt() == 0 || ph.getAsInt() == -1) {
                    return;
                }
                if (pathByPhandle.putIfAbsent(ph.getAsInt(), path) != null) {
                    duplicates.add(ph.getAsInt());
                } else {
                    byPhandle.put(ph.getAsInt(), node);
                }
            });
            duplicates.forEach(d -> {
                pathByPhandle.remove(d);
                byPhandle.remove(d);
            });
            Set<String> used = new HashSet<>();
            pathByPhandle.forEach((ph, path) -> {
                if (path.equals("/")) {
                    refs.put(ph, "&{/}");
                    return;
                }
                String base = labelFor(path.substring(path.lastIndexOf('/') + 1));
                String label = base;
                for (int i = 2; !used.add(label); i++) {
                    label = base + "_" + i;
                }
                labels.put(path, label);
                refs.put(ph, "&" + label);
            });
        }

        /** dtc labels match {@code [a-zA-Z_][a-zA-Z0-9_]*}. */
        private static String labelFor(String nodeName) {
            StringBuilder s = new StringBuilder();
            for (char c : nodeName.toCharArray()) {
                s.append(Character.isLetterOrDigit(c) && c < 128 ? c : '_');
            }
            if (Character.isDigit(s.charAt(0))) {
                s.insert(0, 'n');
            }
            return s.toString();
        }

        private static OptionalInt safePhandle(FdtNode node) {
            try {
                return node.phandle();
            } catch (FdtValueException e) {
                return OptionalInt.empty();
            }
        }

        String print() {
            out.append("/dts-v1/;\n\n");
            for (MemReserve r : fdt.memReserves()) {
                out.append("/memreserve/\t0x").append(String.format("%016x", r.address()))
                        .append(" 0x").append(String.format("%016x", r.size())).append(";\n");
            }
            printNode("/", fdt.root(), 0);
            return out.toString();
        }

        private void printNode(String path, FdtNode node, int depth) {
            indent(depth);
            String label = labels.get(path);
            if (label != null) {
                out.append(label).append(": ");
            }
            out.append(path.equals("/") ? "/" : node.name()).append(" {\n");
            for (FdtProperty p : node.properties()) {
                indent(depth + 1);
                out.append(p.name());
                if (!p.isEmpty()) {
                    out.append(" = ");
                    printValue(node, p);
                }
                out.append(";\n");
            }
            String prefix = path.equals("/") ? "/" : path + "/";
            boolean first = node.properties().isEmpty() && !asDtcDecompiles;
            for (FdtNode c : node.children()) {
                if (!first) {
                    out.append('\n'); // dtc separates children from what precedes them
                }
                first = false;
                printNode(prefix + c.name(), c, depth + 1);
            }
            indent(depth);
            out.append("};\n");
        }

        private void printValue(FdtNode node, FdtProperty p) {
            boolean[] mask = asDtcDecompiles ? null : PhandleCells.phandleMask(node, p, byPhandle::get);
            if (mask != null) {
                printCells(p, mask);
            } else if (looksLikeStrings(p)) {
                printStrings(p);
            } else if (p.length() % 4 == 0) {
                printCells(p, null);
            } else {
                printBytes(p);
            }
        }

        private void printCells(FdtProperty p, boolean[] phandleMask) {
            int[] cells = p.asCells();
            out.append('<');
            for (int i = 0; i < cells.length; i++) {
                if (i > 0) {
                    out.append(' ');
                }
                if (phandleMask != null && phandleMask[i]) {
                    out.append(refs.get(cells[i]));
                } else {
                    appendHex(cells[i]);
                }
            }
            out.append('>');
        }

        private void printBytes(FdtProperty p) {
            out.append('[');
            for (int i = 0; i < p.length(); i++) {
                if (i > 0) {
                    out.append(' ');
                }
                int v = p.byteAt(i) & 0xff;
                out.append(HEX[v >>> 4]).append(HEX[v & 0xf]);
            }
            out.append(']');
        }

        /**
         * dtc's test: every byte printable or NUL or a C escape, last byte NUL, and no more NULs
         * than other bytes (so {@code <0>} is not printed as four empty strings).
         */
        private static boolean looksLikeStrings(FdtProperty p) {
            int len = p.length();
            if (p.byteAt(len - 1) != 0) {
                return false;
            }
            int nuls = 0;
            for (int i = 0; i < len; i++) {
                int c = p.byteAt(i) & 0xff;
                if (c == 0) {
                    nuls++;
                } else if (!(c >= 0x20 && c < 0x7f) && escape(c) == null) {
                    return false;
                }
            }
            return nuls <= len - nuls;
        }

        private void printStrings(FdtProperty p) {
            out.append('"');
            for (int i = 0; i < p.length() - 1; i++) {
                int c = p.byteAt(i) & 0xff;
                if (c == 0) {
                    // dtc 1.6 knows no string boundaries in a blob it reads (no markers): "a\0b".
                    out.append(asDtcDecompiles ? "\\0" : "\", \"");
                } else {
                    String esc = escape(c);
                    out.append(esc != null ? esc : String.valueOf((char) c));
                }
            }
            out.append('"');
        }

        /** The escapes dtc's lexer understands (and prints) in strings. */
        private static String escape(int c) {
            return switch (c) {
                case '"' -> "\\\"";
                case '\\' -> "\\\\";
                case 0x07 -> "\\a";
                case 0x08 -> "\\b";
                case '\t' -> "\\t";
                case '\n' -> "\\n";
                case 0x0b -> "\\v";
                case '\f' -> "\\f";
                case '\r' -> "\\r";
                default -> null;
            };
        }

        /** dtc prints cells as {@code 0x%02x}. */
        private void appendHex(int cell) {
            String h = Integer.toHexString(cell);
            out.append("0x");
            if (h.length() == 1) {
                out.append('0');
            }
            out.append(h);
        }

        private void indent(int depth) {
            out.append("\t".repeat(depth));
        }
    }
}
