package org.xenpci.libxl.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PCI_SPEC_STRING vectors written from tools/libs/util/libxlu_pci.c (xlu_pci_parse_spec_string), docs/pci-spec-deviations.md and xl-pci-configuration(5).
 * Expected parses use a compact form: {@code dddd:bb:dd.f mask=M [vdevfn=0xV] [msi] [pm] [perm]
 * [seize] [rdm=P] [name=N] given=bdf|name}; strict is the Arm default RDM policy and not shown.
 */
class PciSpecParserTest {

    static Stream<Arguments> valid() {
        return Stream.of(
                Arguments.of("0000:01:00.0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("1:2.3", "0000:01:02.3 mask=1 given=bdf"),
                Arguments.of("ffff:ff:1f.7", "ffff:ff:1f.7 mask=1 given=bdf"),
                Arguments.of("FFFF:FF:1F.7", "ffff:ff:1f.7 mask=1 given=bdf"),
                Arguments.of("00000000:01:00.0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("1:00000000000000001.0", "0000:01:01.0 mask=1 given=bdf"),
                Arguments.of("0000:01:00.*", "0000:01:00.0 mask=ffffffff given=bdf"),
                Arguments.of("01:00.*@3", "0000:01:00.0 mask=ffffffff vdevfn=0x18 given=bdf"),
                Arguments.of("01:00.0@1f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0@1F", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0@0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0@00001f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0,", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,permissive=1", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive=yes", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,permissive=", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,permissive=2", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive= 7", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive=-1", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive=1x", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive=4294967296", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,permissive=99999999999999999999", "0000:01:00.0 mask=1 perm given=bdf"),
                Arguments.of("01:00.0,permissive=1,permissive=0", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,msitranslate=1,power_mgmt=1,seize=1", "0000:01:00.0 mask=1 msi pm seize given=bdf"),
                Arguments.of("01:00.0,rdm_policy=relaxed", "0000:01:00.0 mask=1 rdm=relaxed given=bdf"),
                Arguments.of("01:00.0,rdm_policy=STRICT", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.0,rdm_policy=Relaxed", "0000:01:00.0 mask=1 rdm=relaxed given=bdf"),
                Arguments.of("01:00.0,rdm_policy=invalid", "0000:01:00.0 mask=1 rdm=invalid given=bdf"),
                Arguments.of("name=gpu0", "0000:00:00.0 mask=0 name=gpu0 given=name"),
                Arguments.of("name=", "0000:00:00.0 mask=0 name= given=name"),
                Arguments.of("name=a,name=b", "0000:00:00.0 mask=0 name=b given=name"),
                Arguments.of("name=a b=c", "0000:00:00.0 mask=0 name=a b=c given=name"),
                Arguments.of("name=gpu0,seize=1,vslot=2", "0000:00:00.0 mask=0 vdevfn=0x10 seize name=gpu0 given=name"),
                Arguments.of("bdf=0000:03:00.1", "0000:03:00.1 mask=1 given=bdf"),
                Arguments.of("01:00.0,bdf=02:00.0", "0000:02:00.0 mask=1 given=bdf"),
                Arguments.of("01:00.*,bdf=02:00.3", "0000:02:00.3 mask=1 given=bdf"),
                Arguments.of("bdf=01:00.0@5", "0000:01:00.0 mask=1 given=bdf"),
                Arguments.of("bdf=01:00.7junk", "0000:01:00.7 mask=1 given=bdf"),
                Arguments.of("bdf=01:00.0,vslot=1f", "0000:01:00.0 mask=1 vdevfn=0xf8 given=bdf"),
                Arguments.of("01:00.0@2,vslot=3", "0000:01:00.0 mask=1 vdevfn=0x18 given=bdf"),
                Arguments.of("bdf=01:00.0,vslot=3zz", "0000:01:00.0 mask=1 vdevfn=0x18 given=bdf"),
                Arguments.of("vslot=3,bdf=01:00.0", "0000:01:00.0 mask=1 vdevfn=0x18 given=bdf"),
                Arguments.of("01:00.0@1,seize=1,", "0000:01:00.0 mask=1 vdevfn=0x8 seize given=bdf"));
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                // No ".F": undefined behaviour upstream, rejected (docs/pci-spec-deviations.md).
                Arguments.of("01:00", -6, null),
                Arguments.of("0000:01:00", -6, null),
                Arguments.of("01:00,name=x", -6, "Unknown PCI_SPEC_STRING option: 01:00,name"),
                // vslot is hex and at most 0x1f: the man page's own example is rejected.
                Arguments.of("01:00.0@20", -6, null),
                Arguments.of("36:00.0@20,seize=1", -6, null),
                Arguments.of("36:00.0,vslot=20,seize=1", -6, null),
                Arguments.of("01:00.0@", -6, null),
                Arguments.of("01:00.0@1fz", -6, null),
                // Range checks.
                Arguments.of("01:00.8", -6, null),
                Arguments.of("01:20.0", -6, null),
                Arguments.of("0000:100:00.0", -6, null),
                Arguments.of("10000:01:00.0", -6, null),
                // glibc sscanf spellings, accepted and rejected: PciSpecGlibcSpellingTest.
                Arguments.of("1:2:3:4.5", -6, null),
                // Key/value structure.
                Arguments.of("01:00.0,,permissive=1", -6, "Unknown PCI_SPEC_STRING option: ,permissive"),
                Arguments.of("01:00.0,foo=1", -6, "Unknown PCI_SPEC_STRING option: foo"),
                Arguments.of("01:00.0,Permissive=1", -6, "Unknown PCI_SPEC_STRING option: Permissive"),
                Arguments.of("01:00.0, permissive=1", -6, "Unknown PCI_SPEC_STRING option:  permissive"),
                Arguments.of("01:00.0,seize", -6, null),
                Arguments.of("01:00.0;seize=1", -6, null),
                Arguments.of("bdf=", -6, null),
                Arguments.of("vslot=,bdf=01:00.0", -6, null),
                Arguments.of("=1,bdf=01:00.0", -6, "Unknown PCI_SPEC_STRING option: "),
                // Exactly one of BDF and name.
                Arguments.of("", -6, null),
                Arguments.of("permissive=1", -6, null),
                Arguments.of("01:00.0,name=x", -6, null),
                Arguments.of("bdf=01:00.0,name=", -6, null),
                // rdm_policy: the enum lookup's ERROR_FAIL passes through.
                Arguments.of("01:00.0,rdm_policy=loose", -3, "Unknown RDM policy: loose"),
                Arguments.of("01:00.0,rdm_policy=", -3, "Unknown RDM policy: "),
                Arguments.of("01:00.0,rdm_policy=\u017ftrict", -3, "Unknown RDM policy: \u017ftrict"),
                Arguments.of("01:00.0,rdm_policy=loose,foo=1", -3, "Unknown RDM policy: loose"),
                Arguments.of("01:00.0,foo=1,rdm_policy=loose", -6, "Unknown PCI_SPEC_STRING option: foo"),
                Arguments.of("01:00.0,rdm_policy=strict ", -3, "Unknown RDM policy: strict "),
                // No xl input reaches the parser with a NUL (docs/pci-spec-deviations.md row 2).
                Arguments.of("01:00.0\u0000", -6, null));
    }

    @ParameterizedTest(name = "[{index}] \"{0}\" parses as {1}")
    @MethodSource("valid")
    @DisplayName("A valid PCI_SPEC_STRING parses to exactly the expected libxl_device_pci fields")
    void validSpecParses(String spec, String expected) {
        assertThat(describe(PciSpecParser.parse(spec))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "[{index}] \"{0}\" fails with {1} / {2}")
    @MethodSource("invalid")
    @DisplayName("An invalid PCI_SPEC_STRING fails with libxl's error code and xl's message")
    void invalidSpecFails(String spec, int code, String xlMessage) {
        assertThatThrownBy(() -> PciSpecParser.parse(spec))
                .isInstanceOfSatisfying(PciSpecException.class, e -> {
                    assertThat(e.code()).isEqualTo(code);
                    assertThat(e.xlMessage().orElse(null)).isEqualTo(xlMessage);
                    assertThat(e.spec()).isEqualTo(spec);
                });
    }

    @Test
    @DisplayName("Global pci_* defaults are applied first and per-device keys override them")
    void globalDefaultsApplyBeforeDeviceKeys() {
        PciDefaults all = new PciDefaults(true, true, true, true, RdmReservePolicy.RELAXED);
        assertThat(describe(PciSpecParser.parse("01:00.0", all)))
                .isEqualTo("0000:01:00.0 mask=1 msi pm perm seize rdm=relaxed given=bdf");
        assertThat(describe(PciSpecParser.parse("01:00.0,permissive=0,rdm_policy=strict,seize=no", all)))
                .isEqualTo("0000:01:00.0 mask=1 msi pm given=bdf");
    }

    @Test
    @DisplayName("The machine SBDF packs domain, bus, device and function like pci_encode_bdf")
    void machineSbdfIsPacked() {
        PciSpec s = PciSpecParser.parse("0001:02:1f.7");
        assertThat(s.machineSbdf()).isEqualTo(0x000102ff);
        assertThat(s.sbdf().toString()).isEqualTo("0001:02:1f.7");
        assertThat(PciSpecParser.parse("0000:01:00.0").machineSbdf()).isEqualTo(0x00000100);
    }

    @Test
    @DisplayName("xlu_pci_parse_bdf reads only a BDF and ignores what follows it")
    void parseBdfIgnoresTrailingText() {
        PciSpec s = PciSpecParser.parseBdf("0000:03:00.1,permissive=1");
        assertThat(describe(s)).isEqualTo("0000:03:00.1 mask=1 rdm=invalid given=bdf");
        assertThatThrownBy(() -> PciSpecParser.parseBdf("03:00"))
                .isInstanceOfSatisfying(PciSpecException.class, e -> assertThat(e.code()).isEqualTo(-6));
    }

    static String describe(PciSpec s) {
        StringBuilder b = new StringBuilder(String.format("%04x:%02x:%02x.%x mask=%x", s.domain(), s.bus(), s.dev(),
                s.func(), s.vfuncMask()));
        if (s.vdevfn() != 0) {
            b.append(" vdevfn=0x").append(Integer.toHexString(s.vdevfn()));
        }
        if (s.msitranslate()) {
            b.append(" msi");
        }
        if (s.powerMgmt()) {
            b.append(" pm");
        }
        if (s.permissive()) {
            b.append(" perm");
        }
        if (s.seize()) {
            b.append(" seize");
        }
        if (s.rdmPolicy() != RdmReservePolicy.STRICT) {
            b.append(" rdm=").append(s.rdmPolicy().libxlName());
        }
        s.name().ifPresent(n -> b.append(" name=").append(n));
        b.append(" given=").append(s.bdfGiven() ? "bdf" : "name");
        return b.toString();
    }
}
