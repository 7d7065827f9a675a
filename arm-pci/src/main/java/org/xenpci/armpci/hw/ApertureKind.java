package org.xenpci.armpci.hw;

/** The PCI address space an outbound aperture reaches (the DT {@code ranges} space code). */
public enum ApertureKind {
    /** I/O space (phys.hi space code 01). */
    IO,
    /** 32-bit memory space (space code 10). */
    MEM32,
    /** 64-bit memory space (space code 11). */
    MEM64
}
