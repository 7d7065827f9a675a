package org.xenpci.libxl.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Parser for xl's {@code PCI_SPEC_STRING} (xl-pci-configuration(5)), with the behaviour of
 * {@code xlu_pci_parse_spec_string} in tools/libs/util/libxlu_pci.c ({@code parse_bdf},
 * {@code parse_vslot}): it accepts exactly what xl accepts, with the values xl computes,
 * glibc's {@code sscanf("%x")} leniency included ({@link ScanfHex}). It differs only where xl's
 * behaviour is undefined or where no xl input can reach it (docs/pci-spec-deviations.md).
 * {@link PciSpecLint} reports the lenient spellings.
 *
 * <p>Procedure (xlu_pci_parse_spec_string): try a positional BDF ({@code [DDDD:]BB:DD.F}), optionally followed by
 * {@code @VSLOT}, then a ',' or the end; if the positional BDF does not parse, the whole string is
 * read as {@code key=value} pairs instead. Keys are exact and case-sensitive; the last duplicate
 * wins; at the end exactly one of "a BDF was given" and "a name was given" must hold.
 *
 * <p>Numeric fields are read like glibc's {@code %x} on LP64: optional blanks, sign and
 * {@code 0x}/{@code 0X}, then hex digits, converted by {@code strtoul} and cut to 32 bits; the
 * range check applies to that value. Stateless and thread-safe.
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
        return new Run(spec, defaults, null).parse();
    }

    /** {@link #parse(String, PciDefaults)}, also adding the lenient spellings read to {@code lint}. */
    static PciSpec parse(String spec, PciDefaults defaults, List<PciSpecWarning> lint) {
        return new Run(spec, defaults, lint).parse();
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
        Bdf b = Bdf.parse(text, 0, text.length());
        if (b == null) {
            throw new PciSpecException(text, LibxlError.ERROR_INVAL, null, "malformed BDF");
        }
        return new PciSpec(b.func, b.dev, b.bus, b.domain, 0, b.vfuncMask, false, false, false, false,
                RdmReservePolicy.INVALID, Optional.empty(), true, false);
    }

    /** A BDF as parsed from position {@code start}; {@code end} is the index after the function. */
    private static final class Bdf {
        private static final String[] NAMES_1 = {"bus", "device"};
        private static final String[] NAMES_2 = {"domain", "bus", "device"};

        final int domain;
        final int bus;
        final int dev;
        final int func;
        final int vfuncMask;
        final int end;
        /** The numbers as read, for the lint: [domain,] bus, device[, function]. */
        final ScanfHex.Field[] fields;
        final String[] names;

        private Bdf(int domain, int bus, int dev, int func, int vfuncMask, int end, ScanfHex.Field[] fields,
                    String[] names) {
            this.domain = domain;
            this.bus = bus;
            this.dev = dev;
            this.func = func;
            this.vfuncMask = vfuncMask;
            this.end = end;
            this.fields = fields;
            this.names = names;
        }

        /**
         * libxlu_pci.c {@code parse_bdf} on {@code s[start, limit)}: returns null wherever that
         * function fails, and where its result is undefined (docs/pci-spec-deviations.md).
         */
        static Bdf parse(String s, int start, int limit) {
            // The leading run of hex digits and ':' decides the form: 1 colon is bus:dev, 2 are
            // domain:bus:dev. The numbers themselves are then read by %x, which may go past the
            // run (blanks, signs, 0x): "01:0x1f.0" is device 0x1f.
            int i = start;
            int colons = 0;
            while (i < limit && (Ascii.isHexDigit(s.charAt(i)) || s.charAt(i) == ':')) {
                if (s.charAt(i) == ':') {
                    colons++;
                }
                i++;
            }
            if (colons != 1 && colons != 2) {
                return null;
            }
            // sscanf("%x:%x.%n") or ("%x:%x:%x.%n"): each ':' must follow its number at once.
            ScanfHex.Field[] f = new ScanfHex.Field[colons + 2];
            int p = start;
            for (int k = 0; k <= colons; k++) {
                if (k > 0) {
                    if (p >= limit || s.charAt(p) != ':') {
                        return null; // sscanf returns fewer conversions: ERROR_INVAL
                    }
                    p++;
                }
                f[k] = ScanfHex.scan(s, p, limit);
                if (f[k] == null) {
                    return null;
                }
                p = f[k].end();
            }
            if (p >= limit || s.charAt(p) != '.') {
                // Every number converted but the '.' is missing ("01:00", "1:2 .0"): sscanf still
                // returns the full count, %n never runs and parse_bdf adds an uninitialised n.
                // Undefined behaviour upstream; rejected here (docs/pci-spec-deviations.md row 1).
                return null;
            }
            p++;
            long domain = colons == 2 ? f[0].unsigned() : 0;
            long bus = f[colons - 1].unsigned();
            long dev = f[colons].unsigned();
            if (domain > MAX_DOMAIN || bus > MAX_BUS || dev > MAX_DEV) {
                return null;
            }
            String[] names = colons == 2 ? NAMES_2 : NAMES_1;
            if (p < limit && s.charAt(p) == '*') {
                return new Bdf((int) domain, (int) bus, (int) dev, 0, PciSpec.FUNC_ALL, p + 1,
                        java.util.Arrays.copyOf(f, colons + 1), names);
            }
            ScanfHex.Field func = ScanfHex.scan(s, p, limit);
            if (func == null || func.unsigned() > MAX_FUNC) {
                return null;
            }
            f[colons + 1] = func;
            return new Bdf((int) domain, (int) bus, (int) dev, func.value(), 1, func.end(), f, names);
        }

        /** Adds the lenient spellings of the numbers read to {@code lint}. */
        void lint(Run run) {
            for (int k = 0; k < fields.length; k++) {
                run.lintField(fields[k], k < names.length ? names[k] : "function");
            }
        }
    }

    /** One parse: the libxl_device_pci being filled plus the two presence flags. */
    private static final class Run {
        private final String spec;
        /** Where lenient spellings go, or null when nobody asked. */
        private final List<PciSpecWarning> lint;
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

        Run(String spec, PciDefaults d, List<PciSpecWarning> lint) {
            this.spec = spec;
            this.lint = lint;
            this.msitranslate = d.msitranslate();
            this.powerMgmt = d.powerMgmt();
            this.permissive = d.permissive();
            this.seize = d.seize();
            this.rdmPolicy = d.rdmPolicy();
        }

        PciSpec parse() {
            if (spec.indexOf('\0') >= 0) {
                // No xl input delivers a NUL to the parser (docs/pci-spec-deviations.md row 2).
                throw inval("contains a NUL character");
            }
            int n = spec.length();
            int pos = 0;
            Bdf positional = Bdf.parse(spec, 0, n);
            if (positional != null) {
                setBdf(positional);
                pos = positional.end;
                if (pos < n && spec.charAt(pos) == '@') {
                    ScanfHex.Field v = vslot(pos + 1, n, "@vslot");
                    pos = v.end();
                }
                if (pos < n && spec.charAt(pos) == ',') {
                    pos++;
                } else if (pos < n) {
                    throw inval("unexpected '" + spec.charAt(pos) + "' at offset " + pos + " after the BDF");
                }
            }
            // xlu_pci_parse_spec_string, last step: the rest (or everything) as key=value pairs.
            while (pos < n) {
                int eq = spec.indexOf('=', pos);
                if (eq < 0) {
                    throw inval("no '=' in \"" + spec.substring(pos) + "\"");
                }
                String key = spec.substring(pos, eq);
                int comma = spec.indexOf(',', eq + 1);
                int valEnd = comma < 0 ? n : comma;
                pos = comma < 0 ? n : comma + 1;
                keyValue(key, eq + 1, valEnd);
            }
            if (bdfPresent == namePresent) {
                throw inval(bdfPresent ? "both a BDF and a name given" : "neither a BDF nor a name given");
            }
            return new PciSpec(func, dev, bus, domain, vdevfn, vfuncMask, msitranslate, powerMgmt, permissive,
                    seize, rdmPolicy, Optional.ofNullable(name), bdfPresent, namePresent);
        }

        /** One key=value element; the value is spec[valStart, valEnd). */
        private void keyValue(String key, int valStart, int valEnd) {
            String val = spec.substring(valStart, valEnd);
            switch (key) {
                case "bdf": {
                    Bdf b = Bdf.parse(spec, valStart, valEnd);
                    if (b == null) {
                        throw inval("malformed bdf= value \"" + val + "\"");
                    }
                    setBdf(b);
                    // parse_bdf is called without endp: text after the function is ignored
                    //, so bdf=01:00.0@5 gives no vslot.
                    ignored(b.end, valEnd, "after the bdf= function");
                    break;
                }
                case "vslot": {
                    // parse_vslot without endp: text after the number is ignored (libxlu_pci.c: parse_vslot).
                    ScanfHex.Field v = vslot(valStart, valEnd, "vslot=");
                    ignored(v.end(), valEnd, "after the vslot= number");
                    break;
                }
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
            if (lint != null) {
                b.lint(this);
            }
        }

        /** libxlu_pci.c parse_vslot on spec[start, limit): sets vdevfn = vslot << 3. */
        private ScanfHex.Field vslot(int start, int limit, String what) {
            ScanfHex.Field v = ScanfHex.scan(spec, start, limit);
            if (v == null) {
                throw inval("malformed " + what + " value");
            }
            if (v.unsigned() > MAX_DEV) {
                throw inval(what + " 0x" + Long.toHexString(v.unsigned()) + " is above 0x1f");
            }
            vdevfn = v.value() << 3;
            lintField(v, "vslot");
            return v;
        }

        /** Reports spec[from, to), which xl never reads, if not empty. */
        private void ignored(int from, int to, String where) {
            if (lint != null && from < to) {
                warn(from, PciSpecWarning.Kind.IGNORED_TEXT,
                        "`" + spec.substring(from, to) + "' " + where + " is ignored by xl");
            }
        }

        /** Reports the lenient spellings one %x conversion went through. */
        void lintField(ScanfHex.Field f, String what) {
            if (lint == null) {
                return;
            }
            String text = spec.substring(f.start(), f.end());
            if (f.blank()) {
                warn(f.start(), PciSpecWarning.Kind.BLANK,
                        "white space before the " + what + " number (`" + text + "'), skipped only by sscanf's %x");
            }
            if (f.signAt() >= 0) {
                warn(f.signAt(), PciSpecWarning.Kind.SIGN, spec.charAt(f.signAt()) == '-'
                        ? "'-' before the " + what + " number (`" + text + "'): strtoul negates it modulo 2^64"
                        : "'+' before the " + what + " number (`" + text + "'), accepted only by strtoul");
            }
            if (f.barePrefix()) {
                warn(f.prefixAt(), PciSpecWarning.Kind.BARE_HEX_PREFIX, "`"
                        + spec.substring(f.prefixAt(), f.prefixAt() + 2) + "' without digits as the " + what
                        + " number: glibc's %x reads it as 0 and consumes the x");
            } else if (f.prefixAt() >= 0) {
                warn(f.prefixAt(), PciSpecWarning.Kind.HEX_PREFIX, "`" + spec.substring(f.prefixAt(), f.prefixAt() + 2)
                        + "' prefix on the " + what + " number (`" + text + "'), read only by glibc's %x; the "
                        + "number is hex without it (" + Long.toHexString(f.unsigned()) + ")");
            }
            if (!f.exact()) {
                warn(f.numberAt(), PciSpecWarning.Kind.WRAPPED, "the " + what + " number `"
                        + spec.substring(f.numberAt(), f.end()) + "' is stored as 0x" + Long.toHexString(f.unsigned())
                        + " (strtoul to 64 bits, then cut to the 32-bit unsigned int)");
            }
        }

        private void warn(int offset, PciSpecWarning.Kind kind, String message) {
            lint.add(new PciSpecWarning(spec, offset, kind, message));
        }

        private PciSpecException inval(String detail) {
            return new PciSpecException(spec, LibxlError.ERROR_INVAL, null, detail);
        }
    }
}
