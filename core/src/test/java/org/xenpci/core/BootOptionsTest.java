package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BootOptionsTest {

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource({
        "'', false",
        "pci-passthrough, true",
        "pci-passthrough=on, true",
        "pci-passthrough=1, true",
        "pci-passthrough=yes, true",
        "pci-passthrough=true, true",
        "pci-passthrough=enable, true",
        "pci-passthrough=off, false",
        "pci-passthrough=0, false",
        "pci-passthrough=no, false",
        "pci-passthrough=false, false",
        "pci-passthrough=disable, false",
        "no-pci-passthrough, false",
        "'pci-passthrough=on no-pci-passthrough', false",
        "'pci-passthrough=on pci-passthrough=bogus', true",
    })
    @DisplayName("pci-passthrough takes Xen's boolean spellings")
    void booleanSpellings(String cmdline, boolean expected) {
        assertThat(BootOptions.parse(cmdline).pciPassthrough()).isEqualTo(expected);
    }

    @Test
    @DisplayName("the seed's pci=on is not the passthrough switch: it is ignored with a warning")
    void seedSpellingIsNotTheSwitch() {
        BootOptions o = BootOptions.parse("console=dtuart pci=on");
        assertThat(o.pciPassthrough()).isFalse();
        assertThat(o.warnings()).containsExactly("parameter \"console=dtuart\" unknown!", "parameter \"pci=on\" unknown!");
    }

    @Test
    @DisplayName("an invalid boolean leaves the default and warns as Xen does")
    void invalidValue() {
        BootOptions o = BootOptions.parse("pci-passthrough=maybe");
        assertThat(o.pciPassthrough()).isFalse();
        assertThat(o.warnings()).containsExactly("parameter \"pci-passthrough\" has invalid value \"maybe\", rc=-22!");
    }
}
