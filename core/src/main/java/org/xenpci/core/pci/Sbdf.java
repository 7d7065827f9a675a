package org.xenpci.core.pci;

/**
 * A PCI function address: segment (PCI domain), bus, device and function.
 *
 * <p>Immutable and range-checked: segment 0..0xffff, bus 0..0xff, device 0..0x1f,
 * function 0..7. The text form is Linux/Xen's {@code ssss:bb:dd.f} in lower-case hex.
 * The packed form {@link #sbdf()} is Xen's {@code PCI_SBDF}: {@code seg << 16 | bus << 8 | devfn},
 * which is also what {@code XEN_DOMCTL_assign_device} carries as {@code machine_sbdf}.
 */
public record Sbdf(int segment, int bus, int device, int function) implements Comparable<Sbdf> {

    public Sbdf {
        check("segment", segment, 0xffff);
        check("bus", bus, 0xff);
        check("device", device, 0x1f);
        check("function", function, 7);
    }

    private static void check(String what, int value, int max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(
                    "PCI " + what + " 0x" + Integer.toHexString(value) + " out of range 0..0x" + Integer.toHexString(max));
        }
    }

    /** Segment 0 shortcut. */
    public static Sbdf of(int bus, int device, int function) {
        return new Sbdf(0, bus, device, function);
    }

    /** From a segment and an 8-bit {@code devfn} ({@code device << 3 | function}). */
    public static Sbdf ofDevfn(int segment, int bus, int devfn) {
        if (devfn < 0 || devfn > 0xff) {
            throw new IllegalArgumentException("PCI devfn 0x" + Integer.toHexString(devfn) + " out of range 0..0xff");
        }
        return new Sbdf(segment, bus, devfn >> 3, devfn & 7);
    }

    /** From Xen's packed 32-bit form ({@code seg << 16 | bus << 8 | devfn}). */
    public static Sbdf fromPacked(int sbdf) {
        return new Sbdf(sbdf >>> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f, sbdf & 7);
    }

    /**
     * Parses {@code ssss:bb:dd.f} or {@code bb:dd.f} (segment 0), hexadecimal, either case.
     * Strict: no blanks, no {@code 0x}, every component present.
     *
     * @throws IllegalArgumentException naming the bad component or the whole string
     */
    public static Sbdf parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("BDF string is null");
        }
        String[] colon = text.split(":", -1);
        if (colon.length < 2 || colon.length > 3) {
            throw new IllegalArgumentException("malformed BDF \"" + text + "\": expected [ssss:]bb:dd.f");
        }
        int segment = colon.length == 3 ? hex(text, "segment", colon[0], 4) : 0;
        int bus = hex(text, "bus", colon[colon.length - 2], 2);
        String devFn = colon[colon.length - 1];
        int dot = devFn.indexOf('.');
        if (dot < 0) {
            throw new IllegalArgumentException("malformed BDF \"" + text + "\": missing .function");
        }
        int device = hex(text, "device", devFn.substring(0, dot), 2);
        int function = hex(text, "function", devFn.substring(dot + 1), 1);
        try {
            return new Sbdf(segment, bus, device, function);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed BDF \"" + text + "\": " + e.getMessage(), e);
        }
    }

    private static int hex(String whole, String what, String digits, int maxDigits) {
        if (digits.isEmpty() || digits.length() > maxDigits) {
            throw new IllegalArgumentException("malformed BDF \"" + whole + "\": bad " + what + " \"" + digits + "\"");
        }
        int value = 0;
        for (int i = 0; i < digits.length(); i++) {
            int d = Character.digit(digits.charAt(i), 16);
            if (d < 0) {
                throw new IllegalArgumentException("malformed BDF \"" + whole + "\": bad " + what + " \"" + digits + "\"");
            }
            value = value << 4 | d;
        }
        return value;
    }

    /** {@code device << 3 | function}. */
    public int devfn() {
        return device << 3 | function;
    }

    /** {@code bus << 8 | devfn}: the 16-bit requester ID. */
    public int bdf() {
        return bus << 8 | devfn();
    }

    /** Xen's packed form {@code seg << 16 | bus << 8 | devfn}. */
    public int sbdf() {
        return segment << 16 | bdf();
    }

    /** The same device with another function number. */
    public Sbdf withFunction(int fn) {
        return new Sbdf(segment, bus, device, fn);
    }

    @Override
    public int compareTo(Sbdf o) {
        return Integer.compareUnsigned(sbdf(), o.sbdf());
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", segment, bus, device, function);
    }
}
