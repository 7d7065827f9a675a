package org.xenpci.core.pci;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EcamAddressTest {

    @Test
    @DisplayName("an ECAM offset splits into bus 27:20, device 19:15, function 14:12, register 11:0")
    void decodesEcam() {
        EcamAddress a = EcamAddress.decode(0x0ABCDEF4L);
        assertThat(a.bus()).isEqualTo(0xAB);
        assertThat(a.devfn()).isEqualTo(0xCD);
        assertThat(a.device()).isEqualTo(0x19);
        assertThat(a.function()).isEqualTo(5);
        assertThat(a.register()).isEqualTo(0xEF4);
        assertThat(EcamAddress.offsetOf(0xAB, 0x19, 5, 0xEF4)).isEqualTo(0x0ABCDEF4L);
    }

    @Test
    @DisplayName("the same decoder with 8 register bits is CAM: bus 23:16, devfn 15:8, register 7:0")
    void decodesCam() {
        EcamAddress a = EcamAddress.decode(0x12345L, EcamAddress.CAM_REGISTER_BITS);
        assertThat(a).isEqualTo(new EcamAddress(0x01, 0x23 >> 3, 0x23 & 7, 0x45));
    }
}
