/**
 * Flattened device tree (FDT / DTB) support: an immutable tree model, a strict blob reader, a
 * blob writer that reproduces dtc's layout byte for byte, and a DTS printer.
 *
 * <p>Typical use:
 * <pre>{@code
 * Fdt fdt = FdtReader.read(blob);                       // FdtFormatException on bad input
 * FdtNode pcie = fdt.node("/pcie@10000000").orElseThrow();
 * long ecamBase = pcie.property("reg").orElseThrow().asLong(0, 2);
 * FdtNode its = fdt.nodeByPhandle(pcie.property("msi-map").orElseThrow().asCells()[1]).orElseThrow();
 *
 * Fdt guest = fdt.with("/pcie@10000000",
 *         pcie.toBuilder().setProperty(FdtProperty.string("status", "disabled")).build());
 * byte[] out = FdtWriter.write(guest);                  // what dtc -O dtb would produce
 * String dts = DtsWriter.write(guest);                  // compiles back with dtc, no warnings
 * }</pre>
 *
 * <p>Units: offsets and lengths are in bytes; property numbers are 32-bit big-endian cells
 * (Devicetree Specification v0.4, 2.2.4). Errors are unchecked {@link
 * org.xenpci.core.fdt.FdtException}s: {@link org.xenpci.core.fdt.FdtFormatException} for blobs,
 * {@link org.xenpci.core.fdt.FdtValueException} for property shapes,
 * {@link org.xenpci.core.fdt.FdtTreeException} for invalid trees and paths.
 */
package org.xenpci.core.fdt;
