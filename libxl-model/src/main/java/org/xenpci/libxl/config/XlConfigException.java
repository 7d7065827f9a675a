package org.xenpci.libxl.config;

import java.util.Objects;

/**
 * An xl domain configuration file was rejected: a lexical or syntax error, or a value xl would
 * refuse for a key the model interprets (e.g. a {@code pci=} entry that is not a valid
 * {@code PCI_SPEC_STRING}, or {@code memory = "lots"}).
 *
 * <p>The message starts with {@code FILE:LINE:} like xl's own reports, e.g.
 * {@code guest.cfg:3: config parsing error near `]': syntax error}.
 */
public final class XlConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String fileName;
    private final int line;
    private final int column;
    private final String reason;

    /**
     * Creates the exception.
     *
     * @param fileName the config source name used in messages
     * @param line     1-based line of the offending token or setting
     * @param column   1-based column, or 0 if unknown
     * @param reason   what is wrong, in xl's words where xl has words for it
     * @param cause    underlying exception (e.g. a {@link PciSpecException}), or null
     */
    public XlConfigException(String fileName, int line, int column, String reason, Throwable cause) {
        super(fileName + ":" + line + (column > 0 ? ":" + column : "") + ": " + reason, cause);
        this.fileName = Objects.requireNonNull(fileName, "fileName");
        this.line = line;
        this.column = column;
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /**
     * Returns the config source name.
     *
     * @return the file name as given to the parser
     */
    public String fileName() {
        return fileName;
    }

    /**
     * Returns the 1-based line number.
     *
     * @return the line
     */
    public int line() {
        return line;
    }

    /**
     * Returns the 1-based column, or 0 when the error concerns a whole setting.
     *
     * @return the column
     */
    public int column() {
        return column;
    }

    /**
     * Returns the message without the {@code FILE:LINE:} prefix.
     *
     * @return e.g. {@code config parsing error near `]': syntax error}
     */
    public String reason() {
        return reason;
    }
}
