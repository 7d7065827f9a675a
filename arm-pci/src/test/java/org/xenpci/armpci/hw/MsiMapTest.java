package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("msi-map / msi-map-mask / msi-parent with of_map_id semantics")
class MsiMapTest {

    @Test
    @DisplayName("QEMU virt's <0 &its 0 0x10000> maps every requester ID to the same DeviceID on the ITS")
    void qemuIdentity() {
        MsiMap m = MsiMap.of(new int[] {0, 0x8004, 0, 0x10000}, null, null);
        assertThat(m.map(0x0008)).contains(new MsiMap.Translation(0x8004, 0x0008));
        assertThat(m.map(0xffff)).contains(new MsiMap.Translation(0x8004, 0xffff));
        assertThat(m.map(0x10000)).as("outside the length").isEmpty();
    }

    @Test
    @DisplayName("entries are searched in order, the mask applies first and the offset adds msi-base")
    void offsetsAndMask() {
        MsiMap m = MsiMap.of(new int[] {0x100, 1, 0x2000, 0x100, 0x0, 2, 0x10, 0x100}, new int[] {0xff07}, null);
        assertThat(m.map(0x0108)).as("bus 1 dev 1: masked 0x100").contains(new MsiMap.Translation(1, 0x2000));
        assertThat(m.map(0x0009)).as("bus 0 dev 1 fn 1: masked 0x001").contains(new MsiMap.Translation(2, 0x11));
        assertThat(m.map(0x0200)).isEmpty();
    }

    @Test
    @DisplayName("an entry whose rid-base has bits outside the mask never matches")
    void badBase() {
        MsiMap m = MsiMap.of(new int[] {0x100, 1, 0, 0x100}, new int[] {0xff}, null);
        assertThat(m.map(0x100)).isEmpty();
    }

    @Test
    @DisplayName("msi-parent alone: DeviceID = RID, or the fixed ID of a one-cell specifier; msi-map wins over it")
    void parent() {
        assertThat(MsiMap.of(null, null, new int[] {0x19}).map(0x0210)).contains(new MsiMap.Translation(0x19, 0x0210));
        assertThat(MsiMap.of(null, null, new int[] {0x19, 7}).map(0x0210)).contains(new MsiMap.Translation(0x19, 7));
        assertThat(MsiMap.of(new int[] {0, 5, 0, 1}, null, new int[] {0x19}).map(0x0210)).isEmpty();
        assertThat(MsiMap.NONE.map(0)).isEmpty();
    }

    @Test
    @DisplayName("malformed properties throw naming the property")
    void malformed() {
        assertThatThrownBy(() -> MsiMap.of(new int[] {0, 1, 0}, null, null)).isInstanceOf(HardwareConfigException.class)
                .hasMessage("msi-map has 3 cells, not a non-zero multiple of 4");
        assertThatThrownBy(() -> MsiMap.of(null, new int[] {1, 2}, null)).hasMessage("msi-map-mask has 2 cells, not 1");
    }
}
