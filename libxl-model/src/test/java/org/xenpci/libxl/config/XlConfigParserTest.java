package org.xenpci.libxl.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.testkit.FuzzRun;

class XlConfigParserTest {

    private static XlConfigException error(String text) {
        try {
            XlConfigParser.parse(text, "g.cfg");
        } catch (XlConfigException e) {
            return e;
        }
        throw new AssertionError("no error for: " + text);
    }

    @Test
    @DisplayName("Comments, semicolons, both quote styles and a multi-line list with trailing comma parse")
    void basicSyntax() {
        XlConfig c = XlConfigParser.parse(String.join("\n",
                "# a guest",
                "name = \"g1\" # trailing comment",
                "memory = 0x400; vcpus = 2",
                "kernel = '/boot/Image'",
                "pci = [ \"0000:01:00.0\",   # first",
                "",
                "        '02:00.0,seize=1',",
                "      ]",
                "gic_version=\"v3\""), "g.cfg");
        assertThat(c.name()).contains("g1");
        assertThat(c.memoryMib()).hasValue(1024);
        assertThat(c.vcpus()).hasValue(2);
        assertThat(c.kernel()).contains("/boot/Image");
        assertThat(c.gicVersion()).isEqualTo(GicVersion.V3);
        assertThat(c.pciDevices()).extracting(PciSpec::bus).containsExactly(1, 2);
        assertThat(c.pciDevices().get(1).seize()).isTrue();
        assertThat(c.warnings()).isEmpty();
        assertThat(c.setting("pci").orElseThrow().line()).isEqualTo(5);
    }

    @Test
    @DisplayName("Escapes in quoted strings resolve; numbers follow strtol base 0 (hex and octal)")
    void escapesAndNumbers() {
        XlConfig c = XlConfigParser.parse("extra = \"a\\\"b\\\\c\\td\"\nroot = 'x\\'y'\nmemory = 010\nmaxmem = \"2048\"\n", "g.cfg");
        assertThat(c.cmdline()).contains("root=x'y a\"b\\c\td");
        assertThat(c.memoryMib()).hasValue(8);
        assertThat(c.maxmemMib()).hasValue(2048);
        assertThat(c.maxMemkbResolved()).isEqualTo(2048 * 1024);
    }

    @Test
    @DisplayName("The last duplicate wins, += concatenates strings and lists, nested lists are kept raw")
    void duplicatesAndAppend() {
        XlConfig c = XlConfigParser.parse("memory = 512\nmemory = 1024\nextra = \"a\"\nextra += \" b\"\n"
                + "pci = [ \"01:00.0\" ]\npci += [ \"02:00.0\" ]\nvnuma = [ [ \"pnode=0\" ], [ \"pnode=1\" ] ]\n", "g.cfg");
        assertThat(c.memoryMib()).hasValue(1024);
        assertThat(c.cmdline()).contains("a b");
        assertThat(c.pciDevices()).extracting(PciSpec::bus).containsExactly(1, 2);
        XlValue vnuma = c.setting("vnuma").orElseThrow().value();
        assertThat(vnuma).isInstanceOf(XlValue.ListValue.class);
        assertThat(((XlValue.ListValue) vnuma).items()).allMatch(v -> v instanceof XlValue.ListValue);
    }

    @Test
    @DisplayName("Unknown keys are kept and reported with file and line")
    void unknownKeys() {
        XlConfig c = XlConfigParser.parse("name = \"a\"\nvif = [ 'bridge=xenbr0' ]\non_crash = \"destroy\"\n"
                + "pci_rdm_policy = \"relaxed\"\n", "g.cfg");
        assertThat(c.warnings()).extracting(XlWarning::toString).containsExactly(
                "g.cfg:2: warning: Unknown key `vif'",
                "g.cfg:3: warning: Unknown key `on_crash'",
                "g.cfg:4: warning: Unknown key `pci_rdm_policy' (xl has no such key; the per-device rdm_policy"
                        + " default is strict on Arm)");
        assertThat(c.setting("on_crash").orElseThrow().value().toString()).isEqualTo("\"destroy\"");
    }

    @Test
    @DisplayName("Syntax errors carry file, line and column and xl's wording")
    void syntaxErrors() {
        XlConfigException e = error("name = \"a\"\n\nmemory = = 3\n");
        assertThat(e.getMessage()).isEqualTo("g.cfg:3:10: config parsing error near `=': syntax error");
        assertThat(e.line()).isEqualTo(3);
        assertThat(error("pci = [ \"a\" \"b\" ]\n").reason()).isEqualTo("config parsing error near `\"b\"': syntax error");
        assertThat(error("pci = [ , ]\n").line()).isEqualTo(1);
        assertThat(error("Name = \"x\"\n").reason()).isEqualTo("config parsing error near `N': syntax error");
        assertThat(error("name = \"x\nmemory = 1\n").reason()).startsWith("config parsing error near `\"x': unterminated");
        assertThat(error("name =\n").reason()).isEqualTo("config parsing error near <newline>: syntax error");
        assertThat(error("memory = 1 2\n").reason()).isEqualTo("config parsing error near `2': syntax error");
        assertThat(error("name = \"a\\x41\"\n").reason()).contains("hex numerical character escape");
        assertThat(error("memory = 1\r\n").reason()).contains("syntax error");
        assertThat(error("extra = \"a\"\nextra += [ \"b\" ]\n").reason()).contains("can't add [list] to \"string\"");
    }

