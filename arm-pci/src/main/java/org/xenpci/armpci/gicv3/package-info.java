/**
 * Xen's GICv3 ITS support: the {@link org.xenpci.armpci.gicv3.GicV3Its} extension (host ITS
 * driver, host LPIs, virtual ITSes for the hardware domain and, with {@code Profile.guestVits},
 * guests) and the {@link org.xenpci.armpci.gicv3.ItsLayer} service vPCI uses to route MSIs.
 * See docs/msi.md.
 */
package org.xenpci.armpci.gicv3;
