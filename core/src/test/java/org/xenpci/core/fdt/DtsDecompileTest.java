package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.xenpci.core.testkit.DtcTool;

/** {@link DtsWriter#decompile} prints what {@code dtc -I dtb -O dts} prints, on the repository's real DTBs. */
@DisplayName("DTS decompile: the same text as dtc -I dtb -O dts")
class DtsDecompileTest {
    /** Every DTB in the repository's sources (fixtures and the CLI's default platform). */
    static Stream<Path> repoDtbs() throws IOException {
        Path top = Path.of("").toAbsolutePath().getParent();
        List<Path> dirs = List.of(top.resolve("src-test-fixtures/src/main/resources"), top.resolve("libxl-model/src/main/resources"));
        List<Path> found = new java.util.ArrayList<>();
        for (Path d : dirs) {
            try (Stream<Path> s = Files.walk(d)) {
                s.filter(p -> p.toString().endsWith(".dtb")).sorted().forEach(found::add);
            }
        }
        assertThat(found).hasSizeGreaterThanOrEqualTo(7);
        return found.stream();
    }

    @org.junit.jupiter.api.Test
    @DisplayName("100 seeded random trees (strings, cells, bytes, escapes) decompile exactly as dtc decompiles their blobs")
    void randomTreesSameAsDtc() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(0x5eed_0d75L);
        for (int i = 0; i < 100; i++) {
            byte[] blob = FdtWriter.write(gen.tree());
            DtcTool.DtcResult r = DtcTool.run(blob, "-q", "-I", "dtb", "-O", "dts");
            assertThat(r.exitCode()).as("tree %d: %s", i, r.stderr()).isZero();
            assertThat(DtsWriter.decompile(FdtReader.read(blob))).as("tree %d", i).isEqualTo(r.text());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("repoDtbs")
    @DisplayName("each repository DTB decompiles exactly as dtc decompiles it")
    void sameAsDtc(Path dtb) throws IOException {
        DtcTool.requireDtc();
        byte[] blob = Files.readAllBytes(dtb);
        DtcTool.DtcResult r = DtcTool.run(blob, "-q", "-I", "dtb", "-O", "dts");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(DtsWriter.decompile(FdtReader.read(blob))).isEqualTo(r.text());
    }
}