    @Test
    @DisplayName("Bad values for interpreted keys fail with xl's messages and the setting's line")
    void valueErrors() {
        assertThat(error("\nmemory = \"lots\"\n").getMessage()).isEqualTo("g.cfg:2: parameter `memory' is not a valid number");
        assertThat(error("memory = 99999999999999999999\n").reason()).contains("Numerical result out of range");
        assertThat(error("memory = 1\nmemory += 2\n").reason()).isEqualTo("can't use += with numbers for parameter `memory'");
        assertThat(error("gic_version = \"v4\"\n").reason()).isEqualTo("Unknown gic_version \"v4\" specified");
        assertThat(error("vuart = \"pl011\"\n").reason()).isEqualTo("invalid value \"pl011\" for \"vuart\"");
        assertThat(error("type = \"xen\"\n").reason()).isEqualTo("Invalid domain type xen.");
        assertThat(error("pci = \"01:00.0\"\n").reason()).isEqualTo("parameter `pci' is a single value but should be a list");
        assertThat(error("name = [ \"a\" ]\n").reason()).isEqualTo("parameter `name' is a list but should be a single value");
        assertThat(error("vcpus = 0\n").reason()).contains("smaller than minimum bound");
    }

    @Test
    @DisplayName("A bad pci= entry fails at its line and column and keeps the libxl error code")
    void badPciEntry() {
        XlConfigException e = error("name = \"a\"\npci = [ \"01:00.0\",\n  \"01:00.0,rdm_policy=loose\" ]\n");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(3);
        assertThat(e.reason()).isEqualTo("unable to parse PCI_SPEC_STRING `01:00.0,rdm_policy=loose' for passthrough"
                + " (Unknown RDM policy: loose)");
        assertThat(e.getCause()).isInstanceOfSatisfying(PciSpecException.class, p -> assertThat(p.code()).isEqualTo(-3));
        assertThat(error("pci = [ \"01:00\" ]\n").reason()).endsWith("(ERROR_INVAL)");
        assertThat(error("pci = [ [ \"01:00.0\" ] ]\n").reason()).contains("is a list");
    }

    @Test
    @DisplayName("Global pci_* keys become every device's defaults; cmdline wins over root and extra")
    void globalsAndDefaults() {
        XlConfig c = XlConfigParser.parse("pci_permissive = 1\npci_msitranslate = 0\npci_power_mgmt = 4294967296\n"
                + "pci_seize = 0x1\ncmdline = \"c\"\nroot = \"r\"\npci = [ \"01:00.0,permissive=0\", \"02:00.0\" ]\n", "g.cfg");
        assertThat(c.pciDefaults()).isEqualTo(new PciDefaults(false, false, true, true, RdmReservePolicy.STRICT));
        assertThat(c.pciDevices()).extracting(PciSpec::permissive).containsExactly(false, true);
        assertThat(c.pciDevices()).extracting(PciSpec::seize).containsExactly(true, true);
        assertThat(c.cmdline()).contains("c");
        XlConfig d = XlConfigParser.parse("", "e.cfg");
        assertThat(d.type()).isEqualTo(DomainType.PVH);
        assertThat(d.maxVcpusResolved()).isEqualTo(1);
        assertThat(d.maxMemkbResolved()).isEqualTo(32 * 1024);
        assertThat(d.pciDevices()).isEqualTo(List.of());
        assertThatThrownBy(() -> XlConfigParser.parseSettings(null, "x")).isInstanceOf(NullPointerException.class);
    }

    @Test
    @DisplayName("found by XlInputFuzzTest: lists nested 50,000 deep are a typed error, not a StackOverflowError")
    void deepNesting() {
        int max = XlConfigParser.MAX_LIST_DEPTH;
        XlConfig ok = XlConfig.parse("x = " + "[".repeat(max) + "1" + "]".repeat(max) + "\n", "t.cfg");
        assertThat(ok.setting("x")).isPresent();
        XlConfigException e = error("x = " + "[".repeat(max + 1) + "1" + "]".repeat(max + 1) + "\n");
        assertThat(e.getMessage()).isEqualTo("g.cfg:1:" + (5 + max) + ": config parsing error near `[': memory exhausted"
                + " (lists nested deeper than " + max + ")");
        assertThat(error("pci = " + "[".repeat(50_000)).line()).isEqualTo(1);
    }

    @Test
    @DisplayName("found by XlInputFuzzTest: a 100,000-digit number is out of range after one scan, not gigabytes of BigIntegers")
    void hugeNumber() {
        String digits = "9".repeat(100_000);
        long allocated = FuzzRun.allocatedBy(() -> {
            XlConfigException e = error("memory = " + digits + "\n");
            assertThat(e.reason()).isEqualTo("parameter `memory' could not be parsed as a number: Numerical result out of range");
            assertThat(error("vcpus = \"" + digits + "x\"\n").reason()).isEqualTo("parameter `vcpus' is not a valid number");
        });
        assertThat(allocated).as("bytes allocated").isLessThan(8L << 20); // was 5.8 GB for such a value
        assertThat(XlConfig.parse("memory = 0x" + "0".repeat(50_000) + "400\n", "t.cfg").memoryMib()).hasValue(1024);
    }
}
