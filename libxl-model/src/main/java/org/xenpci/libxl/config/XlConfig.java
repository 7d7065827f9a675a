package org.xenpci.libxl.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * An xl domain configuration as xl's {@code parse_config_data} (tools/xl/xl_parse.c) leaves it,
 * for the keys the Arm PCI model needs, plus every raw setting. Immutable and thread-safe.
 *
 * <p>Interpreted keys: {@code name}, {@code type}, {@code memory}, {@code maxmem} (MiB),
 * {@code vcpus}, {@code maxvcpus}, {@code gic_version}, {@code vuart}, {@code passthrough},
 * {@code kernel}, {@code ramdisk}, {@code cmdline}, {@code root}, {@code extra}, {@code pci},
 * {@code pci_permissive}, {@code pci_msitranslate}, {@code pci_seize}, {@code pci_power_mgmt}.
 * Every other key is kept in {@link #settings()} and reported in {@link #warnings()} as
 * {@code Unknown key `KEY'}. Each accepted {@code pci} entry spelled in a way only glibc's
 * leniency accepts adds {@link PciSpecLint}'s warnings, as
 * {@code pci[I] `SPEC' at offset N: MESSAGE} (xl itself prints nothing for them).
 *
 * <p>Values are "as parsed", before libxl applies defaults, except {@link #type()} which xl
 * itself defaults to PVH on Arm. The {@code *Resolved} methods give the libxl defaults the
 * domain builder uses.
 *
 * @param fileName     config source name
 * @param settings     all settings by key (first-appearance order, final values)
 * @param warnings     non-fatal remarks in line order
 * @param name         {@code c_info.name}
 * @param type         {@code c_info.type}; {@link DomainType#PVH} when {@code type} is absent
 * @param memoryMib    {@code memory}, MiB
 * @param maxmemMib    {@code maxmem}, MiB
 * @param vcpus        {@code vcpus}
 * @param maxvcpus     {@code maxvcpus}
 * @param gicVersion   {@code arch_arm.gic_version} ({@link GicVersion#DEFAULT} if absent)
 * @param vuart        {@code arch_arm.vuart} ({@link VuartType#UNKNOWN} if absent)
 * @param passthrough  {@code c_info.passthrough} ({@link PassthroughMode#DEFAULT} if absent)
 * @param kernel       {@code b_info.kernel}
 * @param ramdisk      {@code b_info.ramdisk}
 * @param cmdline      {@code b_info.cmdline}, from {@code cmdline} or {@code root}/{@code extra}
 * @param pciDefaults  the global {@code pci_*} values applied to each device
 * @param pciDevices   {@code d_config->pcidevs} in config order
 */
public record XlConfig(String fileName, Map<String, XlSetting> settings, List<XlWarning> warnings,
                       Optional<String> name, DomainType type, OptionalLong memoryMib, OptionalLong maxmemMib,
                       OptionalInt vcpus, OptionalInt maxvcpus, GicVersion gicVersion, VuartType vuart,
                       PassthroughMode passthrough, Optional<String> kernel, Optional<String> ramdisk,
                       Optional<String> cmdline, PciDefaults pciDefaults, List<PciSpec> pciDevices) {

    /** Keys {@link #interpret} understands; all others produce an "Unknown key" warning. */
    public static final Set<String> INTERPRETED_KEYS = Set.of("name", "type", "memory", "maxmem", "vcpus",
            "maxvcpus", "gic_version", "vuart", "passthrough", "kernel", "ramdisk", "cmdline", "root", "extra",
            "pci", "pci_permissive", "pci_msitranslate", "pci_seize", "pci_power_mgmt");

    /** libxl's default {@code max_memkb} when neither memory nor maxmem is set (32 MiB). */
    public static final long LIBXL_DEFAULT_MEMKB = 32 * 1024;

    /** Copies the collections. */
    public XlConfig {
        Objects.requireNonNull(fileName, "fileName");
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        warnings = List.copyOf(warnings);
        pciDevices = List.copyOf(pciDevices);
    }

    /**
     * Parses config text; shorthand for {@link XlConfigParser#parse(String, String)}.
     *
     * @param text     file content
     * @param fileName name for messages
     * @return the config
     * @throws XlConfigException on a syntax error or a value xl would reject
     */
    public static XlConfig parse(String text, String fileName) {
        return XlConfigParser.parse(text, fileName);
    }

    /**
     * Returns {@code b_info.max_vcpus} after libxl defaulting: {@code maxvcpus}, else
     * {@code vcpus}, else 1.
     *
     * @return the number of vCPUs the guest DT describes
     */
    public int maxVcpusResolved() {
        return maxvcpus.orElse(vcpus.orElse(1));
    }

    /**
     * Returns {@code b_info.max_memkb} after libxl defaulting: {@code maxmem}, else
     * {@code memory}, else 32 MiB. On Arm this is also what the domain builder populates
     * (tools/libs/guest/xg_dom_arm.c).
     *
     * @return KiB
     */
    public long maxMemkbResolved() {
        if (maxmemMib.isPresent()) {
            return maxmemMib.getAsLong() * 1024;
        }
        return memoryMib.isPresent() ? memoryMib.getAsLong() * 1024 : LIBXL_DEFAULT_MEMKB;
    }

    /**
     * Returns the raw setting of a key.
     *
     * @param key the key
     * @return the setting, if present
     */
    public Optional<XlSetting> setting(String key) {
        return Optional.ofNullable(settings.get(key));
    }

    /**
     * Interprets raw settings as xl does.
     *
     * @param settings raw settings from {@link XlConfigParser#parseSettings(String, String)}
     * @param fileName name for messages
     * @return the config
     * @throws XlConfigException for a value xl would reject
     */
    public static XlConfig interpret(Map<String, XlSetting> settings, String fileName) {
        return new Interpreter(settings, fileName).run();
    }

    /** The key-by-key reading of xl_parse.c parse_config_data, for the keys listed above. */
    private static final class Interpreter {
        private final Map<String, XlSetting> settings;
        private final String fileName;

        Interpreter(Map<String, XlSetting> settings, String fileName) {
            this.settings = settings;
            this.fileName = fileName;
        }

        XlConfig run() {
            List<XlWarning> warnings = new ArrayList<>();
            for (XlSetting s : settings.values()) {
                if (!INTERPRETED_KEYS.contains(s.name())) {
                    String msg = "Unknown key `" + s.name() + "'";
                    if (s.name().equals("pci_rdm_policy")) {
                        msg += " (xl has no such key; the per-device rdm_policy default is strict on Arm)";
                    }
                    warnings.add(new XlWarning(fileName, s.line(), msg));
                }
            }

            Optional<String> name = string("name");
            DomainType type = string("type").map(t -> DomainType.fromLibxlName(t)
                    .filter(d -> d != DomainType.INVALID)
                    .orElseThrow(() -> fail("type", "Invalid domain type " + t + ".")))
                    // xl_parse.c: an Arm config without type= is PVH.
                    .orElse(DomainType.PVH);
            OptionalLong memory = positive("memory");
            OptionalLong maxmem = positive("maxmem");
            OptionalInt vcpus = positiveInt("vcpus");
            OptionalInt maxvcpus = positiveInt("maxvcpus");
            GicVersion gic = string("gic_version").map(g -> GicVersion.fromLibxlName(g)
                    .orElseThrow(() -> fail("gic_version", "Unknown gic_version \"" + g + "\" specified")))
                    .orElse(GicVersion.DEFAULT);
            VuartType vuart = string("vuart").map(v -> VuartType.fromLibxlName(v)
                    .orElseThrow(() -> fail("vuart", "invalid value \"" + v + "\" for \"vuart\"")))
                    .orElse(VuartType.UNKNOWN);
            PassthroughMode pt = string("passthrough").map(p -> PassthroughMode.fromLibxlName(p)
                    .orElseThrow(() -> fail("passthrough", "unknown passthrough option '" + p + "'")))
                    .orElse(PassthroughMode.DEFAULT);
            Optional<String> kernel = string("kernel");
            Optional<String> ramdisk = string("ramdisk");
            Optional<String> cmdline = cmdline();

            PciDefaults defaults = new PciDefaults(flag("pci_msitranslate"), flag("pci_power_mgmt"),
                    flag("pci_permissive"), flag("pci_seize"), RdmReservePolicy.STRICT);
            List<PciSpec> pcis = pci(defaults, warnings);
            // Stable: on one line, unknown-key warnings come before pci= lint warnings.
            warnings.sort((a, b) -> Integer.compare(a.line(), b.line()));
            return new XlConfig(fileName, settings, warnings, name, type, memory, maxmem, vcpus, maxvcpus, gic,
                    vuart, pt, kernel, ramdisk, cmdline, defaults, pcis);
        }

        /** xl_parse.c parse_cmdline: cmdline wins over root/extra; else "root=R E". */
        private Optional<String> cmdline() {
            Optional<String> cmdline = string("cmdline");
            Optional<String> root = string("root");
            Optional<String> extra = string("extra");
            if (cmdline.isPresent()) {
                return cmdline;
            }
            if (root.isPresent()) {
                return Optional.of("root=" + root.get() + extra.map(e -> " " + e).orElse(""));
            }
            return extra;
        }

        /** The pci= list; adds PciSpecLint's findings for each accepted entry to {@code warnings}. */
        private List<PciSpec> pci(PciDefaults defaults, List<XlWarning> warnings) {
            XlSetting s = settings.get("pci");
            if (s == null) {
                return List.of();
            }
            if (!(s.value() instanceof XlValue.ListValue)) {
                throw fail("pci", "parameter `pci' is a single value but should be a list");
            }
            List<PciSpec> out = new ArrayList<>();
            List<XlValue> items = ((XlValue.ListValue) s.value()).items();
            for (int i = 0; i < items.size(); i++) {
                XlValue item = items.get(i);
                if (!(item instanceof XlValue.Atom)) {
                    throw new XlConfigException(fileName, item.line(), item.column(),
                            "pci list item " + i + " is a list but should be a PCI_SPEC_STRING", null);
                }
                String text = ((XlValue.Atom) item).text();
                try {
                    out.add(PciSpecParser.parse(text, defaults));
                    for (PciSpecWarning w : PciSpecLint.warnings(text)) {
                        warnings.add(new XlWarning(fileName, item.line(), "pci[" + i + "] `" + text + "' at offset "
                                + w.offset() + ": " + w.message()));
                    }
                } catch (PciSpecException e) {
                    throw new XlConfigException(fileName, item.line(), item.column(),
                            "unable to parse PCI_SPEC_STRING `" + text + "' for passthrough ("
                                    + e.xlMessage().orElse(LibxlError.name(e.code())) + ")", e);
                }
            }
            return out;
        }

        private Optional<String> string(String key) {
            XlSetting s = settings.get(key);
            if (s == null) {
                return Optional.empty();
            }
            if (!(s.value() instanceof XlValue.Atom)) {
                throw fail(key, "parameter `" + key + "' is a list but should be a single value");
            }
            return Optional.of(((XlValue.Atom) s.value()).text());
        }

        /** xlu_cfg_get_long: strtol base 0 over the whole text; {@code +=} refused. */
        private OptionalLong number(String key) {
            XlSetting s = settings.get(key);
            if (s == null) {
                return OptionalLong.empty();
            }
            if (s.append()) {
                throw fail(key, "can't use += with numbers for parameter `" + key + "'");
            }
            String text = string(key).orElseThrow();
            try {
                return OptionalLong.of(Strtol.parseBase0(text));
            } catch (ArithmeticException e) {
                throw fail(key, "parameter `" + key + "' could not be parsed as a number: Numerical result out of range");
            } catch (NumberFormatException e) {
                throw fail(key, "parameter `" + key + "' is not a valid number");
            }
        }

        private OptionalLong positive(String key) {
            OptionalLong v = number(key);
            if (v.isPresent() && v.getAsLong() < 1) {
                throw fail(key, "value `" + v.getAsLong() + "' is smaller than minimum bound '1'");
            }
            // MiB to KiB must not overflow.
            if (v.isPresent() && v.getAsLong() > Long.MAX_VALUE / 1024) {
                throw fail(key, "value `" + v.getAsLong() + "' is greater than maximum bound '"
                        + Long.MAX_VALUE / 1024 + "'");
            }
            return v;
        }

        private OptionalInt positiveInt(String key) {
            OptionalLong v = positive(key);
            if (v.isPresent() && v.getAsLong() > Integer.MAX_VALUE) {
                throw fail(key, "value `" + v.getAsLong() + "' is greater than maximum bound '" + Integer.MAX_VALUE + "'");
            }
            return v.isPresent() ? OptionalInt.of((int) v.getAsLong()) : OptionalInt.empty();
        }

        /** A pci_* global: xl stores the long in an int, then into a C bool. */
        private boolean flag(String key) {
            OptionalLong v = number(key);
            return v.isPresent() && (int) v.getAsLong() != 0;
        }

        private XlConfigException fail(String key, String reason) {
            return new XlConfigException(fileName, settings.get(key).line(), 0, reason, null);
        }
    }
}
