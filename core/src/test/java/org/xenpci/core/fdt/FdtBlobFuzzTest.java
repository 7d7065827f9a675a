package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.testkit.DtcTool;
import org.xenpci.core.testkit.FuzzRun;
import org.xenpci.core.testkit.Mutator;

/**
 * The host DTB at reader level: seeded mutations of real blobs either read (and then write and
 * read back to the same tree) or fail with {@link FdtFormatException}, whose offset lies in the
 * blob; nothing else, in bounded time and memory.
 *
 * <p>Seeds: the QEMU virt and ZynqMP trees and the edge-case tree of {@code src/test/resources/fdt}
 * (compiled by dtc when it is installed), the small hand-laid blob of {@link Blobs} and random
 * trees. Mutations: the generic byte ones of {@link Mutator}, plus structure-aware ones: boundary
 * values in header fields, in a property's length or name offset, token words replaced, deep
 * nesting and node floods spliced into the structure block. The booted DTB fuzzer is
 * {@code BadDtbBootFuzzTest} (src-test-fixtures).
 *
 * <p>Long run: {@code ./mvnw -B verify -pl core -Dtest=FdtBlobFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dxenpci.fuzz.dtb.iterations=1000000}.
 */
class FdtBlobFuzzTest {
    static final long SEED = 0xd7b0_f022L;
    static final int ITERATIONS = 20_000;
    /** Per-case bounds: a blob is read in well under a millisecond; 200 ms means a pathology. */
    static final long TIME_LIMIT_MS = 200;
    /** A blob of a few KiB must not make the reader allocate more than this (a 2^31 length must not allocate 2^31). */
    static final long ALLOC_LIMIT = 16L << 20;

    @Test
    @DisplayName("mutated real blobs read or fail with FdtFormatException, in bounded time and memory")
    void mutatedBlobs() {
        List<byte[]> seeds = seeds();
        List<byte[]> floods = floods();
        FuzzRun run = new FuzzRun("dtb", SEED, ITERATIONS, FdtBlobFuzzTest::undocumented, TIME_LIMIT_MS, ALLOC_LIMIT);
        Random rnd = new Random(run.seed());
        Mutator m = new Mutator(rnd);
        run.runAll(i -> {
            int s = i % seeds.size();
            byte[] blob = mutate(seeds.get(s), seeds, floods, m);
            return new FuzzRun.Labelled("seed blob " + s + ", " + blob.length + " bytes", () -> {
                try {
                    Fdt fdt = FdtReader.read(blob);
                    // What reads must write and read back to itself (small blobs: the writer shares
                    // strings as dtc does, quadratically, and is not what is under test).
                    if (blob.length <= 16 * 1024 && !FdtReader.read(FdtWriter.write(fdt)).equals(fdt)) {
                        throw new AssertionError("write(read(blob)) reads back differently");
                    }
                } catch (FdtFormatException e) {
                    if (e.offset() < 0 || e.offset() > blob.length) {
                        throw new AssertionError("offset " + e.offset() + " outside the blob: " + e.getMessage());
                    }
                    throw e;
                }
            });
        });
        run.assertClean();
        assertThat(run.outcomes()).containsKeys("loaded", "FdtFormatException");
    }

