package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Seeded random trees round-trip through our reader, writer and the real dtc")
class FdtRoundTripPropertyTest {
    private static final long SEED_MODEL = 0x5eed_0001L;
    private static final long SEED_DTC = 0x5eed_0002L;
    private static final long SEED_DTS = 0x5eed_0003L;
    private static final long SEED_FOREST = 0x5eed_0004L;
    /** Each tree costs a dtc process; 200 per test keeps the suite fast on a loaded 2-CPU box. */
    private static final int DTC_TREES = 200;

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
    @DisplayName("dtc -I dtb -O dtb re-emits our blob byte for byte, for 200 trees")
    void dtcReemitsOurBlobUnchanged() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(SEED_DTC);
        for (int i = 0; i < DTC_TREES; i++) {
            byte[] blob = FdtWriter.write(gen.tree());
            DtcTool.DtcResult r = DtcTool.recompile(blob);
            assertThat(r.exitCode()).as("tree %d: %s", i, r.stderr()).isZero();
            assertThat(r.output()).as("tree %d", i).isEqualTo(blob);
        }
    }

    @Test
    @DisplayName("dtc compiles our DTS of a random tree with clock references to our blob, for 200 trees")
    void dtcCompilesOurDtsToOurBlob() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(SEED_DTS);
        int withReferences = 0;
        for (int i = 0; i < DTC_TREES; i++) {
            Fdt tree = gen.treeWithPhandles().withBootCpuid(0); // DTS cannot carry boot_cpuid_phys
            String dts = DtsWriter.write(tree);
            withReferences += dts.contains("clocks = <&") ? 1 : 0;
            DtcTool.DtcResult r = DtcTool.compile(dts);
            assertThat(r.exitCode()).as("tree %d: %s\n%s", i, r.stderr(), dts).isZero();
            // Random names provoke unrelated dtc warnings (e.g. unit address without reg), never phandle ones.
            assertThat(r.stderr()).as("tree %d:\n%s", i, dts).doesNotContain("phandle").doesNotContain("clocks");
            assertThat(r.output()).as("tree %d:\n%s", i, dts).isEqualTo(FdtWriter.write(tree));
        }
        assertThat(withReferences).as("trees that exercised &references").isGreaterThan(DTC_TREES / 3);
    }

    @Test
    @DisplayName("a forest of 150 random trees in one blob (one big shared string table) survives dtc both ways")
    void forestThroughDtc() {
        DtcTool.requireDtc();
        RandomTrees gen = new RandomTrees(SEED_FOREST);
        FdtNode.Builder root = FdtNode.root();
        for (int i = 0; i < 150; i++) {
            FdtNode sub = gen.tree().root();
            FdtNode.Builder b = FdtNode.builder("tree" + i);
            sub.properties().forEach(b::property);
            sub.children().forEach(b::child);
            root.child(b.build());
        }
        Fdt forest = Fdt.of(root.build());
        byte[] blob = FdtWriter.write(forest);
        assertThat(FdtReader.read(blob)).isEqualTo(forest);
        assertThat(DtcTool.recompile(blob).output()).isEqualTo(blob);
        assertThat(DtcTool.compile(DtsWriter.write(forest)).output()).isEqualTo(blob);
    }
}
