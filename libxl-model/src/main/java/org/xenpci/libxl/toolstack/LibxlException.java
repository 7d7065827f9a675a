package org.xenpci.libxl.toolstack;

import java.util.Optional;
import org.xenpci.core.Errno;
import org.xenpci.libxl.config.LibxlError;

/**
 * A libxl operation failed. Carries libxl's negative error code ({@link LibxlError}, toolstack
 * libxl_types.idl) and the last error message libxl logged for it (e.g. {@code PCI device 0:1:0.0 is
 * not assignable}); every message of the operation is also in {@link Libxl#log()}. The model
 * throws where libxl returns the code, so that a failed step cannot be ignored by accident;
 * state is left as libxl leaves it (documented per operation).
 */
public final class LibxlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String libxlMessage;
    private final Errno hypercallErrno;

    /**
     * @param code a negative libxl error code
     * @param libxlMessage the message libxl logged (may be empty when libxl logs nothing)
     */
    public LibxlException(int code, String libxlMessage) {
        this(code, libxlMessage, null);
    }

    /**
     * @param code a negative libxl error code
     * @param libxlMessage the message libxl logged
     * @param hypercallErrno the errno of the hypercall that failed underneath, or null
     */
    public LibxlException(int code, String libxlMessage, Errno hypercallErrno) {
        super(LibxlError.name(code) + " (" + code + ")" + (libxlMessage.isEmpty() ? "" : ": " + libxlMessage)
                + (hypercallErrno == null ? "" : " [-" + hypercallErrno.name() + "]"));
        this.code = code;
        this.libxlMessage = libxlMessage;
        this.hypercallErrno = hypercallErrno;
    }

    /** The errno Xen returned when the failure was a refused hypercall (e.g. -EBUSY), if any. */
    public Optional<Errno> hypercallErrno() {
        return Optional.ofNullable(hypercallErrno);
    }

    /** libxl's error code, e.g. {@link LibxlError#ERROR_FAIL} (-3); xl exits with 1 for these. */
    public int code() {
        return code;
    }

    /** The message libxl logged for the failure, or "" if it logs none. */
    public String libxlMessage() {
        return libxlMessage;
    }
}
