package org.xenpci.libxl.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.testkit.FuzzRun;
import org.xenpci.core.testkit.Mutator;

/**
 * What a user types for xl: seeded mutations of real {@code PCI_SPEC_STRING}s and xl.cfg files
 * either parse or fail with the input's typed error ({@link PciSpecException} with libxl's
 * ERROR_INVAL or ERROR_FAIL; {@link XlConfigException} naming file and line), never anything
 * else, in bounded time and memory.
 *
 * <p>Seeds: the spec strings of xl.cfg(5), docs/pci-spec-deviations.md and the parser tests
 * (glibc-lenient spellings included, and {@link PciSpecLint} run on every spec);
 * the built-in demo guest config and the configs the toolstack tests use. Mutations: the generic
 * text ones of {@link Mutator} (boundary numbers, duplicated or removed lines, overlong tokens,
 * unicode, NULs, CRs, splices), plus key=value-aware ones for specs (a key duplicated, removed or
 * given a boundary value) and list nesting thousands deep and huge values for xl.cfg.
 *
 * <p>Long runs: {@code ./mvnw -B verify -pl libxl-model -am -Dtest=XlInputFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dxenpci.fuzz.pcispec.iterations=1000000
 * -Dxenpci.fuzz.xlcfg.iterations=1000000}.
 */
class XlInputFuzzTest {
    static final long TIME_LIMIT_MS = 200;
    static final long ALLOC_LIMIT = 32L << 20;

    static final List<String> SPECS = List.of("0000:01:00.0", "01:00.0", "1:2.3", "0001:02:1f.7", "01:00.*",
            "0001:02:1f.7@3,seize=1,permissive=1,msitranslate=1,power_mgmt=1,rdm_policy=relaxed",
            "01:00.0,permissive=0,rdm_policy=strict,seize=no", "bdf=01:00.0,vslot=3", "bdf=01:00.0@5", "name=nic0",
            "name=nic0,vslot=1f", "01:00.0@1f", "36:00.0@20", "01:00.0,", ",,permissive=1", "vslot=3zz,bdf=02:00.1",
            "01:00.0,rdm_policy=invalid", "0000:00:02.0", "0000:00:01.0", "01:00.0,power_mgmt=4294967296",
            "01:00.0,permissive=99999999999999999999", "03:0x1f.0", "01:00. 3@ 0x1f,seize=1",
            "1:-ffffffffffffffff.0", "bdf=01:00.0x7,vslot=+3");

    static final List<String> CONFIGS = List.of(demoGuest(),
            "name = \"g1\"\nmemory = 512\nvcpus = 1\npci = [ \"0000:01:00.0\" ]\n",
            "name = \"a\"\ntype = \"pvh\"\nmaxmem = 2048\nmaxvcpus = 4\nvuart = \"sbsa_uart\"\npassthrough = \"enabled\"\n"
                    + "pci_permissive = 1\npci_seize = 1\npci = [ \"01:00.0\", \"02:00.0,seize=0\" ]\n",
            "name='b'; memory=0x400; vcpus=2 # comment\ncmdline = \"console=hvc0\\n\"\nextra += \" quiet\"\n"
                    + "pci = [\n  \"0001:02:1f.7@3,seize=1,permissive=1,msitranslate=1,power_mgmt=1,rdm_policy=relaxed\",\n]\n",
            "kernel = \"Image\"\nramdisk = \"initrd\"\nroot = \"/dev/xvda\"\nextra = \"rw\"\nlist = [ [ 1, 2 ], \"x\" ]\n");

    @Test
    @DisplayName("mutated PCI_SPEC_STRINGs parse or fail with PciSpecException (ERROR_INVAL or ERROR_FAIL)")
    void pciSpecStrings() {
        FuzzRun run = new FuzzRun("pcispec", 0x5bdf_0001L, 10_000, t -> {
            if (!(t instanceof PciSpecException p)) {
                return "undocumented " + t.getClass().getName();
            }
            return p.code() == LibxlError.ERROR_INVAL || p.code() == LibxlError.ERROR_FAIL ? null : "code " + p.code();
        }, TIME_LIMIT_MS, ALLOC_LIMIT);
        Random rnd = new Random(run.seed());
        Mutator m = new Mutator(rnd);
        run.runAll(i -> {
            String spec = mutateSpec(SPECS.get(i % SPECS.size()), m);
            PciDefaults defaults = new PciDefaults(rnd.nextBoolean(), rnd.nextBoolean(), rnd.nextBoolean(),
                    rnd.nextBoolean(), RdmReservePolicy.STRICT);
            return new FuzzRun.Labelled("spec of " + spec.length() + " chars", () -> {
                // The lint reads every spec the parser does and never throws.
                PciSpecLint.warnings(spec);
                PciSpecParser.parse(spec, defaults);
            });
        });
        run.assertClean();
        assertThat(run.outcomes()).containsKeys("loaded", "PciSpecException");
    }

