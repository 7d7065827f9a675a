/** Xen's Arm PCI layer: host bridge discovery, segments, pci_conf access, pdevs, PHYSDEVOPs. */
package org.xenpci.armpci;
