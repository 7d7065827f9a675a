package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Whole trees: paths, phandles, walks and edits")
class FdtTest {

    private static Fdt virt() {
        FdtNode its = FdtNode.builder("its@8080000")
                .property(FdtProperty.empty("msi-controller"))
                .property(FdtProperty.u32("#msi-cells", 1))
                .property(FdtProperty.u32("phandle", 0x8003))
                .build();
        FdtNode intc = FdtNode.builder("intc@8000000")
                .property(FdtProperty.u32("phandle", 0x8002))
                .child(its)
                .build();
        FdtNode pcie = FdtNode.builder("pcie@10000000")
                .property(FdtProperty.u32("msi-map", 0, 0x8003, 0, 0x10000))
                .build();
        FdtNode root = FdtNode.root().property(FdtProperty.u32("#address-cells", 2)).child(intc).child(pcie).build();
        return new Fdt(root, List.of(new MemReserve(0x48000000L, 0x100000)), 0);
    }

    @Test
    @DisplayName("a node is found by absolute path, with or without unit address")
    void pathLookup() {
        Fdt fdt = virt();
        assertThat(fdt.node("/intc@8000000/its@8080000")).map(FdtNode::name).contains("its@8080000");
        assertThat(fdt.node("/intc/its")).map(FdtNode::name).contains("its@8080000");
        assertThat(fdt.node("/")).contains(fdt.root());
        assertThat(fdt.node("/intc@8000000/nope")).isEmpty();
        assertThatThrownBy(() -> fdt.node("intc")).isInstanceOf(FdtTreeException.class);
        assertThatThrownBy(() -> fdt.node("/intc//its")).isInstanceOf(FdtTreeException.class);
    }

    @Test
    @DisplayName("nodeByPhandle resolves the msi-map target to the ITS")
    void phandles() {
        Fdt fdt = virt();
        int target = fdt.node("/pcie@10000000").orElseThrow().property("msi-map").orElseThrow().asCells()[1];
        assertThat(fdt.nodeByPhandle(target)).map(FdtNode::name).contains("its@8080000");
        assertThat(fdt.nodeByPhandle(0x1234)).isEmpty();
    }

    @Test
    @DisplayName("the walk is pre-order with full paths")
    void walk() {
        List<String> seen = new ArrayList<>();
        virt().forEachNode((path, node) -> seen.add(path + "=" + node.name()));
        assertThat(seen).containsExactly("/=", "/intc@8000000=intc@8000000",
                "/intc@8000000/its@8080000=its@8080000", "/pcie@10000000=pcie@10000000");
        assertThat(virt().paths()).containsExactly("/", "/intc@8000000", "/intc@8000000/its@8080000", "/pcie@10000000");
    }

    @Test
    @DisplayName("with() replaces a deep node and leaves the rest, and the original, unchanged")
    void withReplacesNode() {
        Fdt fdt = virt();
        FdtNode its = fdt.node("/intc/its").orElseThrow();
        Fdt edited = fdt.with("/intc@8000000/its@8080000",
                its.toBuilder().setProperty(FdtProperty.u32("#msi-cells", 0)).build());
        assertThat(edited.node("/intc/its").orElseThrow().u32("#msi-cells")).hasValue(0);
        assertThat(fdt.node("/intc/its").orElseThrow().u32("#msi-cells")).hasValue(1);
        assertThat(edited.paths()).isEqualTo(fdt.paths());
        assertThat(edited.memReserves()).isEqualTo(fdt.memReserves());
        assertThat(edited.node("/pcie@10000000")).isEqualTo(fdt.node("/pcie@10000000"));
        assertThatThrownBy(() -> fdt.with("/missing", its)).isInstanceOf(FdtTreeException.class);
    }

    @Test
    @DisplayName("withChild adds a node; with(\"/\") replaces the root")
    void withChildAndRoot() {
        Fdt fdt = virt().withChild("/", FdtNode.builder("chosen").property(FdtProperty.string("bootargs", "x")).build());
        assertThat(fdt.paths()).endsWith("/chosen");
        Fdt empty = fdt.with("/", FdtNode.root().build());
        assertThat(empty.paths()).containsExactly("/");
        assertThatThrownBy(() -> fdt.with("/", FdtNode.builder("notroot").build())).isInstanceOf(FdtTreeException.class);
    }
}
