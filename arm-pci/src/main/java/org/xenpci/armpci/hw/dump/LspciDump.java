package org.xenpci.armpci.hw.dump;

import java.util.Arrays;
import org.xenpci.core.pci.Sbdf;

/**
 * One device from a multi-device {@code lspci -xxxx} text.
 *
 * @param header the whole header line, e.g. {@code 00:02.0 Non-Volatile memory controller: ...}
 * @param address the address the header names (segment 0 when it has no domain)
 * @param config the config bytes: 256 or 4096 (bytes the text does not give read 0xff, as lspci -F)
 */
public record LspciDump(String header, Sbdf address, byte[] config) {
    public LspciDump {
        config = config.clone();
    }

    /** A copy of the config bytes. */
    @Override
    public byte[] config() {
        return config.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LspciDump && header.equals(((LspciDump) o).header)
                && address.equals(((LspciDump) o).address) && Arrays.equals(config, ((LspciDump) o).config);
    }

    @Override
    public int hashCode() {
        return header.hashCode() * 31 + Arrays.hashCode(config);
    }

    @Override
    public String toString() {
        return "LspciDump[" + header + ", " + config.length + " bytes]";
    }
}
