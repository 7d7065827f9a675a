package org.xenpci.libxl.config;

import java.util.Objects;
import java.util.Optional;

/**
 * Parser for xl's {@code PCI_SPEC_STRING} (xl-pci-configuration(5)), with the behaviour of
 * {@code xlu_pci_parse_spec_string} in tools/libs/util/libxlu_pci.c as described in
 * tools/libs/util/libxlu_pci.c, made strict where the real parser relies on {@code sscanf}
 * leniency or undefined behaviour. Every deliberate difference is listed in
 * docs/pci-spec-deviations.md.
 *
 * <p>Procedure (xlu_pci_parse_spec_string): try a positional BDF ({@code [DDDD:]BB:DD.F}), optionally followed by
 * {@code @VSLOT}, then a ',' or the end; if the positional BDF does not parse, the whole string is
 * read as {@code key=value} pairs instead. Keys are exact and case-sensitive; the last duplicate
 * wins; at the end exactly one of "a BDF was given" and "a name was given" must hold.
 *
 * <p>Strict numeric fields: 1 or more ASCII hex digits, nothing else (no {@code 0x} prefix,
 * blanks or sign), value within the field's range. Stateless and thread-safe.
 */
public final class PciSpecParser {
    /** Largest domain (segment) number. */
    private static final int MAX_DOMAIN = 0xffff;
    /** Largest bus number. */
    private static final int MAX_BUS = 0xff;
    /** Largest device and vslot number. */
    private static final int MAX_DEV = 0x1f;
    /** Largest function number. */
    private static final int MAX_FUNC = 7;

    private PciSpecParser() {
    }

    /**
     * Parses a spec with xl's Arm defaults ({@link PciDefaults#ARM}).
     *
     * @param spec the string, e.g. {@code 0000:01:00.0@3,seize=1}
     * @return the parsed device
     * @throws PciSpecException with libxl's error code when the string is rejected
     */
    public static PciSpec parse(String spec) {
        return parse(spec, PciDefaults.ARM);
    }