    @Test
    @DisplayName("mutated xl.cfg files parse or fail with XlConfigException naming the file and line")
    void xlConfigs() {
        FuzzRun run = new FuzzRun("xlcfg", 0x0c_f001L, 10_000, t -> {
            if (!(t instanceof XlConfigException x)) {
                return "undocumented " + t.getClass().getName();
            }
            return x.fileName().equals("fuzz.cfg") && x.line() >= 1 && x.getMessage().startsWith("fuzz.cfg:" + x.line() + ":")
                    ? null : "does not name file and line: " + x.getMessage();
        }, TIME_LIMIT_MS, ALLOC_LIMIT);
        Random rnd = new Random(run.seed());
        Mutator m = new Mutator(rnd);
        run.runAll(i -> {
            String cfg = mutateConfig(CONFIGS.get(i % CONFIGS.size()), m);
            return new FuzzRun.Labelled("config of " + cfg.length() + " chars", () -> XlConfig.parse(cfg, "fuzz.cfg"));
        });
        run.assertClean();
        assertThat(run.outcomes()).containsKeys("loaded", "XlConfigException", "XlConfigException/PciSpecException");
    }

    private static final List<String> KEYS = List.of("bdf", "name", "vslot", "permissive", "seize", "msitranslate",
            "power_mgmt", "rdm_policy", "rdm", "Bdf", "");

    static String mutateSpec(String spec, Mutator m) {
        Random rnd = m.random();
        switch (rnd.nextInt(4)) {
            case 0: { // key=value aware: duplicate, remove, add an element or give it a boundary value
                List<String> parts = new ArrayList<>(List.of(spec.split(",", -1)));
                int i = rnd.nextInt(parts.size());
                switch (rnd.nextInt(4)) {
                    case 0 -> parts.add(i, parts.get(i));
                    case 1 -> parts.remove(i);
                    case 2 -> parts.add(rnd.nextInt(parts.size() + 1), m.pick(KEYS) + "=" + m.pick(Mutator.NUMBERS));
                    default -> parts.add(rnd.nextInt(parts.size() + 1), m.pick(KEYS) + "=" + m.pick(SPECS));
                }
                return String.join(",", parts);
            }
            case 1:
                return m.replaceNumber(spec);
            default:
                return m.text(spec, SPECS);
        }
    }

    static String mutateConfig(String cfg, Mutator m) {
        Random rnd = m.random();
        switch (rnd.nextInt(6)) {
            case 0: { // lists nested thousands deep, closed or not
                int depth = 1 + rnd.nextInt(rnd.nextBoolean() ? 100 : 50_000);
                String v = "[".repeat(depth) + (rnd.nextBoolean() ? "\"01:00.0\"" + "]".repeat(depth) : "");
                return cfg + m.pick(List.of("pci", "x", "name", "memory")) + " = " + v + "\n";
            }
            case 1: { // an interpreted key with a boundary value, a string, a list or +=
                String key = m.pick(List.copyOf(XlConfig.INTERPRETED_KEYS));
                String v = m.pick(List.of(m.pick(Mutator.NUMBERS), "\"" + m.pick(Mutator.NUMBERS) + "\"", "[ 1 ]",
                        "\"" + m.pick(SPECS) + "\"", "[ \"" + m.pick(SPECS) + "\" ]", "\"" + "9".repeat(rnd.nextInt(100_000)) + "\""));
                return cfg + key + (rnd.nextInt(4) == 0 ? " += " : " = ") + v + "\n";
            }
            case 2: { // a pci entry mutated as a spec
                return cfg + "pci = [ \"" + mutateSpec(m.pick(SPECS), m).replace("\"", "") + "\" ]\n";
            }
            default:
                return m.text(cfg, CONFIGS);
        }
    }

    private static String demoGuest() {
        try (InputStream in = XlInputFuzzTest.class.getResourceAsStream("/org/xenpci/libxl/demo/demo-guest.cfg")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
