package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

@DisplayName("Xen's boot on hardware the device tree describes")
class XenBootTest {
    @Test
    @DisplayName("a host DT without any RAM bank stops Xen's boot as setup_mm does: \"No memory bank\", a BootException on /memory")
    void noMemoryBank() {
        Fdt dt = Fdt.of(FdtNode.root().property(FdtProperty.u32("#address-cells", 2)).property(FdtProperty.u32("#size-cells", 2))
                .build());
        Hardware hw = new Hardware(dt, new PhysicalAddressSpace());
        assertThatThrownBy(() -> Xen.builder().hardware(hw).build())
                .isInstanceOfSatisfying(BootException.class, e -> assertThat(e.nodePath()).isEqualTo("/memory"))
                .hasMessageContaining("Xen panics (\"No memory bank\")");
    }

    @Test
    @DisplayName("with one bank it boots and dom0's RAM is that bank, 1:1")
    void oneBank() {
        Xen xen = Xen.builder().hardware(TestHardware.hardware()).build();
        assertThat(xen.hardwareDomain()).isNotNull();
    }
}
