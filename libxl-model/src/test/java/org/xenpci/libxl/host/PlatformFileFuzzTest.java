package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.armpci.platform.PlatformFileException;
import org.xenpci.core.testkit.FuzzRun;
import org.xenpci.core.testkit.Mutator;

/**
 * Platform files: seeded mutations of the built-in default platform (its {@code platform.json},
 * and the DTB and config dumps it references) are read by {@link PlatformFile#parse} and built
 * by {@link Platform#build(PlatformFile)}; each loads or fails with a
 * {@link PlatformFileException} whose field is a JSON pointer; nothing else, in bounded time and
 * memory.
 *
 * <p>Here rather than in arm-pci, next to the loader of the default platform whose files are the
 * seed (arm-pci cannot see libxl-model's resources). Mutations: the generic text ones of
 * {@link Mutator} on the JSON, JSON-aware ones (a key removed, duplicated or unknown; a value
 * replaced by a boundary number as JSON number or string, another type, an overlong or unicode
 * string; arrays and objects nested far beyond Jackson's depth limit), and the generic byte or
 * text ones on a referenced file (the DTB, a config dump). Booting is left to
 * {@code BadDtbBootFuzzTest}.
 *
 * <p>Long run: {@code ./mvnw -B verify -pl libxl-model -am -Dtest=PlatformFileFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dxenpci.fuzz.platform.iterations=1000000}.
 */
class PlatformFileFuzzTest {
    static final long SEED = 0x91a7_f11eL;
    static final int ITERATIONS = 10_000;
    /** A case builds a whole board (1 MiB DTB read twice, hardware); the 10^5 run measured 290 ms at most. */
    static final long TIME_LIMIT_MS = 500;
    static final long ALLOC_LIMIT = 64L << 20;
    private static final String DIR = "/org/xenpci/libxl/platform/default/";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @DisplayName("mutated default platform files load or fail with PlatformFileException naming the field")
    void mutatedPlatformFiles() throws IOException {
        String json = new String(resource("platform.json"), StandardCharsets.UTF_8);
        Map<String, byte[]> files = new LinkedHashMap<>();
        JsonNode root = JSON.readTree(json);
        files.put(root.get("hostDtb").asText(), resource(root.get("hostDtb").asText()));
        for (JsonNode d : root.get("devices")) {
            files.put(d.get("config").asText(), resource(d.get("config").asText()));
        }
        List<String> names = new ArrayList<>(files.keySet());
        FuzzRun run = new FuzzRun("platform", SEED, ITERATIONS, t -> {
            if (!(t instanceof PlatformFileException p)) {
                return "undocumented " + t.getClass().getName();
            }
            return p.file().equals("fuzz.json") && (p.field().isEmpty() || p.field().startsWith("/")) ? null
                    : "field is not a JSON pointer: '" + p.field() + "'";
        }, TIME_LIMIT_MS, ALLOC_LIMIT);
        Random rnd = new Random(run.seed());
        Mutator m = new Mutator(rnd);
        run.runAll(i -> {
            String text = json;
            Map<String, byte[]> f = files;
            String what;
            int kind = rnd.nextInt(10);
            if (kind < 4) {
                text = mutateJson(root, m);
                what = "JSON tree";
            } else if (kind < 7) {
                text = m.text(json, List.of());
                what = "JSON text";
            } else {
                String name = m.pick(names);
                f = new LinkedHashMap<>(files);
                byte[] b = files.get(name);
                f.put(name, name.endsWith(".dtb") || rnd.nextBoolean() ? m.bytes(b, List.of())
                        : m.text(new String(b, StandardCharsets.US_ASCII), List.of()).getBytes(StandardCharsets.UTF_8));
                what = name;
            }
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            Map<String, byte[]> resolved = f;
            return new FuzzRun.Labelled(what + ", " + bytes.length + " bytes", () -> {
                PlatformFile pf = PlatformFile.parse("fuzz.json", bytes, resolved::get);
                Platform.build(pf);
            });
        });
        run.assertClean();
        assertThat(run.outcomes()).containsKeys("loaded", "PlatformFileException");
    }

    private static String mutateJson(JsonNode root, Mutator m) {
        Random rnd = m.random();
        JsonNode copy = root.deepCopy();
        List<JsonNode> containers = new ArrayList<>();
        collect(copy, containers);
        JsonNode target = m.pick(containers);
        if (rnd.nextInt(12) == 0) { // nesting far beyond any limit
            int depth = 10 + rnd.nextInt(rnd.nextBoolean() ? 100 : 100_000);
            String open = rnd.nextBoolean() ? "[" : "{\"a\":";
            String close = open.equals("[") ? "]" : "}";
            String deep = open.repeat(depth) + "1" + close.repeat(depth);
            return copy.toString().replaceFirst("\"devices\"", "\"description\":" + deep + ",\"devices\"");
        }
        if (target instanceof ObjectNode o) {
            List<String> keys = new ArrayList<>();
            o.fieldNames().forEachRemaining(keys::add);
            String key = keys.isEmpty() ? "x" : m.pick(keys);
            switch (rnd.nextInt(4)) {
                case 0 -> o.remove(key);
                case 1 -> o.set(m.pick(List.of("x", "sbdf", "hostDtb", "devices", "bars", "index", "size", "romSize",
                        "config", "", "Sbdf")), value(m));
                case 2 -> { // a duplicated key (Jackson keeps the last), written by hand
                    String dup = "\"" + key + "\":" + value(m).toString() + ",";
                    String s = copy.toString();
                    String needle = "\"" + key + "\":";
                    int at = s.indexOf(needle);
                    return at < 0 ? s : s.substring(0, at) + dup + s.substring(at);
                }
                default -> o.set(key, value(m));
            }
        } else if (target instanceof ArrayNode a && a.size() > 0) {
            int i = rnd.nextInt(a.size());
            switch (rnd.nextInt(4)) {
                case 0 -> a.remove(i);
                case 1 -> a.insert(i, a.get(i).deepCopy());
                case 2 -> {
                    JsonNode item = a.get(i);
                    for (int k = rnd.nextInt(300); k > 0; k--) {
                        a.add(item.deepCopy());
                    }
                }
                default -> a.set(i, value(m));
            }
        }
        return copy.toString();
    }

    private static JsonNode value(Mutator m) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        Random rnd = m.random();
        String n = m.pick(Mutator.NUMBERS);
        return switch (rnd.nextInt(9)) {
            case 0 -> {
                try {
                    yield f.numberNode(new BigInteger(n));
                } catch (NumberFormatException e) {
                    yield f.textNode(n);
                }
            }
            case 1 -> f.textNode(n);
            case 2 -> f.numberNode(rnd.nextDouble() * 1e20);
            case 3 -> f.nullNode();
            case 4 -> f.booleanNode(rnd.nextBoolean());
            case 5 -> f.arrayNode().add(f.objectNode());
            case 6 -> f.textNode(m.pick(Mutator.ODD).repeat(1 + rnd.nextInt(30_000)));
            case 7 -> f.textNode(m.pick(List.of("0000:00:02.0", "ffff:ff:1f.7", "00:00.0", "0000:00:20.0", "1:2.3",
                    "nvme.lspci", "qemu-virt-gicv3-its-smmuv3.dtb", "../etc/passwd", "", "0x8000000000000000")));
            default -> f.objectNode().put("index", rnd.nextInt(8) - 1).put("size", n);
        };
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
                collect(it.next(), out);
            }
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = PlatformFileFuzzTest.class.getResourceAsStream(DIR + name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
