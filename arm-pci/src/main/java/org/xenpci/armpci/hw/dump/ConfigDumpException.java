package org.xenpci.armpci.hw.dump;

import org.xenpci.armpci.hw.HardwareConfigException;

/** A config dump that cannot be read: wrong length, or a malformed line (numbered from 1). */
public final class ConfigDumpException extends HardwareConfigException {
    private static final long serialVersionUID = 1L;

    private final int line;

    /** @param line 1-based line number of the bad text, 0 when the problem is not one line */
    public ConfigDumpException(int line, String message) {
        super(line > 0 ? "line " + line + ": " + message : message);
        this.line = line;
    }

    /** The 1-based line number, or 0 when the problem is not one line (a binary length). */
    public int line() {
        return line;
    }
}
