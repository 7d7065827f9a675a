package org.xenpci.core;

/**
 * Xen's errno values (xen/include/public/errno.h, identical to Linux for these).
 * Hypercalls return {@code -value()}.
 */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), ENXIO(6), E2BIG(7), EBADF(9), ENOMEM(12), EACCES(13), EFAULT(14),
    EBUSY(16), EEXIST(17), EXDEV(18), ENODEV(19), EINVAL(22), ENOSPC(28), ERANGE(34), ENOSYS(38),
    ENODATA(61), EOPNOTSUPP(95), ERESTART(85);

    private final int value;

    Errno(int value) {
        this.value = value;
    }

    /** The positive errno number. */
    public int value() {
        return value;
    }

    /** The value a hypercall returns: {@code -value()}. */
    public int rc() {
        return -value;
    }

    /** The errno for a negative return code, if it is one of ours. */
    public static java.util.Optional<Errno> fromRc(long rc) {
        for (Errno e : values()) {
            if (e.rc() == rc) {
                return java.util.Optional.of(e);
            }
        }
        return java.util.Optional.empty();
    }
}
