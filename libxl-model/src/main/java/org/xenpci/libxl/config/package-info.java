/**
 * xl.cfg and PCI_SPEC_STRING parsing: {@link org.xenpci.libxl.config.XlConfigParser},
 * {@link org.xenpci.libxl.config.XlConfig}, {@link org.xenpci.libxl.config.PciSpecParser} (accepts
 * what xl accepts, glibc's {@code sscanf} leniency included) and
 * {@link org.xenpci.libxl.config.PciSpecLint} (warns about those lenient spellings). The few
 * deliberate differences are in docs/pci-spec-deviations.md.
 */
package org.xenpci.libxl.config;
