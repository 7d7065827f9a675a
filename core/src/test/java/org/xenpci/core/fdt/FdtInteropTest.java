package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Blobs compiled by the real dtc 1.6.1")
class FdtInteropTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qemu-virt.dts", "zynqmp.dts"})
    @DisplayName("survive read then write byte for byte")
    void readWriteIsByteIdentical(String fixture) {
        byte[] dtb = DtcTool.compileDts(DtcTool.resource(fixture));
        Fdt fdt = FdtReader.read(dtb);
        assertThat(FdtWriter.write(fdt)).isEqualTo(dtb);
    }
}
