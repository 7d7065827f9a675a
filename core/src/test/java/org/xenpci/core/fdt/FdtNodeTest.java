package org.xenpci.core.fdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Nodes and their builder")
class FdtNodeTest {

    private static FdtNode pcie() {
        return FdtNode.builder("pcie@10000000")
                .property(FdtProperty.string("compatible", "pci-host-ecam-generic"))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.u32("#address-cells", 3))
                .child(FdtNode.builder("dev@0,0"))
                .build();
    }

    @Test
    @DisplayName("the name splits into base name and unit address")
    void nameParts() {
        FdtNode n = pcie();
        assertThat(n.name()).isEqualTo("pcie@10000000");
        assertThat(n.baseName()).isEqualTo("pcie");
        assertThat(n.unitAddress()).contains("10000000");
        assertThat(FdtNode.builder("cpus").build().unitAddress()).isEmpty();
        assertThat(FdtNode.root().build().name()).isEmpty();
    }

    @Test
    @DisplayName("lookups find properties and children, including a child by base name")
    void lookups() {
        FdtNode n = pcie();
        assertThat(n.property("device_type").map(FdtProperty::asString)).contains("pci");
        assertThat(n.hasProperty("ranges")).isFalse();
        assertThat(n.u32("#address-cells")).hasValue(3);
        assertThat(n.u32("#size-cells")).isEmpty();
        assertThat(n.child("dev@0,0")).isPresent();
        assertThat(n.child("dev")).map(FdtNode::name).contains("dev@0,0");
        assertThat(n.child("dev@1")).isEmpty();
    }

    @Test
    @DisplayName("setProperty replaces in place, keeping order; removeProperty drops")
    void setKeepsPosition() {
        FdtNode n = pcie().toBuilder()
                .setProperty(FdtProperty.string("device_type", "pciex"))
                .setProperty(FdtProperty.empty("dma-coherent"))
                .removeProperty("compatible")
                .build();
        assertThat(n.properties()).extracting(FdtProperty::name)
                .containsExactly("device_type", "#address-cells", "dma-coherent");
        assertThat(n.property("device_type").orElseThrow().asString()).isEqualTo("pciex");
        assertThat(pcie().properties()).as("the original is untouched").hasSize(3);
    }

    @Test
    @DisplayName("duplicates and missing replacements are rejected")
    void duplicates() {
        FdtNode.Builder b = pcie().toBuilder();
        assertThatThrownBy(() -> b.property(FdtProperty.empty("device_type")))
                .isInstanceOf(FdtTreeException.class).hasMessageContaining("duplicate property 'device_type'");
        assertThatThrownBy(() -> b.child(FdtNode.builder("dev@0,0")))
                .isInstanceOf(FdtTreeException.class).hasMessageContaining("duplicate child 'dev@0,0'");
        assertThatThrownBy(() -> b.replaceProperty(FdtProperty.empty("ranges")))
                .isInstanceOf(FdtTreeException.class);
        assertThatThrownBy(() -> b.child(FdtNode.root().build())).isInstanceOf(FdtTreeException.class);
    }

    @Test
    @DisplayName("replaceChild keeps the position even when renaming")
    void replaceChild() {
        FdtNode n = FdtNode.root().child(FdtNode.builder("a")).child(FdtNode.builder("b")).child(FdtNode.builder("c"))
                .build().toBuilder().replaceChild("b", FdtNode.builder("b2").build()).build();
        assertThat(n.children()).extracting(FdtNode::name).containsExactly("a", "b2", "c");
    }

    @Test
    @DisplayName("node names are validated as dtc validates them: Devicetree Specification v0.4 2.2.1 characters, one '@', no length limit")
    void nodeNames() {
        for (String ok : new String[] {"virtio_mmio@a000000", "pl061@9030000", "dev@0,0", "1p8v", "gpio-keys",
                "fw-cfg@9020000", "a.b+c", "x".repeat(31) + "@1", "qup-spi10-cs-gpio-init-high-pins", "x".repeat(200),
                "@1", "a@"}) {
            assertThat(FdtNames.isValidNodeName(ok)).as(ok).isTrue();
        }
        for (String bad : new String[] {"", "a@b@c", "a b", "a/b", "a#b", "a*b", "a?b", "n\u00e9"}) {
            assertThat(FdtNames.isValidNodeName(bad)).as(bad).isFalse();
        }
        assertThatThrownBy(() -> FdtNode.builder("bad name")).isInstanceOf(FdtTreeException.class)
                .hasMessageContaining("'bad name'");
    }

    @Test
    @DisplayName("phandle comes from phandle, else linux,phandle")
    void phandle() {
        assertThat(FdtNode.builder("a").property(FdtProperty.u32("linux,phandle", 5)).build().phandle()).hasValue(5);
        assertThat(FdtNode.builder("a").property(FdtProperty.u32("linux,phandle", 5))
                .property(FdtProperty.u32("phandle", 6)).build().phandle()).hasValue(6);
        assertThat(FdtNode.builder("a").build().phandle()).isEmpty();
    }

    @Test
    @DisplayName("nodes compare by name, ordered properties and ordered children")
    void equality() {
        assertThat(pcie()).isEqualTo(pcie()).hasSameHashCodeAs(pcie());
        FdtNode reordered = FdtNode.builder("pcie@10000000")
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.string("compatible", "pci-host-ecam-generic"))
                .property(FdtProperty.u32("#address-cells", 3))
                .child(FdtNode.builder("dev@0,0"))
                .build();
        assertThat(reordered).isNotEqualTo(pcie());
    }
}
