/** Physical PCI hardware: host bridges with ECAM windows, functions, bridges, BARs, config dumps. */
package org.xenpci.armpci.hw;
