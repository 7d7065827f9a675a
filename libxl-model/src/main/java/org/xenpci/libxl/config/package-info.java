/**
 * xl.cfg and PCI_SPEC_STRING parsing: {@link org.xenpci.libxl.config.XlConfigParser},
 * {@link org.xenpci.libxl.config.XlConfig}, {@link org.xenpci.libxl.config.PciSpecParser}.
 * Strict where upstream is lenient; see docs/pci-spec-deviations.md.
 */
package org.xenpci.libxl.config;
