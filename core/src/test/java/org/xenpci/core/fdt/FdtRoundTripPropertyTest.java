package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Seeded random trees round-trip through our reader, writer and the real dtc")
class FdtRoundTripPropertyTest {
    private static final long SEED_MODEL = 0x5eed_0001L;
    private static final long SEED_DTC = 0x5eed_0002L;
    private static final long SEED_DTS = 0x5eed_0003L;

    @Test
    @DisplayName("read(write(tree)) equals the tree, and write is deterministic, for 2000 trees")
    void writeThenReadIsIdentity() {
        RandomTrees gen = new RandomTrees(SEED_MODEL);
        for (int i = 0; i < 2000; i++) {
            Fdt tree = gen.tree();
            byte[] blob = FdtWriter.write(tree);
            assertThat(FdtReader.read(blob)).as("tree %d", i).isEqualTo(tree);
            assertThat(FdtWriter.write(FdtReader.read(blob))).as("tree %d", i).isEqualTo(blob);
        }
    }

    @Test
    @DisplayName("dtc -I dtb -O dtb re-emits our blob byte for byte, for 300 trees")
    void dtcReemitsOurBlobUnchanged() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(SEED_DTC);
        for (int i = 0; i < 300; i++) {
            byte[] blob = FdtWriter.write(gen.tree());
            DtcTool.DtcResult r = DtcTool.recompile(blob);
            assertThat(r.exitCode()).as("tree %d: %s", i, r.stderr()).isZero();
            assertThat(r.output()).as("tree %d", i).isEqualTo(blob);
        }
    }

    @Test
    @DisplayName("dtc compiles our DTS of a random tree with clock references to our blob, for 300 trees")
    void dtcCompilesOurDtsToOurBlob() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(SEED_DTS);
        int withReferences = 0;
        for (int i = 0; i < 300; i++) {
            Fdt tree = gen.treeWithPhandles().withBootCpuid(0); // DTS cannot carry boot_cpuid_phys
            String dts = DtsWriter.write(tree);
            withReferences += dts.contains("clocks = <&") ? 1 : 0;
            DtcTool.DtcResult r = DtcTool.compile(dts);
            assertThat(r.exitCode()).as("tree %d: %s\n%s", i, r.stderr(), dts).isZero();
            // Random names provoke unrelated dtc warnings (e.g. unit address without reg), never phandle ones.
            assertThat(r.stderr()).as("tree %d:\n%s", i, dts).doesNotContain("phandle").doesNotContain("clocks");
            assertThat(r.output()).as("tree %d:\n%s", i, dts).isEqualTo(FdtWriter.write(tree));
        }
        assertThat(withReferences).as("trees that exercised &references").isGreaterThan(100);
    }
}
