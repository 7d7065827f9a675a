package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xenpci.core.fdt.Blobs.small;
import static org.xenpci.core.fdt.Blobs.spliceStruct;
import static org.xenpci.core.fdt.Blobs.truncate;
import static org.xenpci.core.fdt.Blobs.withU32;
import static org.xenpci.core.fdt.FdtFormatException.Reason.*;

import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xenpci.core.fdt.FdtFormatException.Reason;

@DisplayName("The reader: strict on malformed blobs (exact offset and reason), tolerant where the spec allows")
class FdtReaderTest {
    private static final int BEGIN = 1;
    private static final int END_NODE = 2;
    private static final int PROP = 3;
    private static final int NOP = 4;

    @Test
    @DisplayName("the base blob has the layout the corruptions below rely on")
    void baseLayout() {
        byte[] b = small();
        assertThat(b.length).isEqualTo(0x97);
        assertThat(Blobs.u32(b, 0x08)).isEqualTo(0x48);
        assertThat(Blobs.u32(b, 0x0C)).isEqualTo(0x88);
        assertThat(Blobs.u32(b, 0x24)).isEqualTo(0x40);
        assertThat(Blobs.u32(b, 0x60)).isEqualTo(BEGIN);
        assertThat(Blobs.u32(b, 0x6C)).isEqualTo(PROP);
        assertThat(Blobs.u32(b, 0x7C)).isEqualTo(END_NODE);
        assertThat(Blobs.u32(b, 0x84)).isEqualTo(9);
        assertThat(FdtReader.read(b)).isEqualTo(Blobs.smallTree());
    }

    static Stream<Arguments> corruptions() {
        byte[] b = small();
        byte[] rootNamed = b.clone();
        rootNamed[0x4C] = 'r';
        byte[] badChildName = b.clone();
        badChildName[0x66] = '!';
        byte[] unterminatedRsv = b.clone();
        unterminatedRsv[0x47] = 1;
        return Stream.of(
                c("blob of 3 bytes", () -> truncate(b, 3), TRUNCATED_HEADER, 3),
                c("blob cut inside the v17 header", () -> truncate(b, 0x20), TRUNCATED_HEADER, 0x20),
                c("bad magic", () -> withU32(b, 0, 0x12345678), BAD_MAGIC, 0),
                c("totalsize beyond the blob", () -> withU32(b, 0x04, 0x98), BAD_TOTALSIZE, 0x04),
                c("totalsize smaller than the header", () -> withU32(b, 0x04, 0x20), BAD_TOTALSIZE, 0x04),
                c("version 15", () -> withU32(b, 0x14, 15), UNSUPPORTED_VERSION, 0x14),
                c("last_comp_version 18", () -> withU32(withU32(b, 0x14, 18), 0x18, 18), UNSUPPORTED_VERSION, 0x18),
                c("last_comp_version above version", () -> withU32(withU32(b, 0x14, 16), 0x18, 17), UNSUPPORTED_VERSION, 0x18),
                c("structure block beyond totalsize", () -> withU32(b, 0x08, 0x200), BLOCK_OUT_OF_RANGE, 0x08),
                c("strings block inside the header", () -> withU32(b, 0x0C, 0x10), BLOCK_OUT_OF_RANGE, 0x0C),
                c("reservation map inside the header", () -> withU32(b, 0x10, 0x08), BLOCK_OUT_OF_RANGE, 0x10),
                c("strings block running past totalsize", () -> withU32(b, 0x20, 0x100), BLOCK_OUT_OF_RANGE, 0x20),
                c("structure block running past totalsize", () -> withU32(b, 0x24, 0x100), BLOCK_OUT_OF_RANGE, 0x24),
                c("reservation map pointed into the structure block, no size-0 entry before totalsize",
                        () -> withU32(b, 0x10, 0x50), MEM_RESERVE_UNTERMINATED, 0x90),
                c("reservation map without terminator, read on (as libfdt does) to totalsize",
                        () -> unterminatedRsv, MEM_RESERVE_UNTERMINATED, 0x88),
                c("unknown token 0x7", () -> withU32(b, 0x7C, 7), UNKNOWN_TOKEN, 0x7C),
                c("FDT_END replaced by FDT_NOP", () -> withU32(b, 0x84, NOP), TOKEN_AFTER_ROOT, 0x84),
                c("FDT_PROP before the root node", () -> withU32(b, 0x48, PROP), PROP_OUTSIDE_NODE, 0x48),
                c("property length past the block", () -> withU32(b, 0x54, 0x1000), PROP_TRUNCATED, 0x54),
                c("property name offset outside the strings block", () -> withU32(b, 0x58, 0x20), BAD_NAME_OFFSET, 0x58),
                c("last property name not NUL-terminated in the strings block",
                        () -> withU32(b, 0x20, 14), UNTERMINATED_STRING, 0x93),
                c("node name running to the end of the structure block",
                        () -> withU32(b, 0x24, 0x1C), UNTERMINATED_NODE_NAME, 0x64),
                c("structure block ending inside a token", () -> withU32(b, 0x24, 0x0A), TRUNCATED_STRUCT, 0x50),
                c("root node with a name", () -> rootNamed, ROOT_NAME_NOT_EMPTY, 0x4C),
                c("invalid character in a node name", () -> badChildName, INVALID_NAME, 0x64),
                c("FDT_END_NODE before any FDT_BEGIN_NODE", () -> withU32(b, 0x48, END_NODE), UNBALANCED_END_NODE, 0x48),
                c("root FDT_END_NODE missing", () -> withU32(b, 0x80, NOP), UNCLOSED_NODE, 0x84),
                c("FDT_END first", () -> withU32(b, 0x48, 9), MISSING_ROOT, 0x48),
                c("a second root node", () -> spliceStruct(b, 0x84, BEGIN, 0, END_NODE), MULTIPLE_ROOTS, 0x84));
    }

