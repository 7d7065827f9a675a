package org.xenpci.core;

/**
 * A hypervisor MMIO trap handler (Xen's {@code mmio_handler_ops}): it emulates loads and stores
 * a guest makes to a guest-physical range that the p2m leaves unmapped and traps.
 *
 * <p>The access check is separate from the access, so that refusing an access (which injects a
 * data abort into the vCPU, as Xen does when a handler returns 0) needs no result object:
 * {@link #accepts} is asked first and, if it says yes, {@link #read} or {@link #write} runs
 * and cannot fail. Sizes are 1, 2, 4 or 8 bytes; values are zero-extended little-endian.
 *
 * <p>Handlers are called concurrently from several vCPUs and must be thread-safe.
 */
public interface MmioHandler {

    /** A short name for traces, e.g. {@code "vpci-ecam"}. */
    String name();

    /**
     * Whether the access is one the handler emulates. {@code false} makes the vCPU take a
     * data abort and neither {@link #read} nor {@link #write} is called.
     *
     * @param gpa guest-physical address of the first byte
     * @param size bytes: 1, 2, 4 or 8
     */
    default boolean accepts(Vcpu vcpu, long gpa, int size) {
        return true;
    }

    /** Emulates a load; the result is masked to {@code size} bytes by the caller. */
    long read(Vcpu vcpu, long gpa, int size);

    /** Emulates a store of the low {@code size} bytes of {@code value}. */
    void write(Vcpu vcpu, long gpa, int size, long value);
}
