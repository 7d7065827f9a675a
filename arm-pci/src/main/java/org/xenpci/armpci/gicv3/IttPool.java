package org.xenpci.armpci.gicv3;

/**
 * The ITT memory of one host ITS (the Xen memory after its command queue), from
 * {@link ItsLayer#ittPools()}.
 *
 * @param itsPath host DT path of the ITS
 * @param base machine address of the first byte
 * @param totalBytes bytes in the pool
 * @param freeBytes bytes neither allocated to an ITT nor reserved for a device
 * @param largestFreeBytes the largest single extent still free
 * @param freeExtents number of free extents; 1 (with {@code freeBytes == totalBytes}) means
 *        the pool is whole again
 */
public record IttPool(String itsPath, long base, long totalBytes, long freeBytes, long largestFreeBytes,
        int freeExtents) {
    /** True if nothing is allocated and the free memory is one extent. */
    public boolean isWhole() {
        return freeBytes == totalBytes && (totalBytes == 0 || freeExtents == 1 && largestFreeBytes == totalBytes);
    }
}
