package org.xenpci.libxl.serve;

import org.xenpci.core.Errno;

/**
 * A request the server refuses: becomes an error reply (docs/simulator-protocol.md section 3)
 * with {@code status} = {@code -errno}, and nothing changed.
 */
final class RequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Errno errno;
    private final int detail;

    RequestException(Errno errno, String message) {
        this(errno, 0, message);
    }

    RequestException(Errno errno, int detail, String message) {
        super(message);
        this.errno = errno;
        this.detail = detail;
    }

    Errno errno() {
        return errno;
    }

    /** A libxl error code, or 0. */
    int detail() {
        return detail;
    }
}