    private static Arguments c(String scenario, Supplier<byte[]> blob, Reason reason, int offset) {
        return Arguments.of(scenario, blob, reason, offset);
    }

    @ParameterizedTest(name = "{0}: {2} at offset {3}")
    @MethodSource("corruptions")
    @DisplayName("each corruption is reported precisely")
    void corruptionIsReported(String scenario, Supplier<byte[]> blob, Reason reason, int offset) {
        assertThatThrownBy(() -> FdtReader.read(blob.get()))
                .isInstanceOf(FdtFormatException.class)
                .satisfies(e -> {
                    FdtFormatException f = (FdtFormatException) e;
                    assertThat(f.reason()).isEqualTo(reason);
                    assertThat(f.offset()).isEqualTo(offset);
                    assertThat(f.getMessage()).contains("at offset 0x" + Integer.toHexString(offset)).contains(reason.name());
                });
    }

    @Test
    @DisplayName("the message names the bad magic value and where it is")
    void badMagicMessage() {
        assertThatThrownBy(() -> FdtReader.read(withU32(small(), 0, 0x12345678)))
                .hasMessage("bad magic 0x12345678 at offset 0x0 (BAD_MAGIC)");
    }

    @Test
    @DisplayName("two children with the same name are rejected where the second one closes")
    void duplicateChild() {
        FdtNode root = FdtNode.root().child(FdtNode.builder("a").build()).child(FdtNode.builder("b").build()).build();
        byte[] b = FdtWriter.write(Fdt.of(root));
        // struct at 0x38: BEGIN "" | BEGIN "a" @0x40 | END_NODE @0x48 | BEGIN "b" @0x4C, name @0x50 | END_NODE @0x54
        b[0x50] = 'a';
        assertThatThrownBy(() -> FdtReader.read(b))
                .isInstanceOfSatisfying(FdtFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(DUPLICATE_NAME);
                    assertThat(e.offset()).isEqualTo(0x54);
                });
    }

    @Test
    @DisplayName("two properties with the same name in one node are rejected at the second one")
    void duplicateProperty() {
        FdtNode root = FdtNode.root().property(FdtProperty.u32("aa", 1)).property(FdtProperty.u32("ab", 2)).build();
        byte[] b = FdtWriter.write(Fdt.of(root));
        // struct at 0x38: BEGIN "" | PROP @0x40 (len, nameoff 0) | PROP @0x50, nameoff @0x58 -> point it at "aa"
        byte[] dup = withU32(b, 0x58, 0);
        assertThatThrownBy(() -> FdtReader.read(dup))
                .isInstanceOfSatisfying(FdtFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(DUPLICATE_NAME);
                    assertThat(e.offset()).isEqualTo(0x50);
                });
    }

    @Test
    @DisplayName("64 nested nodes are accepted, the 65th level is rejected at its FDT_BEGIN_NODE")
    void depthLimit() {
        assertThat(FdtReader.read(FdtWriter.write(nested(FdtReader.MAX_DEPTH - 1)))).isNotNull();
        // Root at 0x38 takes 8 bytes, each "n" node 8 bytes: level k (root = 1) starts at 0x38 + 8 (k - 1).
        assertThatThrownBy(() -> FdtReader.read(FdtWriter.write(nested(FdtReader.MAX_DEPTH))))
                .isInstanceOfSatisfying(FdtFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(DEPTH_LIMIT);
                    assertThat(e.offset()).isEqualTo(0x38 + 8 * 64);
                });
    }

    @Test
    @DisplayName("a node/property count beyond the limit is rejected at the first item over it")
    void countLimit() {
        byte[] b = small(); // 1 reservation, root, compatible, child, reg = 5 items
        assertThat(FdtReader.read(b, 64, 5)).isEqualTo(Blobs.smallTree());
        assertThatThrownBy(() -> FdtReader.read(b, 64, 4))
                .isInstanceOfSatisfying(FdtFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(COUNT_LIMIT);
                    assertThat(e.offset()).isEqualTo(0x6C);
                });
    }

    @Test
    @DisplayName("FDT_NOP tokens between any tokens are skipped")
    void nopsAreSkipped() {
        byte[] b = small();
        byte[] withNops = spliceStruct(spliceStruct(spliceStruct(b, 0x80, NOP), 0x60, NOP, NOP), 0x48, NOP);
        assertThat(FdtReader.read(withNops)).isEqualTo(Blobs.smallTree());
    }

    @Test
    @DisplayName("bytes after totalsize and padding between blocks are ignored")
    void trailingBytesIgnored() {
        byte[] b = small();
        byte[] longer = java.util.Arrays.copyOf(b, b.length + 100);
        longer[b.length + 5] = 0x55;
        assertThat(FdtReader.read(longer)).isEqualTo(Blobs.smallTree());
    }

    @Test
    @DisplayName("a version 16 blob (no size_dt_struct) is read by parsing to FDT_END; header word 0x24 is ignored")
    void version16() {
        byte[] b = withU32(withU32(withU32(small(), 0x14, 16), 0x18, 16), 0x24, 0xdeadbeef);
        assertThat(FdtReader.read(b)).isEqualTo(Blobs.smallTree());
    }

    @Test
    @DisplayName("a version 16 blob whose structure block runs to totalsize without FDT_END fails at totalsize")
    void version16Truncated() {
        // FDT_END replaced by FDT_NOP: the root's FDT_END_NODE becomes a NOP too, so the parse runs
        // on through the strings block ("comp" = 0x636f6d70 is no token).
        byte[] b = withU32(withU32(withU32(withU32(small(), 0x14, 16), 0x18, 16), 0x84, NOP), 0x80, NOP);
        assertThatThrownBy(() -> FdtReader.read(b))
                .isInstanceOfSatisfying(FdtFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(UNKNOWN_TOKEN);
                    assertThat(e.offset()).isEqualTo(0x88);
                });
    }

    @Test
    @DisplayName("a version 18 blob compatible back to 16 is accepted")
    void laterCompatibleVersion() {
        assertThat(FdtReader.read(withU32(small(), 0x14, 18))).isEqualTo(Blobs.smallTree());
    }

    @Test
    @DisplayName("boot_cpuid_phys and 64-bit reservations come back unchanged")
    void headerValues() {
        Fdt tree = new Fdt(Blobs.smallTree().root(), java.util.List.of(new MemReserve(-1L, 0x7fff_ffff_ffffL)), 0xc0000003);
        Fdt back = FdtReader.read(FdtWriter.write(tree));
        assertThat(back.bootCpuidPhys()).isEqualTo(0xc0000003);
        assertThat(back.memReserves()).containsExactly(new MemReserve(0xffff_ffff_ffff_ffffL, 0x7fff_ffff_ffffL));
    }

    private static Fdt nested(int levelsBelowRoot) {
        FdtNode n = null;
        for (int i = 0; i < levelsBelowRoot; i++) {
            FdtNode.Builder b = FdtNode.builder("n");
            if (n != null) {
                b.child(n);
            }
            n = b.build();
        }
        return Fdt.of(FdtNode.root().child(n).build());
    }
}
