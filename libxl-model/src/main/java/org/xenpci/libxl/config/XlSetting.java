package org.xenpci.libxl.config;

import java.util.Objects;

/**
 * One {@code key = value} (or {@code key += value}) statement as it stands after parsing, i.e.
 * the last assignment of that key, with {@code +=} already concatenated as libxlu_cfg does.
 *
 * @param name   the key, {@code [a-z][_0-9a-z]*}
 * @param value  the value
 * @param append true if the statement that set it used {@code +=}
 * @param line   1-based line of that statement
 */
public record XlSetting(String name, XlValue value, boolean append, int line) {
    /** Validates. */
    public XlSetting {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
    }
}
