package org.xenpci.core;

import java.util.function.Function;

/**
 * What a hypercall returned to its caller: a non-negative value or a negative Xen errno.
 * Consume with {@link #fold} or {@code instanceof} (Java 17: no pattern switch).
 */
public sealed interface HypercallResult permits HypercallResult.Ok, HypercallResult.Failed {

    /** The raw return register: the value, or {@code -errno}. */
    long rc();

    default boolean isOk() {
        return this instanceof Ok;
    }

    /** The errno, or {@code null} on success. */
    default Errno errno() {
        return this instanceof Failed f ? f.error() : null;
    }

    default <T> T fold(Function<Ok, T> onOk, Function<Failed, T> onError) {
        return this instanceof Ok ok ? onOk.apply(ok) : onError.apply((Failed) this);
    }

    Ok OK = new Ok(0);

    static HypercallResult ok() {
        return OK;
    }

    static HypercallResult ok(long value) {
        return value == 0 ? OK : new Ok(value);
    }

    static HypercallResult failed(Errno errno) {
        return new Failed(errno);
    }

    /** From a C-style return code: negative means {@code -errno}. */
    static HypercallResult ofRc(long rc) {
        if (rc >= 0) {
            return ok(rc);
        }
        return failed(Errno.fromRc(rc).orElseThrow(
                () -> new IllegalArgumentException("unknown errno in return code " + rc)));
    }

    record Ok(long value) implements HypercallResult {
        @Override
        public long rc() {
            return value;
        }
    }

    record Failed(Errno error) implements HypercallResult {
        public Failed {
            java.util.Objects.requireNonNull(error, "error");
        }

        @Override
        public long rc() {
            return error.rc();
        }

        @Override
        public String toString() {
            return "-" + error.name();
        }
    }
}
