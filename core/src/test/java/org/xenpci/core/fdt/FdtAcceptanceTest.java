package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.xenpci.core.fdt.FdtFormatException.Reason.*;

import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xenpci.core.fdt.FdtFormatException.Reason;
import org.xenpci.core.testkit.DtcTool;

/**
 * The rows of docs/dtb-acceptance.md: for each hand-made blob, the reader's verdict and the
 * real dtc's verdict on the same bytes ({@code dtc -I dtb -O dts}). libfdt's
 * {@code fdt_check_full} verdict is the one the document records (measured against libfdt 1.6.1);
 * it is named in each row so a reader can see which tool a kept check follows.
 */
@DisplayName("DTB acceptance: the reader accepts what dtc and libfdt accept, and each remaining check has a reason")
class FdtAcceptanceTest {
    private static final String LONG_NAME = "qup-spi10-cs-gpio-init-high-pins";

    /** A row: what the model does ({@code null} reason = accepts) and what dtc and fdt_check_full do. */
    private static Arguments row(String scenario, Supplier<byte[]> blob, Reason model, boolean dtcAccepts, String libfdt) {
        return Arguments.of(scenario, blob, model, dtcAccepts, libfdt);
    }

    private static RawBlob root() {
        return RawBlob.create().begin("");
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                // Strictness removed: dtc and libfdt both accept.
                row("a 32-character node name (Linux 6.1 qcom pinctrl)", () -> root().begin(LONG_NAME).end().end().fdtEnd().build(),
                        null, true, "0"),
                row("a 200-character node name", () -> root().begin("x".repeat(200) + "@1").end().end().fdtEnd().build(),
                        null, true, "0"),
                row("an empty unit address 'foo@'", () -> root().begin("foo@").end().end().fdtEnd().build(), null, true, "0"),
                row("an empty node-name part '@10'", () -> root().begin("@10").end().end().fdtEnd().build(), null, true, "0"),
                row("the structure block 2 bytes past a 4-byte boundary",
                        () -> root().end().fdtEnd().structSkew(2).build(), null, true, "0"),
                row("the reservation map not 8-byte aligned", () -> root().end().fdtEnd().rsvSkew(4).build(), null, true, "0"),
                row("a word after FDT_END inside size_dt_struct", () -> root().end().fdtEnd().word(0x12345678).build(),
                        null, true, "0"),
                row("a reservation of size 0 ends the map; what follows is not read",
                        () -> root().end().fdtEnd().reserve(0x1000, 0).reserve(1, 1).unterminatedReservations().build(),
                        null, true, "0"),
                // Kept: both reject.
                row("last_comp_version 18", () -> root().end().fdtEnd().version(18, 18).build(), UNSUPPORTED_VERSION, true,
                        "-FDT_ERR_BADVERSION"),
                row("last_comp_version above version", () -> root().end().fdtEnd().version(16, 17).build(),
                        UNSUPPORTED_VERSION, true, "-FDT_ERR_BADVERSION"),
                row("a reservation map without a size-0 entry before totalsize",
                        () -> root().end().fdtEnd().reserve(1, 1).unterminatedReservations().build(),
                        MEM_RESERVE_UNTERMINATED, false, "-FDT_ERR_TRUNCATED"),
                row("an unknown token", () -> root().word(7).end().fdtEnd().build(), UNKNOWN_TOKEN, false, "-FDT_ERR_BADSTRUCTURE"),
                row("a property name offset past the strings block", () -> root().prop(100).end().fdtEnd().build(),
                        BAD_NAME_OFFSET, false, "-FDT_ERR_BADOFFSET"),
                row("a second root node", () -> root().end().begin("").end().fdtEnd().build(), MULTIPLE_ROOTS, false,
                        "-FDT_ERR_BADSTRUCTURE"),
                row("FDT_NOP after the root node", () -> root().end().nop().fdtEnd().build(), TOKEN_AFTER_ROOT, false,
                        "-FDT_ERR_BADSTRUCTURE"),
                row("a node left open at FDT_END", () -> root().begin("a").end().fdtEnd().build(), UNCLOSED_NODE, false,
                        "-FDT_ERR_BADSTRUCTURE"),
                row("one FDT_END_NODE too many", () -> root().end().end().fdtEnd().build(), UNBALANCED_END_NODE, false,
                        "-FDT_ERR_BADSTRUCTURE"),
                // Kept: libfdt rejects, dtc accepts.
                row("a root node with a name", () -> RawBlob.create().begin("r").end().fdtEnd().build(), ROOT_NAME_NOT_EMPTY,
                        true, "-FDT_ERR_BADSTRUCTURE"),
                // Kept: dtc rejects, libfdt accepts.
                row("no root node at all", () -> RawBlob.create().fdtEnd().build(), MISSING_ROOT, false, "0"),
                row("a property before the root node", () -> RawBlob.create().prop(0, (byte) 'x', (byte) 0).begin("").end()
                        .fdtEnd().build(), PROP_OUTSIDE_NODE, false, "0"),
                row("'!' in a node name", () -> root().begin("a!b").end().end().fdtEnd().build(), INVALID_NAME, false, "0"),
                row("'#' in a node name", () -> root().begin("a#b").end().end().fdtEnd().build(), INVALID_NAME, false, "0"),
                row("two '@' in a node name", () -> root().begin("a@1@2").end().end().fdtEnd().build(), INVALID_NAME, false, "0"),
                row("a space in a property name", () -> root().prop(0).end().fdtEnd().strings("a b\0").build(), INVALID_NAME,
                        false, "0"),
                row("two children of one name", () -> root().begin("n").end().begin("n").end().end().fdtEnd().build(),
                        DUPLICATE_NAME, false, "0"),
                row("two properties of one name", () -> root().prop(0).prop(0).end().fdtEnd().build(), DUPLICATE_NAME, false, "0"),
                // Kept: both accept, but the model cannot represent it.
                row("a child node with an empty name", () -> root().begin("").end().end().fdtEnd().build(), INVALID_NAME, true,
                        "0"),
                row("a property with an empty name", () -> root().prop(11).end().fdtEnd().strings("compatible\0\0").build(),
                        INVALID_NAME, true, "0"),
                row("version 3 (dtc -V 3; the root's name is its full path '/')",
                        () -> RawBlob.create().begin("/").end().fdtEnd().version(3, 1).build(), UNSUPPORTED_VERSION, true, "0"));
    }

    @ParameterizedTest(name = "{0}: model {2}, fdt_check_full {4}")
    @MethodSource("rows")
    @DisplayName("the reader's verdict on each row")
    void modelVerdict(String scenario, Supplier<byte[]> blob, Reason model, boolean dtcAccepts, String libfdt) {
        byte[] b = blob.get();
        if (model == null) {
            assertThat(FdtReader.read(b).root().name()).isEmpty();
        } else {
            FdtFormatException e = catchThrowableOfType(() -> FdtReader.read(b), FdtFormatException.class);
            assertThat(e).as(scenario).isNotNull();
            assertThat(e.reason()).isEqualTo(model);
            assertThat(e.offset()).isBetween(0L, (long) b.length);
        }
    }

    @ParameterizedTest(name = "{0}: dtc accepts = {3}")
    @MethodSource("rows")
    @DisplayName("dtc's verdict on the same bytes is the one the table records")
    void dtcVerdict(String scenario, Supplier<byte[]> blob, Reason model, boolean dtcAccepts, String libfdt) {
        DtcTool.requireDtc();
        DtcTool.DtcResult r = DtcTool.decompile(blob.get());
        assertThat(r.exitCode() == 0).as(scenario + ": dtc exit " + r.exitCode() + ", " + r.stderr()).isEqualTo(dtcAccepts);
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("org.xenpci.core.fdt.FdtReaderTest#corruptions")
    @DisplayName("dtc rejects every corruption FdtReaderTest lists, except those only libfdt rejects")
    void dtcRejectsTheReadersCorruptions(String scenario, Supplier<byte[]> blob, Reason reason, int offset) {
        DtcTool.requireDtc();
        // dtc ignores last_comp_version and size_dt_struct, and checks off_mem_rsvmap against
        // totalsize only; fdt_check_full checks all three (docs/dtb-acceptance.md).
        boolean onlyLibfdtRejects = java.util.Set.of("root node with a name", "last_comp_version 18",
                "last_comp_version above version", "reservation map inside the header",
                "node name running to the end of the structure block", "structure block ending inside a token")
                .contains(scenario);
        DtcTool.DtcResult r = DtcTool.decompile(blob.get());
        assertThat(r.exitCode() == 0).as(scenario + ": dtc exit " + r.exitCode() + ", " + r.stderr()).isEqualTo(onlyLibfdtRejects);
    }

    @Test
    @DisplayName("a long node name survives read, write and dtc's decompile under its own name")
    void longNameRoundTrip() {
        byte[] b = root().begin(LONG_NAME).prop(0, (byte) 'x', (byte) 0).end().end().fdtEnd().build();
        Fdt fdt = FdtReader.read(b);
        assertThat(fdt.root().children()).extracting(FdtNode::name).containsExactly(LONG_NAME);
        assertThat(FdtReader.read(FdtWriter.write(fdt))).isEqualTo(fdt);
        DtcTool.requireDtc();
        assertThat(DtcTool.decompile(b).text()).contains(LONG_NAME + " {");
    }

    @Test
    @DisplayName("the entry after a size-0 reservation is not part of the map, as libfdt's fdt_num_mem_rsv counts it")
    void sizeZeroEndsTheMap() {
        byte[] b = root().end().fdtEnd().reserve(0x2000, 0x1000).reserve(0x8000_0000L, 0).reserve(0x1000, 0x2000).build();
        assertThat(FdtReader.read(b).memReserves()).containsExactly(new MemReserve(0x2000, 0x1000));
    }
}
