package org.xenpci.libxl.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xenpci.libxl.config.PciSpecParserTest.describe;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.BARE_HEX_PREFIX;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.BLANK;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.HEX_PREFIX;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.IGNORED_TEXT;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.SIGN;
import static org.xenpci.libxl.config.PciSpecWarning.Kind.WRAPPED;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The spellings xl accepts only because libxlu_pci.c reads every number with glibc's
 * {@code sscanf("%x")} ({@code parse_bdf}, {@code parse_vslot}): white space, a sign, a
 * {@code 0x} prefix (even without digits), values cut from 64 to 32 bits. Each expected value is
 * what glibc 2.36's {@code sscanf} gives for the same formats on LP64; the same table lists the
 * look-alikes xl rejects, and what {@link PciSpecLint} reports for each accepted spelling.
 * Expected parses use {@link PciSpecParserTest#describe}'s form.
 */
class PciSpecGlibcSpellingTest {

    static Stream<Arguments> acceptedByXl() {
        return Stream.of(
                // 0x / 0X prefixes on any number after the first.
                Arguments.of("03:0x1f.0", "0000:03:1f.0 mask=1 given=bdf"),
                Arguments.of("0000:01:0x1f.0", "0000:01:1f.0 mask=1 given=bdf"),
                Arguments.of("01:00.0@0x1f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0@0X1F", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0@0x1f,seize=1", "0000:01:00.0 mask=1 vdevfn=0xf8 seize given=bdf"),
                Arguments.of("01:00.0,vslot=0x1f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("bdf=01:00.0x7", "0000:01:00.7 mask=1 given=bdf"),
                Arguments.of("01:00.0x1@2", "0000:01:00.1 mask=1 vdevfn=0x10 given=bdf"),
                // "0x" without digits: the number 0, the x consumed.
                Arguments.of("01:00.0x", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0X", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0x,seize=1", "0000:01:00.0 mask=1 seize given=bdf"),
                Arguments.of("01:0x.0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0@0x", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("name=x,vslot=0x", "0000:00:00.0 mask=0 name=x given=name"),
                // White space before a number (not before the first: that one must start the
                // run of hex digits and ':').
                Arguments.of("01:00. 3", "0000:01:00.3 mask=1 given=bdf"),
                Arguments.of("01:00.0@ 1", "0000:01:00.0 mask=1 vdevfn=0x8 given=bdf"),
                Arguments.of("01: 1.0", "0000:01:01.0 mask=1 given=bdf"),
                Arguments.of("01:00.\t\u000b5", "0000:01:00.5 mask=1 given=bdf"),
                Arguments.of("01:00.0,vslot= 0x1f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("bdf=01: 2.3", "0000:01:02.3 mask=1 given=bdf"),
                // Signs: '+' is nothing, '-' negates modulo 2^64 before the cut to 32 bits.
                Arguments.of("01:+1.0", "0000:01:01.0 mask=1 given=bdf"),
                Arguments.of("01:00.+7", "0000:01:00.7 mask=1 given=bdf"),
                Arguments.of("01:00.0,vslot=+3", "0000:01:00.0 mask=1 vdevfn=0x18 given=bdf"),
                Arguments.of("01:00.-0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:-0.0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0@-0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01: +0x1f.0", "0000:01:1f.0 mask=1 given=bdf"),
                Arguments.of("1:-ffffffffffffffff.0", "0000:01:01.0 mask=1 given=bdf"),
                Arguments.of("1:-fffffffffffffff8.0", "0000:01:08.0 mask=1 given=bdf"),
                // Above 32 bits (but within 64): cut to the unsigned int.
                Arguments.of("1:100000001.0", "0000:01:01.0 mask=1 given=bdf"),
                Arguments.of("100000001:2.3", "0000:01:02.3 mask=1 given=bdf"),
                Arguments.of("01:00.0@100000003", "0000:01:00.0 mask=1 vdevfn=0x18 given=bdf"));
    }

    static Stream<Arguments> rejectedByXl() {
        return Stream.of(
                // "-1" is 0xffffffff after the cut: out of range.
                Arguments.of("01:00.-1", "function -1 is 0xffffffff"),
                Arguments.of("01:00.0@-1", "vslot -1 is 0xffffffff"),
                Arguments.of("name=x,vslot=-1", "vslot -1 is 0xffffffff"),
                // Above 64 bits strtoul saturates to ULONG_MAX: out of range.
                Arguments.of("1:10000000000000001.0", "device saturates"),
                Arguments.of("01:00.0@0x20", "vslot above 0x1f"),
                // The first number starts the run that counts the colons: no colon, no BDF.
                Arguments.of("0x0:01:00.0", "no ':' in the leading run"),
                Arguments.of(" 01:00.0", "no ':' in the leading run"),
                Arguments.of("bdf= 01:02.3", "no ':' in the leading run"),
                // A sign or "0x" alone is no number.
                Arguments.of("01:00.+", "no number"),
                Arguments.of("01:00.0@+", "no number"),
                Arguments.of("01:00.0@ ", "no number"),
                // Text left after the positional BDF or vslot.
                Arguments.of("01:00.0x7z", "'z' after the BDF"),
                Arguments.of("01:00.0x,foo=1", "unknown key (xl message checked in PciSpecParserTest)"),
                // Every number read but no '.' where %n would run: undefined behaviour upstream
                // (docs/pci-spec-deviations.md row 1), rejected.
                Arguments.of("0000: 01:00.0", "one colon in the run, ':' where '.' is due"),
                Arguments.of("0000:0x01:00.0", "one colon in the run, ':' where '.' is due"),
                Arguments.of("1:2 .0", "blank before '.'"),
                Arguments.of("01:0x0x.0", "'x' where '.' is due"),
                Arguments.of("bdf=0000:0x3:0X1f.0x7", "one colon in the run, ':' where '.' is due"));
    }

    @ParameterizedTest(name = "[{index}] \"{0}\" parses as {1}")
    @MethodSource("acceptedByXl")
    @DisplayName("A spelling xl accepts through glibc's %x parses to the values xl computes")
    void acceptedSpellingHasXlsValues(String spec, String expected) {
        assertThat(describe(PciSpecParser.parse(spec))).isEqualTo(expected);
        assertThat(PciSpecLint.warnings(spec)).as("every such spelling is linted").isNotEmpty();
    }

    @ParameterizedTest(name = "[{index}] \"{0}\" is rejected: {1}")
    @MethodSource("rejectedByXl")
    @DisplayName("A look-alike xl rejects fails with ERROR_INVAL and lints to nothing")
    void rejectedSpellingFails(String spec, String why) {
        assertThatThrownBy(() -> PciSpecParser.parse(spec))
                .isInstanceOfSatisfying(PciSpecException.class, e -> assertThat(e.code()).isEqualTo(-6));
        assertThat(PciSpecLint.warnings(spec)).isEmpty();
    }

    record W(int offset, PciSpecWarning.Kind kind) {
    }

    static Stream<Arguments> lint() {
        return Stream.of(
                Arguments.of("03:0x1f.0", List.of(new W(3, HEX_PREFIX))),
                Arguments.of("01:00.0@0x1f", List.of(new W(8, HEX_PREFIX))),
                Arguments.of("01:00.0,vslot=0x1f", List.of(new W(14, HEX_PREFIX))),
                Arguments.of("bdf=01:00.0x7", List.of(new W(10, HEX_PREFIX))),
                Arguments.of("01:00.0x", List.of(new W(6, BARE_HEX_PREFIX))),
                Arguments.of("name=x,vslot=0x", List.of(new W(13, BARE_HEX_PREFIX))),
                Arguments.of("01:00. 3", List.of(new W(6, BLANK))),
                Arguments.of("01:00.0@ 1", List.of(new W(8, BLANK))),
                Arguments.of("01:+1.0", List.of(new W(3, SIGN))),
                Arguments.of("01:00.-0", List.of(new W(6, SIGN))),
                Arguments.of("01: +0x1f.0", List.of(new W(3, BLANK), new W(4, SIGN), new W(5, HEX_PREFIX))),
                Arguments.of("1:-ffffffffffffffff.0", List.of(new W(2, SIGN), new W(2, WRAPPED))),
                Arguments.of("1:100000001.0", List.of(new W(2, WRAPPED))),
                Arguments.of("01:00.0@100000003", List.of(new W(8, WRAPPED))),
                // Text xl never reads (accepted before this lint existed; values unchanged).
                Arguments.of("bdf=01:00.0@5", List.of(new W(11, IGNORED_TEXT))),
                Arguments.of("bdf=01:00.0,vslot=3zz", List.of(new W(19, IGNORED_TEXT))),
                // Both the positional BDF and the bdf= override are read, and both are linted.
                Arguments.of("01:0x1.0,bdf=02: 0.0", List.of(new W(3, HEX_PREFIX), new W(16, BLANK))));
    }

    @ParameterizedTest(name = "[{index}] \"{0}\" warns {1}")
    @MethodSource("lint")
    @DisplayName("PciSpecLint names each lenient spelling with its offset and kind")
    void lintFindsEachLenientSpelling(String spec, List<W> expected) {
        List<PciSpecWarning> ws = PciSpecLint.warnings(spec);
        assertThat(ws).extracting(w -> new W(w.offset(), w.kind())).containsExactlyElementsOf(expected);
        assertThat(ws).allSatisfy(w -> {
            assertThat(w.spec()).isEqualTo(spec);
            assertThat(w.message()).isNotBlank();
        });
    }

    @ParameterizedTest(name = "[{index}] \"{0}\"")
    @ValueSource(strings = {"0000:01:00.0", "01:00.0", "1:2.3", "FFFF:FF:1F.7", "00000000:01:00.0",
            "1:00000000000000001.0", "0000:01:00.*", "01:00.*@3", "01:00.0@1f", "01:00.0@00001f", "01:00.0,",
            "01:00.0,permissive=1", "01:00.0,permissive= 7", "name=gpu0,seize=1,vslot=2", "bdf=0000:03:00.1",
            "01:00.0,bdf=02:00.0", "bdf=01:00.0,vslot=1f", "01:00.0@1,seize=1,", "01:00.0,rdm_policy=relaxed"})
    @DisplayName("A canonical spec lints to nothing")
    void canonicalSpecHasNoWarnings(String spec) {
        assertThat(PciSpecLint.warnings(spec)).isEmpty();
    }

    @Test
    @DisplayName("Linting never changes what a spec parses to")
    void lintDoesNotChangeTheParse() {
        acceptedByXl().map(a -> (String) a.get()[0]).forEach(spec -> {
            PciSpec before = PciSpecParser.parse(spec);
            PciSpecLint.warnings(spec);
            assertThat(PciSpecParser.parse(spec)).isEqualTo(before);
            assertThat(PciSpecParser.parse(spec, PciDefaults.ARM, new java.util.ArrayList<>())).isEqualTo(before);
        });
    }

    @Test
    @DisplayName("A lenient pci= entry is surfaced in XlConfig.warnings() with its line, after the unknown keys")
    void xlConfigSurfacesLintWarnings() {
        XlConfig c = XlConfig.parse("name = \"g\"\nvif = [ ]\npci = [ \"0000:01:00.0\",\n"
                + "  \"03:0x1f.0@ 2\" ]\n", "g.cfg");
        assertThat(c.pciDevices()).extracting(PciSpec::bdfText).containsExactly("0000:01:00.0", "0000:03:1f.0");
        assertThat(c.pciDevices().get(1).vslot()).isEqualTo(2);
        assertThat(c.warnings()).extracting(XlWarning::toString).containsExactly(
                "g.cfg:2: warning: Unknown key `vif'",
                "g.cfg:4: warning: pci[1] `03:0x1f.0@ 2' at offset 3: `0x' prefix on the device number (`0x1f'), "
                        + "read only by glibc's %x; the number is hex without it (1f)",
                "g.cfg:4: warning: pci[1] `03:0x1f.0@ 2' at offset 10: white space before the vslot number (` 2'), "
                        + "skipped only by sscanf's %x");
    }

    @Test
    @DisplayName("xl create -n's JSON of a lenient pci= entry is the JSON of its canonical spelling")
    void lenientSpellingGivesTheCanonicalJson() {
        String lenient = org.xenpci.libxl.json.LibxlJson.toPrettyJson(XlConfig.parse(
                "name = \"g\"\npci = [ \"0000:03: 0x1f.+0x7@ 0X1f,seize=1\", \"1:100000001.0,vslot=0x2\" ]\n", "g.cfg"));
        String canonical = org.xenpci.libxl.json.LibxlJson.toPrettyJson(XlConfig.parse(
                "name = \"g\"\npci = [ \"0000:03:1f.7@1f,seize=1\", \"01:01.0@2\" ]\n", "g.cfg"));
        assertThat(lenient).isEqualTo(canonical).contains("\"vdevfn\" : 248");
    }
}
