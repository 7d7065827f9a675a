package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Property values")
class FdtPropertyTest {

    @Test
    @DisplayName("u32 stores big-endian cells and reads them back")
    void u32Cells() {
        FdtProperty p = FdtProperty.u32("reg", 0x40, 0x10000000, 0, 0x10000000);
        assertThat(p.value()).containsExactly(0, 0, 0, 0x40, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
        assertThat(p.asCells()).containsExactly(0x40, 0x10000000, 0, 0x10000000);
        assertThat(p.cellCount()).isEqualTo(4);
        assertThat(p.length()).isEqualTo(16);
    }

    @Test
    @DisplayName("asLong reads multi-cell numbers most significant cell first, as reg with #address-cells = 2")
    void asLong() {
        FdtProperty reg = FdtProperty.u32("reg", 0x40, 0x10000000, 0, 0x10000000);
        assertThat(reg.asLong(0, 2)).isEqualTo(0x40_1000_0000L);
        assertThat(reg.asLong(2, 2)).isEqualTo(0x1000_0000L);
        assertThat(reg.asLong(1, 1)).isEqualTo(0x1000_0000L);
        assertThat(reg.asLong(0, 0)).isZero();
        assertThat(FdtProperty.u32("x", -1).asLong(0, 1)).as("cells are unsigned").isEqualTo(0xffff_ffffL);
    }

    @Test
    @DisplayName("asLong names the property when the cells lie outside the value")
    void asLongOutOfRange() {
        FdtProperty reg = FdtProperty.u32("reg", 1, 2, 3);
        assertThatThrownBy(() -> reg.asLong(2, 2))
                .isInstanceOfSatisfying(FdtValueException.class, e -> assertThat(e.propertyName()).isEqualTo("reg"))
                .hasMessageContaining("'reg'");
        assertThatThrownBy(() -> reg.asLong(0, 3)).isInstanceOf(FdtValueException.class);
    }

    @Test
    @DisplayName("u64 writes two cells per number")
    void u64() {
        FdtProperty p = FdtProperty.u64("linux,initrd-start", 0x1_2345_6789L);
        assertThat(p.asCells()).containsExactly(1, 0x23456789);
        assertThat(p.asU64()).isEqualTo(0x1_2345_6789L);
    }

    @Test
    @DisplayName("strings are NUL-terminated and string lists split back")
    void strings() {
        FdtProperty p = FdtProperty.strings("compatible", "arm,pl011", "arm,primecell");
        assertThat(p.value()).hasSize(24).endsWith(0);
        assertThat(p.asStringList()).containsExactly("arm,pl011", "arm,primecell");
        assertThat(FdtProperty.string("status", "okay").asString()).isEqualTo("okay");
        assertThat(FdtProperty.string("e", "").value()).containsExactly(0);
        assertThat(FdtProperty.string("e", "").asString()).isEmpty();
    }

    @Test
    @DisplayName("wrong shapes raise FdtValueException naming the property")
    void wrongShapes() {
        assertThatThrownBy(() -> FdtProperty.strings("compatible", "a", "b").asString())
                .isInstanceOf(FdtValueException.class).hasMessage("property 'compatible': expected one string but found 2");
        assertThatThrownBy(() -> FdtProperty.u32("reg", 1, 2).asU32())
                .isInstanceOf(FdtValueException.class).hasMessage("property 'reg': expected 4 bytes (one cell) but found 8");
        assertThatThrownBy(() -> FdtProperty.bytes("mac", new byte[] {1, 2, 3}).asCells())
                .isInstanceOf(FdtValueException.class).hasMessageContaining("'mac'");
        assertThatThrownBy(() -> FdtProperty.u32("x", 0x61626364).asStringList())
                .isInstanceOf(FdtValueException.class).hasMessageContaining("not NUL-terminated");
        assertThatThrownBy(() -> FdtProperty.empty("e").asStringList()).isInstanceOf(FdtValueException.class);
        assertThatThrownBy(() -> FdtProperty.strings("s", "a\0b")).isInstanceOf(FdtValueException.class);
    }

    @Test
    @DisplayName("values are copied in and out, and equality is by content")
    void immutability() {
        byte[] raw = {1, 2, 3};
        FdtProperty p = FdtProperty.bytes("b", raw);
        raw[0] = 9;
        p.value()[1] = 9;
        assertThat(p.value()).containsExactly(1, 2, 3);
        assertThat(p).isEqualTo(FdtProperty.bytes("b", new byte[] {1, 2, 3}));
        assertThat(p.hashCode()).isEqualTo(FdtProperty.bytes("b", new byte[] {1, 2, 3}).hashCode());
        assertThat(p).isNotEqualTo(FdtProperty.bytes("c", new byte[] {1, 2, 3}));
        assertThat(p.toString()).isEqualTo("b = [01 02 03]");
    }

    @Test
    @DisplayName("property names follow the Devicetree Specification v0.4 2.2.4 plus the characters dtc accepts")
    void names() {
        assertThat(FdtProperty.empty("#address-cells").name()).isEqualTo("#address-cells");
        assertThat(FdtProperty.empty("linux,pci-domain").isEmpty()).isTrue();
        assertThat(FdtNames.isValidPropertyName("snps,dis-del-phy-power-chg-quirk")).as("longer than 31").isTrue();
        assertThat(FdtNames.isValidPropertyName("a*b@c?#")).isTrue();
        assertThatThrownBy(() -> FdtProperty.empty("")).isInstanceOf(FdtTreeException.class);
        assertThatThrownBy(() -> FdtProperty.empty("bad name")).isInstanceOf(FdtTreeException.class);
        assertThatThrownBy(() -> FdtProperty.empty("a/b")).isInstanceOf(FdtTreeException.class);
    }
}
