/**
 * Xen's Arm PCI layer: host bridge discovery, segments, pci_conf access, pdevs, PHYSDEVOPs.
 *
 * <p>Entry point: add {@link org.xenpci.armpci.ArmPci} to {@code Xen.builder()}; after boot,
 * {@code xen.service(ArmPciLayer.class)} gives the bridges, {@link org.xenpci.armpci.PciConf},
 * the pdev registry and the listener/IOMMU seams. Guests issue the PHYSDEVOPs with
 * {@link org.xenpci.armpci.PhysdevCalls}.
 *
 * <p>Where the model defines what Xen leaves undefined or fatal:
 * <ul>
 *   <li>mixing {@code linux,pci-domain} styles (Xen {@code BUG()}) throws
 *       {@link org.xenpci.armpci.PciBootException.InconsistentPciDomain};</li>
 *   <li>an R-Car Gen4 node whose DesignWare probe Xen would continue with an error pointer (no
 *       {@code atu} entry, or a failed common probe with {@code app} present) throws
 *       {@link org.xenpci.armpci.PciBootException.DesignWareProbeBroken};</li>
 *   <li>a probe failure (-ENOMEM) stops discovery, as Xen's walk does, but boot continues with
 *       the earlier bridges; the failure is kept in {@code ArmPciLayer.probeFailure()}, logged
 *       at WARN and traced as a {@code Warning} event;</li>
 *   <li>reset of an ownerless pdev (Xen dereferences NULL) returns -ENODEV;</li>
 *   <li>a VF added without its PF is freed as in Xen; if that pdev already had an owner the
 *       model also detaches vPCI and unlinks it from the owner (Xen leaves it dangling);</li>
 *   <li>host bridge regions are mapped into the hwdom p2m rounded out to whole 4 KiB pages.</li>
 * </ul>
 */
package org.xenpci.armpci;
