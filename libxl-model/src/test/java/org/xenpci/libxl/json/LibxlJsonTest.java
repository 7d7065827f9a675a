package org.xenpci.libxl.json;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.libxl.config.XlConfig;

class LibxlJsonTest {

    private static String json(String cfg) {
        return LibxlJson.toJson(XlConfig.parse(cfg, "t.cfg"));
    }

    @Test
    @DisplayName("The worked example renders c_info, b_info and one pcidevs element with defaults left out")
    void workedExample() {
        assertThat(json("name = \"g1\"\nkernel = \"Image\"\nmemory = 1024\nvcpus = 2\ngic_version = \"v3\"\n"
                + "pci = [ \"0000:01:00.0\" ]\n")).isEqualTo("{\"c_info\":{\"type\":\"pvh\",\"name\":\"g1\"},"
                + "\"b_info\":{\"avail_vcpus\":[0,1],\"max_memkb\":1048576,\"target_memkb\":1048576,"
                + "\"kernel\":\"Image\",\"arch_arm\":{\"gic_version\":\"v3\"}},"
                + "\"pcidevs\":[{\"bus\":1,\"vfunc_mask\":1,\"rdm_policy\":\"strict\"}]}");
    }

    @Test
    @DisplayName("pcidevs keeps config order and IDL key order; * gives the YAJL vfunc_mask 4294967295")
    void pcidevsElements() {
        assertThat(json("pci = [ \"0001:02:1f.7@3,seize=1,permissive=1,msitranslate=1,power_mgmt=1,rdm_policy=relaxed\","
                + " \"03:00.*@1\", \"name=gpu\", \"00:00.0,rdm_policy=invalid\" ]\n"))
                .isEqualTo("{\"c_info\":{\"type\":\"pvh\"},\"pcidevs\":["
                        + "{\"func\":7,\"dev\":31,\"bus\":2,\"domain\":1,\"vdevfn\":24,\"vfunc_mask\":1,"
                        + "\"msitranslate\":true,\"power_mgmt\":true,\"permissive\":true,\"seize\":true,"
                        + "\"rdm_policy\":\"relaxed\"},"
                        + "{\"bus\":3,\"vdevfn\":8,\"vfunc_mask\":4294967295,\"rdm_policy\":\"strict\"},"
                        + "{\"rdm_policy\":\"strict\",\"name\":\"gpu\"},"
                        + "{\"vfunc_mask\":1}]}");
    }

    @Test
    @DisplayName("Without pci= the pcidevs key is absent; maxmem, maxvcpus, vuart and passthrough use libxl names")
    void otherFields() {
        assertThat(json("memory = 512\nmaxmem = 1024\nmaxvcpus = 4\nvcpus = 1\nvuart = \"sbsa_uart\"\n"
                + "passthrough = \"share_pt\"\ntype = \"pvh\"\ncmdline = \"console=hvc0\"\nramdisk = \"rd\"\n"))
                .isEqualTo("{\"c_info\":{\"type\":\"pvh\",\"passthrough\":\"share_pt\"},"
                        + "\"b_info\":{\"max_vcpus\":4,\"avail_vcpus\":[0],\"max_memkb\":1048576,\"target_memkb\":524288,"
                        + "\"cmdline\":\"console=hvc0\",\"ramdisk\":\"rd\",\"arch_arm\":{\"vuart\":\"sbsa_uart\"}}}");
        assertThat(json("")).isEqualTo("{\"c_info\":{\"type\":\"pvh\"}}");
    }

    @Test
    @DisplayName("Global pci_* defaults show up in every element, as xl copies them before parsing")
    void globalDefaultsInJson() {
        assertThat(json("pci_permissive = 1\npci_seize = 1\npci = [ \"01:00.0\", \"02:00.0,seize=0\" ]\n"))
                .isEqualTo("{\"c_info\":{\"type\":\"pvh\"},\"pcidevs\":["
                        + "{\"bus\":1,\"vfunc_mask\":1,\"permissive\":true,\"seize\":true,\"rdm_policy\":\"strict\"},"
                        + "{\"bus\":2,\"vfunc_mask\":1,\"permissive\":true,\"rdm_policy\":\"strict\"}]}");
    }

    @Test
    @DisplayName("Pretty output is the same tree")
    void prettyIsSameTree() throws Exception {
        XlConfig c = XlConfig.parse("name = \"a\"\npci = [ \"01:00.0\" ]\n", "t.cfg");
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThat(mapper.readTree(LibxlJson.toPrettyJson(c))).isEqualTo(mapper.readTree(LibxlJson.toJson(c)));
        assertThat(LibxlJson.toPrettyJson(c)).contains("\n");
    }
}
