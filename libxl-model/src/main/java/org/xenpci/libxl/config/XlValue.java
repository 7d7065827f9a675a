package org.xenpci.libxl.config;

import java.util.List;
import java.util.Objects;

/**
 * A raw xl.cfg value as libxlu_cfg stores it ({@code XLU_ConfigValue}): either an atom (a
 * quoted string or an unquoted number, both kept as text) or a list of values. Lists may nest,
 * as in {@code vnuma = [ [ "pnode=0" ], [ "pnode=1" ] ]}.
 */
public sealed interface XlValue permits XlValue.Atom, XlValue.ListValue {

    /**
     * Returns the 1-based line where the value starts.
     *
     * @return the line
     */
    int line();

    /**
     * Returns the 1-based column where the value starts.
     *
     * @return the column
     */
    int column();

    /**
     * A string or number. Numbers are unquoted tokens matching {@code [0-9][0-9a-fx]*} and are
     * interpreted only when a key asks for a number ({@code strtol} with base 0).
     *
     * @param text   the dequoted text (escapes resolved) or the number's digits
     * @param quoted true for {@code "..."} / {@code '...'} strings
     * @param line   1-based line
     * @param column 1-based column
     */
    record Atom(String text, boolean quoted, int line, int column) implements XlValue {
        /** Validates. */
        public Atom {
            Objects.requireNonNull(text, "text");
        }

        @Override
        public String toString() {
            return quoted ? '"' + text + '"' : text;
        }
    }

    /**
     * A bracketed list.
     *
     * @param items  the elements in file order
     * @param line   1-based line of the '['
     * @param column 1-based column of the '['
     */
    record ListValue(List<XlValue> items, int line, int column) implements XlValue {
        /** Copies the items. */
        public ListValue {
            items = List.copyOf(items);
        }

        @Override
        public String toString() {
            return items.toString();
        }
    }
}
