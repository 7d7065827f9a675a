package org.xenpci.armpci.hw;

/** What a Base Address Register decodes (PCI Local Bus 3.0 6.2.5.1, 6.2.5.2). */
public enum BarKind {
    /** 32-bit memory BAR (type bits 00). */
    MEM32,
    /** 64-bit memory BAR (type bits 10): occupies its index and index + 1. */
    MEM64,
    /** I/O space BAR (bit 0 set). */
    IO,
    /** Expansion ROM BAR (0x30 on type 0, 0x38 on type 1). */
    ROM
}
