package org.xenpci.armpci.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;

@DisplayName("A device that cannot be placed says which host bridge nodes were not built, and why")
class PlatformPlacementTest {

    @Test
    @DisplayName("a board whose only bridge has no model: the error names the node, its compatible and what is modelled")
    void unmodelledBridgeIsNamed() {
        Fdt dt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.qemuPcie().setProperty(FdtProperty.strings("compatible", "fsl,imx8mq-pcie", "snps,dw-pcie")).build())
                .build());
        Platform.PlacementException e = catchThrowableOfType(Platform.PlacementException.class,
                () -> Platform.builder(dt).device(Sbdf.parse("0000:00:01.0"), DeviceCatalog.values()[0].newFunction()).build());
        assertThat(e.getMessage()).contains("no host bridge in the device tree has segment 0")
                .contains("/pcie@10000000 (compatible fsl,imx8mq-pcie, snps,dw-pcie: no host bridge model; modelled: ");
    }
}
