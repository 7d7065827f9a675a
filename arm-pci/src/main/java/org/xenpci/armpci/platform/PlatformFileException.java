package org.xenpci.armpci.platform;

/**
 * A platform file that cannot be used: names the file, the field (a JSON pointer such as
 * {@code /devices/1/bars/0/size}) and the offending value. Nothing is booted.
 */
public final class PlatformFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String field;
    private final String value;

    public PlatformFileException(String file, String field, String value, String reason) {
        super(file + ": " + (field.isEmpty() ? "" : field + ": ") + reason + (value == null ? "" : " (value: " + value + ")"));
        this.file = file;
        this.field = field;
        this.value = value;
    }

    public PlatformFileException(String file, String field, String value, String reason, Throwable cause) {
        this(file, field, value, reason);
        initCause(cause);
    }

    /** The platform file (or the file it references) at fault. */
    public String file() {
        return file;
    }

    /** JSON pointer of the field at fault, or empty for the file as a whole. */
    public String field() {
        return field;
    }

    /** The offending value as written, or null. */
    public String value() {
        return value;
    }
}
