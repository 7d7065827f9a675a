/** vPCI: Xen's config-space emulation for the hardware domain and for guests. */
package org.xenpci.vpci;
