package org.xenpci.armpci.hw.nvme;

import java.util.Objects;
import org.xenpci.armpci.hw.HardwareConfigException;

/**
 * The strings an NVMe controller reports in Identify Controller (NVMe Base 1.4, figure 247):
 * Serial Number (bytes 23:04, 20 ASCII characters), Model Number (63:24, 40) and Firmware
 * Revision (71:64, 8), each padded with spaces. U-Boot's {@code nvme info} prints all three.
 *
 * @param serial 1..20 printable ASCII characters
 * @param model 1..40 printable ASCII characters
 * @param firmware 1..8 printable ASCII characters
 */
public record NvmeIdentity(String serial, String model, String firmware) {
    /** Validates the three strings. @throws HardwareConfigException naming the bad one */
    public NvmeIdentity {
        check("serial number", serial, 20);
        check("model number", model, 40);
        check("firmware revision", firmware, 8);
    }

    /** QEMU's model string ({@code hw/nvme/ctrl.c}: "QEMU NVMe Ctrl") with a xenpci serial. */
    public static NvmeIdentity defaults() {
        return new NvmeIdentity("XENPCI0001", "QEMU NVMe Ctrl", "1.0");
    }

    private static void check(String what, String s, int max) {
        Objects.requireNonNull(s, what);
        if (s.isEmpty() || s.length() > max) {
            throw new HardwareConfigException(what + " \"" + s + "\" must be 1.." + max + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new HardwareConfigException(what + " \"" + s + "\" has a non-printable-ASCII character at " + i);
            }
        }
    }
}