    /**
     * Parses a spec on top of the global defaults, as xl does for each {@code pci=} entry: the
     * defaults are applied first, per-device keys override them, as tools/xl/xl_parse.c does.
     *
     * @param spec     the string
     * @param defaults the global {@code pci_*} values
     * @return the parsed device
     * @throws PciSpecException with libxl's error code when the string is rejected
     */
    public static PciSpec parse(String spec, PciDefaults defaults) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(defaults, "defaults");
        return new Run(spec, defaults).parse();
    }

    /**
     * Parses only a BDF, as {@code xlu_pci_parse_bdf} does for {@code xl pci-assignable-add}:
     * text after the function is ignored.
     *
     * @param text e.g. {@code 0000:01:00.0}
     * @return a spec with the BDF fields set, {@code vfuncMask} 1 or {@link PciSpec#FUNC_ALL}
     * @throws PciSpecException with {@link LibxlError#ERROR_INVAL} if no BDF parses
     */
    public static PciSpec parseBdf(String text) {
        Objects.requireNonNull(text, "text");
        Bdf b = Bdf.parse(text, 0);
        if (b == null) {
            throw new PciSpecException(text, LibxlError.ERROR_INVAL, null, "malformed BDF");
        }
        return new PciSpec(b.func, b.dev, b.bus, b.domain, 0, b.vfuncMask, false, false, false, false,
                RdmReservePolicy.INVALID, Optional.empty(), true, false);
    }

    /** A BDF as parsed from position {@code start}; {@code end} is the index after the function. */
    private static final class Bdf {
        final int domain;
        final int bus;
        final int dev;
        final int func;
        final int vfuncMask;
        final int end;

        private Bdf(int domain, int bus, int dev, int func, int vfuncMask, int end) {
            this.domain = domain;
            this.bus = bus;
            this.dev = dev;
            this.func = func;
            this.vfuncMask = vfuncMask;
            this.end = end;
        }

        /**
         * The strict counterpart of libxlu_pci.c {@code parse_bdf}: returns null wherever that
         * function fails, and also where it would only succeed through sscanf leniency or
         * undefined behaviour (docs/pci-spec-deviations.md).
         */
        static Bdf parse(String s, int start) {
            // xlu_pci_parse_spec_string, first step: the leading run of hex digits and ':' decides the form.
            int i = start;
            int colons = 0;
            while (i < s.length() && (Ascii.isHexDigit(s.charAt(i)) || s.charAt(i) == ':')) {
                if (s.charAt(i) == ':') {
                    colons++;
                }
                i++;
            }
            // The run must be followed by '.', else there is no function (01:00 is undefined
            // behaviour upstream; rejected here).
            if ((colons != 1 && colons != 2) || i >= s.length() || s.charAt(i) != '.') {
                return null;
            }
            String[] parts = s.substring(start, i).split(":", -1);
            long[] v = new long[parts.length];
            for (int k = 0; k < parts.length; k++) {
                v[k] = hexField(parts[k]);
                if (v[k] < 0) {
                    return null;
                }
            }
            long domain = colons == 2 ? v[0] : 0;
            long bus = v[colons - 1];
            long dev = v[colons];
            if (domain > MAX_DOMAIN || bus > MAX_BUS || dev > MAX_DEV) {
                return null;
            }
            i++; // the '.'
            if (i < s.length() && s.charAt(i) == '*') {
                return new Bdf((int) domain, (int) bus, (int) dev, 0, PciSpec.FUNC_ALL, i + 1);
            }
            int digitsEnd = hexRunEnd(s, i);
            if (digitsEnd == i || zeroXPrefix(s, i, digitsEnd)) {
                return null;
            }
            long func = hexField(s.substring(i, digitsEnd));
            if (func < 0 || func > MAX_FUNC) {
                return null;
            }
            return new Bdf((int) domain, (int) bus, (int) dev, (int) func, 1, digitsEnd);
        }
    }

    /** One parse: the libxl_device_pci being filled plus the two presence flags. */
    private static final class Run {
        private final String spec;
        private int func;
        private int dev;
        private int bus;
        private int domain;
        private int vdevfn;
        private int vfuncMask;
        private boolean msitranslate;
        private boolean powerMgmt;
        private boolean permissive;
        private boolean seize;
        private RdmReservePolicy rdmPolicy;
        private String name;
        private boolean bdfPresent;
        private boolean namePresent;

        Run(String spec, PciDefaults d) {
            this.spec = spec;
            this.msitranslate = d.msitranslate();
            this.powerMgmt = d.powerMgmt();
            this.permissive = d.permissive();
            this.seize = d.seize();
            this.rdmPolicy = d.rdmPolicy();
        }

        PciSpec parse() {
            if (spec.indexOf('\0') >= 0) {
                // A C string would end at the NUL; refuse instead of silently truncating.
                throw inval("contains a NUL character");
            }
            int pos = 0;
            Bdf positional = Bdf.parse(spec, 0);
            if (positional != null) {
                setBdf(positional);
                pos = positional.end;
                if (pos < spec.length() && spec.charAt(pos) == '@') {
                    int end = hexRunEnd(spec, pos + 1);
                    vdevfn = vslot(pos + 1, end, true);
                    pos = end;
                }
                if (pos < spec.length() && spec.charAt(pos) == ',') {
                    pos++;
                } else if (pos < spec.length()) {
                    throw inval("unexpected '" + spec.charAt(pos) + "' at offset " + pos + " after the BDF");
                }
            }
            // xlu_pci_parse_spec_string, last step: the rest (or everything) as key=value pairs.
            while (pos < spec.length()) {
                int eq = spec.indexOf('=', pos);
                if (eq < 0) {
                    throw inval("no '=' in \"" + spec.substring(pos) + "\"");
                }
                String key = spec.substring(pos, eq);
                int comma = spec.indexOf(',', eq + 1);
                int valEnd = comma < 0 ? spec.length() : comma;
                String val = spec.substring(eq + 1, valEnd);
                pos = comma < 0 ? spec.length() : comma + 1;
                keyValue(key, val, eq + 1);
            }
            if (bdfPresent == namePresent) {
                throw inval(bdfPresent ? "both a BDF and a name given" : "neither a BDF nor a name given");
            }
            return new PciSpec(func, dev, bus, domain, vdevfn, vfuncMask, msitranslate, powerMgmt, permissive,
                    seize, rdmPolicy, Optional.ofNullable(name), bdfPresent, namePresent);
        }

        private void keyValue(String key, String val, int valStart) {
            switch (key) {
                case "bdf": {
                    // Text after the function (e.g. "@5") is ignored, as upstream (libxlu_pci.c: parse_bdf).
                    Bdf b = Bdf.parse(val, 0);
                    if (b == null) {
                        throw inval("malformed bdf= value \"" + val + "\"");
                    }
                    setBdf(b);
                    break;
                }
                case "vslot":
                    // Text after the hex number is ignored, as upstream (libxlu_pci.c: parse_bdf).
                    vdevfn = vslot(valStart, valStart + hexRunEnd(val, 0), false);
                    break;
                case "permissive":
                    permissive = Ascii.atoi(val) != 0;
                    break;
                case "msitranslate":
                    msitranslate = Ascii.atoi(val) != 0;
                    break;
                case "seize":
                    seize = Ascii.atoi(val) != 0;
                    break;
                case "power_mgmt":
                    powerMgmt = Ascii.atoi(val) != 0;
                    break;
                case "rdm_policy": {
                    Optional<RdmReservePolicy> p = RdmReservePolicy.fromLibxlName(val);
                    if (p.isEmpty()) {
                        // libxl's enum lookup fails with ERROR_FAIL and xl passes it through.
                        throw new PciSpecException(spec, LibxlError.ERROR_FAIL, "Unknown RDM policy: " + val,
                                "unknown RDM policy");
                    }
                    rdmPolicy = p.get();
                    break;
                }
                case "name":
                    name = val;
                    namePresent = true;
                    break;
                default:
                    throw new PciSpecException(spec, LibxlError.ERROR_INVAL,
                            "Unknown PCI_SPEC_STRING option: " + key, "unknown option");
            }
        }

        private void setBdf(Bdf b) {
            domain = b.domain;
            bus = b.bus;
            dev = b.dev;
            func = b.func;
            vfuncMask = b.vfuncMask;
            bdfPresent = true;
        }

        /** Parses the vslot digits spec[start, end) and returns {@code vdevfn = vslot << 3}. */
        private int vslot(int start, int end, boolean positional) {
            String what = positional ? "@vslot" : "vslot=";
            if (end == start || zeroXPrefix(spec, start, end)) {
                throw inval("malformed " + what + " value");
            }
            long v = hexField(spec.substring(start, end));
            if (v < 0 || v > MAX_DEV) {
                throw inval(what + " 0x" + spec.substring(start, end) + " is above 0x1f");
            }
            return (int) v << 3;
        }

        private PciSpecException inval(String detail) {
            return new PciSpecException(spec, LibxlError.ERROR_INVAL, null, detail);
        }
    }

    /** Index after the run of hex digits starting at {@code i}. */
    private static int hexRunEnd(String s, int i) {
        int j = i;
        while (j < s.length() && Ascii.isHexDigit(s.charAt(j))) {
            j++;
        }
        return j;
    }

    /**
     * True when digits s[start, end) are a lone "0" followed by 'x'/'X': the "0x" prefix sscanf's
     * %x would accept (and consume even without digits after it). Rejected: docs/pci-spec-deviations.md.
     */
    private static boolean zeroXPrefix(String s, int start, int end) {
        return end == start + 1 && s.charAt(start) == '0' && end < s.length()
                && (s.charAt(end) == 'x' || s.charAt(end) == 'X');
    }

    /**
     * Value of a strict hex field: 1+ hex digits (any number of leading zeros), or -1 if empty,
     * not all hex digits, or above 0xffffffff (upstream would truncate silently).
     */
    private static long hexField(String digits) {
        if (digits.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int k = 0; k < digits.length(); k++) {
            char c = digits.charAt(k);
            if (!Ascii.isHexDigit(c)) {
                return -1;
            }
            v = (v << 4) | Ascii.hexValue(c);
            if (v > 0xffffffffL) {
                return -1;
            }
        }
        return v;
    }
}
