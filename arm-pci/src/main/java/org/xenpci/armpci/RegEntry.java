package org.xenpci.armpci;

import java.util.Optional;
import org.xenpci.core.Hex;

/**
 * One DT {@code reg} entry of a host bridge node, translated to a machine address.
 *
 * @param index position in {@code reg}
 * @param address machine address (bytes)
 * @param size bytes
 * @param name the matching {@code reg-names} string, if the node has one at this index
 */
public record RegEntry(int index, long address, long size, Optional<String> name) {
    public RegEntry {
        java.util.Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
        return "reg[" + index + "]" + name.map(n -> " \"" + n + "\"").orElse("") + " " + Hex.of(address) + "+"
                + Hex.of(size);
    }
}
