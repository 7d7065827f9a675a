package org.xenpci.core.fdt;

/**
 * Validation of node and property names.
 *
 * <p>Node names are {@code node-name[@unit-address]} (Devicetree Specification v0.4, 2.2.1), both
 * parts from {@code [0-9a-zA-Z,._+-]} with at most one {@code @}: exactly what dtc's
 * {@code node_name_chars} and {@code node_name_format} checks enforce when it reads a blob.
 * Like dtc and libfdt, and unlike the spec's recommendations, the node-name part may be longer
 * than 31 characters (Linux 6.1 has {@code qup-spi10-cs-gpio-init-high-pins}), may start with
 * a digit ({@code 1p8v}), and either part may be empty ({@code foo@}, {@code @10}); only the
 * whole name may not be empty, since such a node would have no path.
 *
 * <p>Property names follow the Devicetree Specification v0.4 2.2.4 ({@code [0-9a-zA-Z,._+?#-]}), widened to the character
 * set dtc's lexer accepts for property names (adds {@code *} and {@code @}). The spec's 31
 * character limit is not enforced for properties because Linux bindings exceed it
 * (e.g. {@code snps,dis-del-phy-power-chg-quirk}).
 */
public final class FdtNames {
    private FdtNames() {
    }

    /**
     * Tells whether {@code name} is a valid non-root node name (the root's name is empty).
     *
     * @param name full node name, including any unit address
     * @return true if valid
     */
    public static boolean isValidNodeName(String name) {
        if (name.isEmpty()) {
            return false;
        }
        int at = name.indexOf('@');
        if (at < 0) {
            return allNodeChars(name);
        }
        return allNodeChars(name.substring(0, at)) && allNodeChars(name.substring(at + 1));
    }

    /**
     * Tells whether {@code name} is a valid property name.
     *
     * @param name property name
     * @return true if valid
     */
    public static boolean isValidPropertyName(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!isAlnum(c) && ",._+?#-*@".indexOf(c) < 0) {
                return false;
            }
        }
        return true;
    }

    static String requireNodeName(String name) {
        if (name == null || !isValidNodeName(name)) {
            throw new FdtTreeException("invalid node name '" + name + "' (Devicetree Specification 2.2.1)");
        }
        return name;
    }

    static String requirePropertyName(String name) {
        if (name == null || !isValidPropertyName(name)) {
            throw new FdtTreeException("invalid property name '" + name + "' (Devicetree Specification 2.2.4)");
        }
        return name;
    }

    private static boolean allNodeChars(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isAlnum(c) && ",._+-".indexOf(c) < 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAlnum(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
