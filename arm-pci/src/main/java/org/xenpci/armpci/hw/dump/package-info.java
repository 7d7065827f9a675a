/**
 * Config-space dumps: raw binary images (256 or 4096 bytes) and the text that
 * {@code lspci -xxxx} prints and {@code lspci -F FILE} reads back (pciutils {@code lib/dump.c}).
 */
package org.xenpci.armpci.hw.dump;
