package org.xenpci.libxl.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import org.xenpci.libxl.config.GicVersion;
import org.xenpci.libxl.config.PassthroughMode;
import org.xenpci.libxl.config.PciSpec;
import org.xenpci.libxl.config.RdmReservePolicy;
import org.xenpci.libxl.config.VuartType;
import org.xenpci.libxl.config.XlConfig;

/**
 * Renders a parsed config as libxl's JSON form of {@code libxl_domain_config}, what
 * {@code xl create -n} prints (libxl_device_pci in tools/libs/light/libxl_types.idl; docs/cli-json.md), for the fields the model knows.
 * The format is a stable contract documented in docs/cli-json.md.
 *
 * <p>Rules, all from libxl's JSON generator: keys in IDL order; a field holding its IDL default
 * is left out (0, false, unset strings, {@code invalid}/{@code default} enums); enums are
 * lower-case names; {@code vfunc_mask} of a {@code *} device is 4294967295 (the YAJL form; a
 * json-c build of libxl would print -1). Empty objects and an empty {@code pcidevs} are left
 * out. Stateless and thread-safe.
 */
public final class LibxlJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private LibxlJson() {
    }

    /**
     * Builds the JSON tree.
     *
     * @param config the parsed config
     * @return the top-level object: {@code c_info}, {@code b_info}, {@code pcidevs}
     */
    public static ObjectNode domainConfig(XlConfig config) {
        ObjectNode root = F.objectNode();
        ObjectNode cInfo = F.objectNode();
        cInfo.put("type", config.type().libxlName());
        config.name().ifPresent(n -> cInfo.put("name", n));
        if (config.passthrough() != PassthroughMode.DEFAULT) {
            cInfo.put("passthrough", config.passthrough().libxlName());
        }
        root.set("c_info", cInfo);

        ObjectNode bInfo = F.objectNode();
        // xl sets max_vcpus only from maxvcpus; vcpus fills the avail_vcpus bitmap (bit list).
        config.maxvcpus().ifPresent(m -> bInfo.put("max_vcpus", m));
        config.vcpus().ifPresent(v -> {
            ArrayNode bits = bInfo.putArray("avail_vcpus");
            for (int i = 0; i < v; i++) {
                bits.add(i);
            }
        });
        // memory sets max_memkb and target_memkb; maxmem then overrides max_memkb (xl_parse.c).
        if (config.maxmemMib().isPresent()) {
            bInfo.put("max_memkb", config.maxmemMib().getAsLong() * 1024);
        } else if (config.memoryMib().isPresent()) {
            bInfo.put("max_memkb", config.memoryMib().getAsLong() * 1024);
        }
        config.memoryMib().ifPresent(m -> bInfo.put("target_memkb", m * 1024));
        config.kernel().ifPresent(k -> bInfo.put("kernel", k));
        config.cmdline().ifPresent(c -> bInfo.put("cmdline", c));
        config.ramdisk().ifPresent(r -> bInfo.put("ramdisk", r));
        ObjectNode arch = F.objectNode();
        if (config.gicVersion() != GicVersion.DEFAULT) {
            arch.put("gic_version", config.gicVersion().libxlName());
        }
        if (config.vuart() != VuartType.UNKNOWN) {
            arch.put("vuart", config.vuart().libxlName());
        }
        if (!arch.isEmpty()) {
            bInfo.set("arch_arm", arch);
        }
        if (!bInfo.isEmpty()) {
            root.set("b_info", bInfo);
        }

        if (!config.pciDevices().isEmpty()) {
            ArrayNode pcidevs = root.putArray("pcidevs");
            for (PciSpec p : config.pciDevices()) {
                pcidevs.add(devicePci(p));
            }
        }
        return root;
    }

    /**
     * Renders one {@code libxl_device_pci} in IDL order with defaults left out, e.g.
     * {@code {"bus":1,"vfunc_mask":1,"rdm_policy":"strict"}} for {@code 0000:01:00.0}.
     *
     * @param p the device
     * @return the object
     */
    public static ObjectNode devicePci(PciSpec p) {
        ObjectNode o = F.objectNode();
        putIfNonZero(o, "func", p.func());
        putIfNonZero(o, "dev", p.dev());
        putIfNonZero(o, "bus", p.bus());
        putIfNonZero(o, "domain", p.domain());
        putIfNonZero(o, "vdevfn", p.vdevfn());
        if (p.vfuncMask() != 0) {
            o.put("vfunc_mask", Integer.toUnsignedLong(p.vfuncMask()));
        }
        putIfTrue(o, "msitranslate", p.msitranslate());
        putIfTrue(o, "power_mgmt", p.powerMgmt());
        putIfTrue(o, "permissive", p.permissive());
        putIfTrue(o, "seize", p.seize());
        if (p.rdmPolicy() != RdmReservePolicy.INVALID) {
            o.put("rdm_policy", p.rdmPolicy().libxlName());
        }
        p.name().ifPresent(n -> o.put("name", n));
        return o;
    }

    /**
     * Renders compactly (no whitespace): the canonical form of the contract.
     *
     * @param config the parsed config
     * @return one line of JSON, without a trailing newline
     */
    public static String toJson(XlConfig config) {
        return write(domainConfig(config), false);
    }

    /**
     * Renders with Jackson's default pretty printer (2-space indent, {@code " : "}), for humans.
     *
     * @param config the parsed config
     * @return JSON text
     */
    public static String toPrettyJson(XlConfig config) {
        return write(domainConfig(config), true);
    }

    private static String write(ObjectNode n, boolean pretty) {
        try {
            return pretty ? MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(n) : MAPPER.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void putIfNonZero(ObjectNode o, String key, int v) {
        if (v != 0) {
            o.put(key, v);
        }
    }

    private static void putIfTrue(ObjectNode o, String key, boolean v) {
        if (v) {
            o.put(key, true);
        }
    }
}