    static String undocumented(Throwable t) {
        return t instanceof FdtFormatException ? null : "undocumented " + t.getClass().getName();
    }

    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        if (DtcTool.available()) {
            for (String dts : List.of("qemu-virt.dts", "zynqmp.dts", "edge-cases.dts")) {
                seeds.add(DtcTool.compileDts(DtcTool.resource(dts)));
            }
        }
        seeds.add(Blobs.small());
        RandomTrees trees = new RandomTrees(SEED);
        for (int i = 0; i < 3; i++) {
            seeds.add(FdtWriter.write(trees.tree()));
        }
        return seeds;
    }

    static byte[] mutate(byte[] base, List<byte[]> seeds, List<byte[]> floods, Mutator m) {
        Random rnd = m.random();
        switch (rnd.nextInt(6)) {
            case 0: { // a header field at a boundary
                byte[] b = base.clone();
                Mutator.putWordBe(b, 4 * rnd.nextInt(10), Mutator.WORDS[rnd.nextInt(Mutator.WORDS.length)]);
                return b;
            }
            case 1: { // a property's length or name offset at a boundary (2^31, 2^32-1, the blob size)
                byte[] b = base.clone();
                List<Integer> props = tokens(b, FdtFormat.FDT_PROP);
                if (props.isEmpty()) {
                    return b;
                }
                int at = props.get(rnd.nextInt(props.size())) + (rnd.nextBoolean() ? 4 : 8);
                int v = rnd.nextInt(3) == 0 ? b.length + rnd.nextInt(64) - 32 : Mutator.WORDS[rnd.nextInt(Mutator.WORDS.length)];
                Mutator.putWordBe(b, at, v);
                return b;
            }
            case 2: { // a token word replaced by another token (unbalanced nodes, stray END, NOPs)
                byte[] b = base.clone();
                int structStart = FdtProperty.getInt(b, FdtFormat.OFF_DT_STRUCT);
                List<Integer> all = new ArrayList<>();
                for (int t : new int[] {FdtFormat.FDT_BEGIN_NODE, FdtFormat.FDT_END_NODE, FdtFormat.FDT_PROP, FdtFormat.FDT_END}) {
                    all.addAll(tokens(b, t));
                }
                if (all.isEmpty() || structStart < 0) {
                    return b;
                }
                int[] tok = {1, 2, 3, 4, 9, 0, 5, -1};
                Mutator.putWordBe(b, all.get(rnd.nextInt(all.size())), tok[rnd.nextInt(tok.length)]);
                return b;
            }
            case 3: { // deep nesting or a node/property flood (valid blobs at or over the limits), maybe damaged
                byte[] f = floods.get(rnd.nextInt(floods.size()));
                return rnd.nextBoolean() ? f : m.bytes(f, seeds);
            }
            default:
                return m.bytes(base, seeds);
        }
    }

    /** Offsets of aligned words equal to {@code token} inside the structure block. */
    private static List<Integer> tokens(byte[] b, int token) {
        List<Integer> out = new ArrayList<>();
        if (b.length < 40) {
            return out;
        }
        int start = FdtProperty.getInt(b, FdtFormat.OFF_DT_STRUCT);
        int size = FdtProperty.getInt(b, FdtFormat.OFF_SIZE_DT_STRUCT);
        if (start < 40 || size < 0 || (long) start + size > b.length) {
            return out;
        }
        for (int off = start; off + 4 <= start + size; off += 4) {
            if (FdtProperty.getInt(b, off) == token) {
                out.add(off);
            }
        }
        return out;
    }

    /** Blobs at the reader's limits: nesting around {@link FdtReader#MAX_DEPTH}, thousands of properties or nodes. */
    static List<byte[]> floods() {
        List<byte[]> out = new ArrayList<>();
        for (int depth = FdtReader.MAX_DEPTH - 2; depth <= FdtReader.MAX_DEPTH + 2; depth++) {
            FdtNode n = FdtNode.builder("n").build();
            for (int d = 0; d < depth - 2; d++) {
                n = FdtNode.builder("n").child(n).build();
            }
            out.add(FdtWriter.write(new Fdt(FdtNode.root().child(n).build(), List.of(), 0)));
        }
        FdtNode.Builder props = FdtNode.root();
        for (int k = 0; k < 3000; k++) {
            props.property(FdtProperty.u32("p" + k, k));
        }
        out.add(FdtWriter.write(new Fdt(props.build(), List.of(), 0)));
        FdtNode.Builder nodes = FdtNode.root();
        for (int k = 0; k < 5_000; k++) {
            nodes.child(FdtNode.builder("n@" + Integer.toHexString(k)).build());
        }
        out.add(FdtWriter.write(new Fdt(nodes.build(), List.of(), 0)));
        return out;
    }
}
