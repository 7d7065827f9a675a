package org.xenpci.libxl.host;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;

/**
 * The built-in default platform (resources under {@code org/xenpci/libxl/platform/default/}):
 * QEMU 7.2 virt with GICv3, ITS and SMMUv3, and on its generic ECAM bridge an e1000e NIC with
 * MSI-X (00:01.0), an NVMe controller (00:02.0), a PCIe root port (00:03.0) with an ivshmem
 * device with an 8 GiB BAR behind it (01:00.0), and a two-function device (00:04.0 HD audio,
 * 00:04.1 serial).
 */
public final class DefaultPlatform {
    private static final String DIR = "/org/xenpci/libxl/platform/default/";

    private DefaultPlatform() {
    }

    /** The platform file as parsed (source name {@code <built-in default>}). */
    public static PlatformFile file() {
        return PlatformFile.parse("<built-in default>", resource("platform.json"), DefaultPlatform::resourceOrNull);
    }

    /**
     * The default board with another Xen command line (e.g. {@code "pci-passthrough=on iommu=off"}
     * for a host without a usable IOMMU).
     */
    public static Platform build(String cmdline) {
        String json = new String(resource("platform.json"), java.nio.charset.StandardCharsets.UTF_8);
        String patched = json.replace("\"cmdline\": \"pci-passthrough=on\"",
                "\"cmdline\": " + new com.fasterxml.jackson.databind.node.TextNode(cmdline).toString());
        if (patched.equals(json)) {
            throw new IllegalStateException("built-in platform.json has no cmdline to replace");
        }
        return Platform.build(PlatformFile.parse("<built-in default>", patched.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                DefaultPlatform::resourceOrNull));
    }

    /** A freshly assembled board (each call builds new hardware). */
    public static Platform build() {
        return Platform.build(file());
    }

    private static byte[] resourceOrNull(String name) {
        try (InputStream in = DefaultPlatform.class.getResourceAsStream(DIR + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read built-in resource " + DIR + name, e);
        }
    }

    private static byte[] resource(String name) {
        byte[] b = resourceOrNull(name);
        if (b == null) {
            throw new UncheckedIOException(new IOException("missing built-in resource " + DIR + name));
        }
        return b;
    }
}
