package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.core.fdt.DtsWriter;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.testkit.DtcTool;

@DisplayName("xenpci dts FILE...: dtc's decompile, one error line per bad file, and on to the next")
class DtsCommandTest {
    private static final String DEFAULT_DTB = "/org/xenpci/libxl/platform/default/qemu-virt-gicv3-its-smmuv3.dtb";

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new XenpciCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static byte[] defaultDtb() throws IOException {
        try (InputStream in = DtsCommandTest.class.getResourceAsStream(DEFAULT_DTB)) {
            return in.readAllBytes();
        }
    }

    static Path write(Path dir, String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    @DisplayName("one DTB: stdout is exactly what dtc -I dtb -O dts prints, exit 0, nothing on stderr")
    void oneFileAsDtc(@TempDir Path dir) throws IOException {
        Path f = write(dir, "board.dtb", defaultDtb());
        Run r = run("dts", f.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        DtcTool.requireDtc();
        DtcTool.DtcResult dtc = DtcTool.run(defaultDtb(), "-q", "-I", "dtb", "-O", "dts");
        assertThat(r.out()).isEqualTo(dtc.text());
    }

    @Test
    @DisplayName("a truncated file between two good ones: its error line with the offset, both good ones printed, exit 1")
    void badFileInTheMiddle(@TempDir Path dir) throws IOException {
        byte[] good = defaultDtb();
        Path a = write(dir, "a.dtb", good);
        Path bad = write(dir, "bad.dtb", Arrays.copyOf(good, 1000));
        Path c = write(dir, "c.dtb", good);
        Run r = run("dts", a.toString(), bad.toString(), c.toString());
        String dts = DtsWriter.decompile(FdtReader.read(good));
        assertThat(r.status()).isEqualTo(1);
        // totalsize (the header word at 0x4) is larger than the 1000 bytes left.
        assertThat(r.err()).isEqualTo(bad + ": error: totalsize " + good.length + " outside [40, 1000] at offset 0x4\n");
        assertThat(r.out()).isEqualTo("// " + a + "\n" + dts + "// " + c + "\n" + dts);
    }

    @Test
    @DisplayName("a missing file is an error line too; no FILE at all is a usage error (exit 2)")
    void missingAndNone(@TempDir Path dir) {
        Path none = dir.resolve("none.dtb");
        Run r = run("dts", none.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo(none + ": error: no such file\n");
        assertThat(r.out()).isEmpty();
        Run usage = run("dts");
        assertThat(usage.status()).isEqualTo(2);
        assertThat(usage.err()).startsWith("xenpci: dts needs at least one FILE\n");
    }

    @Test
    @DisplayName("300 seeded mutated DTBs in one run: each gives its DTS or one 'FILE: error: ... at offset 0xN' line, never a stack trace")
    void mutatedDtbs(@TempDir Path dir) throws IOException {
        byte[] good = defaultDtb();
        Random rnd = new Random(0xd75_f022L);
        List<String> files = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] b = good.clone();
            switch (i % 4) {
                case 0 -> b[rnd.nextInt(0x28)] ^= (byte) (1 << rnd.nextInt(8)); // a header bit
                case 1 -> b = Arrays.copyOf(b, rnd.nextInt(b.length)); // truncated
                case 2 -> { // a structure-block word replaced by a token or random value
                    int off = 0x38 + 4 * rnd.nextInt((b.length - 0x40) / 4);
                    int v = rnd.nextBoolean() ? 1 + rnd.nextInt(9) : rnd.nextInt();
                    b[off] = (byte) (v >>> 24); b[off + 1] = (byte) (v >>> 16); b[off + 2] = (byte) (v >>> 8); b[off + 3] = (byte) v;
                }
                default -> { // a few random bytes anywhere
                    for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
            }
            files.add(write(dir, "m" + i + ".dtb", b).toString());
        }
        List<String> args = new ArrayList<>(List.of("dts"));
        args.addAll(files);
        Run r = run(args.toArray(String[]::new));

        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("xenpci:");
        List<String> errors = r.err().isEmpty() ? List.of() : List.of(r.err().split("\n"));
        List<String> printed = r.out().lines().filter(l -> l.startsWith("// ")).map(l -> l.substring(3)).toList();
        for (String e : errors) {
            assertThat(e).matches(".*/m\\d+\\.dtb: error: .+ at offset 0x[0-9a-f]+");
        }
        List<String> failed = errors.stream().map(e -> e.substring(0, e.indexOf(": error: "))).toList();
        assertThat(failed.size() + printed.size()).isEqualTo(300);
        assertThat(failed).doesNotContainAnyElementsOf(printed);
        assertThat(failed).isNotEmpty();
        assertThat(printed).as("some mutations (e.g. boot_cpuid_phys bits) leave a valid blob").isNotEmpty();
        assertThat(r.status()).isEqualTo(1);
    }
}
