package org.xenpci.armpci.hw.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.testkit.FuzzRun;
import org.xenpci.core.testkit.Mutator;

/**
 * Config dumps: seeded mutations of the catalog's real {@code lspci -xxxx} texts and of their
 * binary images either parse (and then build a {@link PciFunction}, or are refused by it) or
 * fail with {@link ConfigDumpException} (the text or length) or {@link HardwareConfigException}
 * (what the bytes describe: header type, BARs, capabilities); nothing else, in bounded time and
 * memory.
 *
 * <p>Mutations: the generic text and byte ones of {@link Mutator}, plus dump-aware ones: a data
 * line's offset at a boundary ({@code 00}, {@code ff}, {@code 100}, {@code ff0}, {@code fff},
 * 4 digits), a token that is not a byte, header-line floods (a device per line), capability
 * pointers aimed at each other and at the end of the space, BAR sizes at boundaries.
 *
 * <p>Long run: {@code ./mvnw -B verify -pl arm-pci -am -Dtest=ConfigDumpFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dxenpci.fuzz.dump.iterations=1000000}.
 */
class ConfigDumpFuzzTest {
    static final long SEED = 0xd0_0fe11L;
    static final int ITERATIONS = 10_000;
    static final long TIME_LIMIT_MS = 200;
    /** Linear in the text: about 250 bytes per header line (each a 256-byte image); fuzzed texts reach 150 KB. */
    static final long ALLOC_LIMIT = 64L << 20;

    private static final List<String> OFFSETS = List.of("00", "0f", "ff", "100", "ff0", "ff1", "fff", "1000", "0", "g0");
    private static final long[] SIZES = {0, 1, 4, 8, 16, 0x800, 0x1000, 1L << 31, 1L << 32, 1L << 62, Long.MIN_VALUE, -1,
            3, 0x4000, 8L << 30};

    @Test
    @DisplayName("mutated catalog dumps parse, or fail with ConfigDumpException or HardwareConfigException")
    void mutatedDumps() {
        List<String> texts = new ArrayList<>();
        List<byte[]> images = new ArrayList<>();
        Map<String, Map<Integer, Long>> barsOf = new LinkedHashMap<>();
        for (DeviceCatalog d : DeviceCatalog.values()) {
            texts.add(resource(d.resource()));
            images.add(d.dump().config());
            barsOf.put(d.name(), d.barSizes());
        }
        List<Map<Integer, Long>> bars = new ArrayList<>(barsOf.values());
        FuzzRun run = new FuzzRun("dump", SEED, ITERATIONS, ConfigDumpFuzzTest::undocumented, TIME_LIMIT_MS, ALLOC_LIMIT);
        Random rnd = new Random(run.seed());
        Mutator m = new Mutator(rnd);
        run.runAll(i -> {
            int s = i % texts.size();
            Map<Integer, Long> barSizes = rnd.nextInt(4) == 0 ? mutateBars(bars.get(s), rnd) : bars.get(s);
            long rom = rnd.nextInt(8) == 0 ? SIZES[rnd.nextInt(SIZES.length)] : 0;
            if (rnd.nextInt(3) == 0) {
                byte[] img = mutateImage(images.get(s), images, m);
                return new FuzzRun.Labelled("binary of seed " + s + ", " + img.length + " bytes", () -> {
                    byte[] config = ConfigDumps.readBinary(img);
                    PciFunction.fromConfig(config, barSizes, rom);
                });
            }
            String text = mutateText(texts.get(s), texts, m);
            boolean all = rnd.nextBoolean();
            return new FuzzRun.Labelled("text of seed " + s + (all ? ", all devices" : ", one device") + ", "
                    + text.length() + " chars", () -> {
                if (all) {
                    List<LspciDump> dumps = ConfigDumps.parseLspciAll(text);
                    // The function model is fuzzed through the first few (a flood has thousands).
                    for (LspciDump d : dumps.subList(0, Math.min(4, dumps.size()))) {
                        PciFunction.fromConfig(d.config(), barSizes, rom);
                    }
                } else {
                    PciFunction.fromConfig(ConfigDumps.parseLspci(text), barSizes, rom);
                }
            });
        });
        run.assertClean();
        assertThat(run.outcomes()).containsKeys("loaded", "ConfigDumpException", "HardwareConfigException");
    }

    static String undocumented(Throwable t) {
        return t instanceof HardwareConfigException ? null : "undocumented " + t.getClass().getName();
    }

    private static String mutateText(String text, List<String> texts, Mutator m) {
        Random rnd = m.random();
        switch (rnd.nextInt(5)) {
            case 0: { // a data line's offset at a boundary
                String[] lines = text.split("\n", -1);
                int i = rnd.nextInt(lines.length);
                int colon = lines[i].indexOf(':');
                if (colon > 0 && colon <= 4) {
                    lines[i] = m.pick(OFFSETS) + lines[i].substring(colon);
                }
                return String.join("\n", lines);
            }
            case 1: { // a token that is not a byte
                String[] lines = text.split("\n", -1);
                int i = rnd.nextInt(lines.length);
                lines[i] = lines[i].replaceFirst(" [0-9a-f]{2}", " " + m.pick(List.of("0", "100", "-1", "zz", "0x1", "fff", "\u0660\u0661")));
                return String.join("\n", lines);
            }
            case 2: { // a flood of header lines (one device each)
                int n = 1 + rnd.nextInt(rnd.nextBoolean() ? 10 : 5000);
                return "00:01.0 x\n".repeat(n) + text;
            }
            default:
                return m.text(text, texts);
        }
    }

    private static byte[] mutateImage(byte[] img, List<byte[]> images, Mutator m) {
        Random rnd = m.random();
        if (rnd.nextInt(3) == 0) { // capability pointers: loops, the end of the space, the header
            byte[] b = img.clone();
            int[] targets = {0, 0x34, 0x40, 0x3c, 0xfc, 0xfd, 0xff, 0x50, 0x60};
            int at = rnd.nextBoolean() ? 0x34 : 0x40 + rnd.nextInt(0xc0) + 1;
            if (at < b.length) {
                b[at] = (byte) targets[rnd.nextInt(targets.length)];
            }
            if (b.length == 4096 && rnd.nextBoolean()) { // an extended capability header anywhere
                int off = 0x100 + 4 * rnd.nextInt(0x3c0);
                Mutator.putWordBe(b, off, Mutator.WORDS[rnd.nextInt(Mutator.WORDS.length)]);
            }
            return b;
        }
        byte[] b = m.bytes(img, images);
        // Keep the length legal most of the time, so the bytes reach the function model.
        if (rnd.nextInt(4) != 0 && b.length != 256 && b.length != 4096) {
            b = java.util.Arrays.copyOf(b, b.length < 256 ? 256 : 4096);
        }
        return b;
    }

    private static Map<Integer, Long> mutateBars(Map<Integer, Long> bars, Random rnd) {
        Map<Integer, Long> out = new LinkedHashMap<>(bars);
        int idx = rnd.nextInt(9) - 1; // -1 .. 7
        if (rnd.nextInt(4) == 0) {
            out.remove(idx);
        } else {
            out.put(idx, SIZES[rnd.nextInt(SIZES.length)]);
        }
        return out;
    }

    private static String resource(String name) {
        try (InputStream in = DeviceCatalog.class.getResourceAsStream(DeviceCatalog.RESOURCE_DIR + name)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
