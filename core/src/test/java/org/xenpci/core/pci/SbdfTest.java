package org.xenpci.core.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SbdfTest {

    @Test
    @DisplayName("an SBDF packs as Xen's seg << 16 | bus << 8 | devfn and prints as ssss:bb:dd.f")
    void packsAndPrints() {
        Sbdf s = new Sbdf(0x1, 0x02, 0x1f, 7);
        assertThat(s.devfn()).isEqualTo(0xff);
        assertThat(s.bdf()).isEqualTo(0x02ff);
        assertThat(s.sbdf()).isEqualTo(0x102ff);
        assertThat(s).hasToString("0001:02:1f.7");
        assertThat(Sbdf.fromPacked(0x102ff)).isEqualTo(s);
        assertThat(Sbdf.ofDevfn(1, 2, 0xff)).isEqualTo(s);
    }

    @Test
    @DisplayName("parsing accepts both the short and the long form, in either case")
    void parses() {
        assertThat(Sbdf.parse("01:00.0")).isEqualTo(Sbdf.of(1, 0, 0));
        assertThat(Sbdf.parse("ABCD:Fe:1F.7")).isEqualTo(new Sbdf(0xabcd, 0xfe, 0x1f, 7));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "01:00", "0:1:2:3.0", "01:00.8", "01:20.0", "100:00.0", "10000:00:00.0",
        " 01:00.0", "01:00.0 ", "0x1:00.0", "01:0g.0", "01:00.", ":00.0", "01:00.00"})
    @DisplayName("malformed BDF strings are refused with a message naming the input")
    void rejects(String text) {
        assertThatThrownBy(() -> Sbdf.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed BDF \"" + text + "\"");
    }

    @Test
    @DisplayName("out-of-range components name the component")
    void namesComponent() {
        assertThatThrownBy(() -> new Sbdf(0, 0, 32, 0)).hasMessageContaining("device 0x20");
        assertThatThrownBy(() -> new Sbdf(0, 256, 0, 0)).hasMessageContaining("bus 0x100");
        assertThatThrownBy(() -> new Sbdf(0x10000, 0, 0, 0)).hasMessageContaining("segment 0x10000");
        assertThatThrownBy(() -> new Sbdf(0, 0, 0, 8)).hasMessageContaining("function 0x8");
    }
}
