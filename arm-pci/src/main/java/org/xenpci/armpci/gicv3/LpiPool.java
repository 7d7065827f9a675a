package org.xenpci.armpci.gicv3;

/**
 * Xen's host LPI table (shared by every host ITS), from {@link ItsLayer#lpiPool()}.
 *
 * @param total host LPIs Xen can hand out ({@link GicV3Its#MAX_HOST_LPIS})
 * @param free host LPIs not allocated to any device
 * @param reserved host LPIs promised to guests' assigned devices, allocated or not
 */
public record LpiPool(int total, int free, int reserved) {
}
