package org.xenpci.libxl.cli;

/**
 * An xl-style failure: the exact text xl prints on stderr (line ends included) and the exit
 * status xl uses for it, e.g. status 6 for a {@code PCI_SPEC_STRING} xl rejects with
 * ERROR_INVAL (tools/xl/xl_parse.c: exit status = -rc).
 */
final class XlExit extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String stderr;

    XlExit(int status, String stderr) {
        this(status, stderr, null);
    }

    /** As above, keeping the failure underneath for {@code --debug}. */
    XlExit(int status, String stderr, Throwable cause) {
        super(stderr.strip(), cause);
        this.status = status;
        this.stderr = stderr;
    }

    int status() {
        return status;
    }

    String stderr() {
        return stderr;
    }
}
