package org.xenpci.armpci.gicv3;

/**
 * The message a physical MSI/MSI-X vector is programmed with on behalf of a guest.
 *
 * @param address machine address the function writes (an ITS GITS_TRANSLATER)
 * @param data the data written (the EventID)
 */
public record PhysicalMsi(long address, int data) {
}
