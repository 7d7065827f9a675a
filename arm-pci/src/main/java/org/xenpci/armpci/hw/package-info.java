/**
 * Physical PCI hardware, knowing nothing of Xen: software reaches it only through
 * {@link org.xenpci.core.PhysicalAddressSpace} regions registered by
 * {@link org.xenpci.armpci.hw.HostBridgeHardware#attach}.
 *
 * <ul>
 * <li>{@link org.xenpci.armpci.hw.ConfigSpace}: 4 KiB of config storage with per-dword RW/RW1C
 *     masks, a software write path and an internal one; {@link org.xenpci.armpci.hw.ConfigLayout}
 *     declares register fields with an {@link org.xenpci.armpci.hw.AccessMode}, change listeners
 *     and tags.</li>
 * <li>{@link org.xenpci.armpci.hw.PciFunction}: one function (type 0 or type 1) built from config
 *     data ({@link org.xenpci.armpci.hw.PciFunction#fromConfig}, {@link org.xenpci.armpci.hw.ConfigImage}),
 *     BAR sizing per PCI Local Bus 3.0 6.2.5, memory behind BARs with overlays, bridge windows.</li>
 * <li>{@link org.xenpci.armpci.hw.PciBus} / {@link org.xenpci.armpci.hw.PciDevice}: slots and
 *     multi-function devices; config routing by the bridges' current bus-number registers.</li>
 * <li>{@link org.xenpci.armpci.hw.HostBridgeHardware}: ECAM window (decoded with core's
 *     {@link org.xenpci.core.pci.EcamAddress}), root bus and outbound
 *     {@link org.xenpci.armpci.hw.Aperture}s.</li>
 * <li>Device DMA: {@link org.xenpci.armpci.hw.PciFunction#dmaRead} / {@code dmaWrite} return a
 *     {@link org.xenpci.armpci.hw.DmaResult}; the bridge's {@code iommu-map}
 *     ({@link org.xenpci.armpci.hw.StreamMap}) names the IOMMU, reached through the
 *     {@link org.xenpci.armpci.hw.InboundTranslator} seam.</li>
 * <li>{@link org.xenpci.armpci.hw.DeviceCatalog}: committed {@code lspci -xxxx} images of real
 *     devices; dumps are read and written by {@code org.xenpci.armpci.hw.dump}.</li>
 * </ul>
 *
 * <p>Bus accesses never throw: unclaimed reads are all-ones and writes are dropped. Building a
 * model wrongly throws {@link org.xenpci.armpci.hw.HardwareConfigException} naming the input.
 */
package org.xenpci.armpci.hw;
