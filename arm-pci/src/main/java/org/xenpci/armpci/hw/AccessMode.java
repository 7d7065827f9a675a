package org.xenpci.armpci.hw;

/**
 * How a config-space bit behaves for software writes, named as the PCIe Base specification's
 * register attributes (7.4 "Configuration Register Types").
 */
public enum AccessMode {
    /** Read-only: writes have no effect. */
    RO,
    /** Read-write. */
    RW,
    /** Read, write 1 to clear. */
    RW1C,
    /** Reserved and preserved: software must write back what it read; hardware ignores writes. */
    RSVDP,
    /** Reserved, zero: reads 0, writes ignored. */
    RSVDZ,
    /** Hardware-initialised: firmware/model sets it, read-only to software. */
    HWINIT
}
