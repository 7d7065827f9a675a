/**
 * The libxl toolstack model running in dom0: {@link org.xenpci.libxl.toolstack.Libxl} builds
 * domains from xl configs and assigns, lists, detaches and quarantines PCI devices through the
 * assignment domctls (tools/libs/light/libxl_pci.c; xen/include/public/domctl.h), keeping libxl's state in a
 * {@link org.xenpci.libxl.toolstack.Xenstore} and dom0's {@link org.xenpci.libxl.toolstack.Pciback}
 * binding. docs/cli-toolstack.md describes the flows and the decisions.
 */
package org.xenpci.libxl.toolstack;
