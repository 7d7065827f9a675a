package org.xenpci.core.pci;

/**
 * The one decoder from a config-window offset to (bus, device, function, register), shared by
 * the host bridge hardware, the hardware domain's trapped ECAM and the guest's vPCI window.
 *
 * <pre>
 *  ECAM (PCIe Base 7.2.2, register bits = 12):
 *   27      20 19   15 14  12 11          0
 *  +----------+-------+------+-------------+
 *  |   bus    |  dev  |  fn  |  register   |
 *  +----------+-------+------+-------------+
 *  CAM (pci-host-cam-generic, register bits = 8): bus 23:16, dev 15:11, fn 10:8, reg 7:0
 * </pre>
 *
 * Xen's Arm handlers use exactly this with bits 12 (VPCI_ECAM_BDF = offset &amp; 0x0FFFF000 &gt;&gt; 12,
 * ECAM_REG_OFFSET = offset &amp; 0xFFF). The decoded bus is relative to the window's first bus.
 *
 * @param bus bus number relative to the window base (0..255)
 * @param device 0..31
 * @param function 0..7
 * @param register byte offset within the function's config space
 */
public record EcamAddress(int bus, int device, int function, int register) {
    /** Register-field width of ECAM. */
    public static final int ECAM_REGISTER_BITS = 12;
    /** Register-field width of CAM. */
    public static final int CAM_REGISTER_BITS = 8;

    /** Decodes an ECAM window offset. */
    public static EcamAddress decode(long offset) {
        return decode(offset, ECAM_REGISTER_BITS);
    }

    /** Decodes a window offset with the given register-field width (12 ECAM, 8 CAM). */
    public static EcamAddress decode(long offset, int registerBits) {
        return new EcamAddress(bus(offset, registerBits), device(offset, registerBits),
                function(offset, registerBits), register(offset, registerBits));
    }

    /** Bus field of an offset (allocation-free form for hot paths). */
    public static int bus(long offset, int registerBits) {
        return (int) (offset >>> (registerBits + 8)) & 0xff;
    }

    /** devfn field ({@code device << 3 | function}) of an offset. */
    public static int devfn(long offset, int registerBits) {
        return (int) (offset >>> registerBits) & 0xff;
    }

    public static int device(long offset, int registerBits) {
        return devfn(offset, registerBits) >> 3;
    }

    public static int function(long offset, int registerBits) {
        return devfn(offset, registerBits) & 7;
    }

    public static int register(long offset, int registerBits) {
        return (int) (offset & ((1L << registerBits) - 1));
    }

    /** The window offset of a bus/device/function/register (ECAM). */
    public static long offsetOf(int bus, int device, int function, int register) {
        return (long) bus << 20 | (long) device << 15 | (long) function << 12 | register;
    }

    public int devfn() {
        return device << 3 | function;
    }
}
