package org.xenpci.libxl.toolstack;

import org.xenpci.core.BackingMemory;
import org.xenpci.core.Domain;
import org.xenpci.core.SparseMemory;

/**
 * Makes the memory behind each RAM bank of a guest {@link Libxl#createDomain} builds (libxl
 * populates the guest's physmap, {@code libxl__build_dom}; the model backs each bank of
 * {@code GuestRamLayout} with one {@link BackingMemory}). The default, {@link #SPARSE}, keeps
 * RAM in the Java heap; {@code xenpci serve} supplies one that puts each bank in a file a CPU
 * simulator maps (docs/simulator-protocol.md).
 *
 * <p>Called with the toolstack's lock held, once per bank, after the domain exists and before
 * its device tree is built. If it throws, the domain is destroyed again and
 * {@link Libxl#createDomain} fails with {@code ERROR_NOMEM}; a factory that keeps resources for
 * the banks it made releases them when {@link #release} is called for the domain.
 */
public interface GuestRamFactory {
    /** Heap memory, pages allocated on first write. */
    GuestRamFactory SPARSE = (domain, bank, gpa, size) -> new SparseMemory(size);

    /**
     * The memory of bank {@code bank} of {@code domain}, at guest-physical {@code gpa}, of
     * {@code size} bytes (page aligned).
     *
     * @throws RuntimeException (any) when the memory cannot be provided
     */
    BackingMemory create(Domain domain, int bank, long gpa, long size);

    /** The domain is gone (destroyed, or its creation failed): release what its banks hold. */
    default void release(Domain domain) {
    }
}
