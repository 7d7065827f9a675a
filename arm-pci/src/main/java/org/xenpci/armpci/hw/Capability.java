package org.xenpci.armpci.hw;

/**
 * A capability found in a function's config space.
 *
 * @param id capability ID (PCI Code and ID Assignment: 0x05 MSI, 0x10 PCIe, 0x11 MSI-X; extended: 0x01 AER ...)
 * @param offset byte offset of the capability header in config space
 * @param extended true for a PCIe extended capability (at or above 0x100)
 */
public record Capability(int id, int offset, boolean extended) {
}
