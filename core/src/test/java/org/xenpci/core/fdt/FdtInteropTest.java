package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Interop with the real dtc 1.6.1 on hand-written fixtures")
class FdtInteropTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qemu-virt.dts", "zynqmp.dts", "edge-cases.dts"})
    @DisplayName("a dtc-compiled blob survives read then write byte for byte")
    void readWriteIsByteIdentical(String fixture) {
        byte[] dtb = DtcTool.compileDts(DtcTool.resource(fixture));
        Fdt fdt = FdtReader.read(dtb);
        assertThat(FdtWriter.write(fdt)).isEqualTo(dtb);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qemu-virt.dts", "zynqmp.dts", "edge-cases.dts"})
    @DisplayName("our DTS compiles back through dtc to the identical blob with zero warnings")
    void dtsWriterOutputRecompilesIdentically(String fixture) {
        byte[] dtb = DtcTool.compileDts(DtcTool.resource(fixture));
        String dts = DtsWriter.write(FdtReader.read(dtb));
        DtcTool.DtcResult r = DtcTool.compile(dts);
        assertThat(r.exitCode()).isZero();
        assertThat(r.stderr()).as("dtc warnings for:\n%s", dts).isEmpty();
        assertThat(r.output()).isEqualTo(dtb);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qemu-virt.dts", "zynqmp.dts", "edge-cases.dts"})
    @DisplayName("dtc decompiles our blob without warnings and re-emits it unchanged")
    void dtcAcceptsOurBlob(String fixture) {
        Fdt fdt = FdtReader.read(DtcTool.compileDts(DtcTool.resource(fixture)));
        byte[] ours = FdtWriter.write(fdt);
        DtcTool.DtcResult dts = DtcTool.decompile(ours);
        assertThat(dts.exitCode()).isZero();
        assertThat(dts.stderr()).isEmpty();
        DtcTool.DtcResult again = DtcTool.recompile(ours);
        assertThat(again.stderr()).isEmpty();
        assertThat(again.output()).isEqualTo(ours);
    }
}
