/**
 * GICv3 Interrupt Translation Service hardware (Arm IHI 0069): {@link org.xenpci.armpci.its.ItsHardware}
 * with its registers and command queue, {@link org.xenpci.armpci.its.ItsCommand} encodings,
 * {@link org.xenpci.armpci.its.LpiSink} for the redistributors, and the MSI/ITS trace events
 * ({@link org.xenpci.armpci.its.ItsEvents}). Knows nothing of Xen. See docs/msi.md.
 */
package org.xenpci.armpci.its;
