package org.xenpci.libxl.config;

/**
 * libxl's negative error codes (tools/libs/light/libxl_types.idl, {@code libxl_error}) that the
 * toolstack model returns or carries in exceptions. Codes: libxl_error in tools/libs/light/libxl_types.idl.
 */
public final class LibxlError {
    /** Generic failure; also what libxl's enum-from-string lookups return. */
    public static final int ERROR_FAIL = -3;
    /** Not implemented: here, what the model refuses rather than model half-way (a bridge passed through). */
    public static final int ERROR_NI = -4;
    /** Allocation failure. */
    public static final int ERROR_NOMEM = -5;
    /** Invalid argument, e.g. a malformed {@code PCI_SPEC_STRING}. */
    public static final int ERROR_INVAL = -6;
    /** A libxl operation timed out. */
    public static final int ERROR_TIMEDOUT = -9;
    /** Lock acquisition failed. */
    public static final int ERROR_LOCK_FAIL = -15;
    /** A named object (e.g. an assignable-device name) does not exist. */
    public static final int ERROR_NOTFOUND = -23;

    private LibxlError() {
    }

    /**
     * Returns the libxl name of a code, e.g. {@code ERROR_INVAL} for -6.
     *
     * @param code a libxl error code
     * @return the constant's name, or {@code ERROR_<code>} if the model does not know it
     */
    public static String name(int code) {
        switch (code) {
            case ERROR_FAIL: return "ERROR_FAIL";
            case ERROR_NI: return "ERROR_NI";
            case ERROR_NOMEM: return "ERROR_NOMEM";
            case ERROR_INVAL: return "ERROR_INVAL";
            case ERROR_TIMEDOUT: return "ERROR_TIMEDOUT";
            case ERROR_LOCK_FAIL: return "ERROR_LOCK_FAIL";
            case ERROR_NOTFOUND: return "ERROR_NOTFOUND";
            default: return "ERROR_" + code;
        }
    }
}
