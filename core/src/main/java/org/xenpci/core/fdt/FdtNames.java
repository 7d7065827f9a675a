package org.xenpci.core.fdt;

/**
 * Validation of node and property names.
 *
 * <p>Node names follow the Devicetree Specification v0.4, 2.2.1: {@code node-name[@unit-address]}
 * where the node-name part is 1 to 31 characters from {@code [0-9a-zA-Z,._+-]} and the unit
 * address uses the same characters. The spec recommends a leading letter; real Linux trees have
 * names such as {@code 1p8v}, so a leading digit is accepted.
 *
 * <p>Property names follow spec 2.2.4 ({@code [0-9a-zA-Z,._+?#-]}), widened to the character
 * set dtc's lexer accepts for property names (adds {@code *} and {@code @}). The spec's 31
 * character limit is not enforced for properties because Linux bindings exceed it
 * (e.g. {@code snps,dis-del-phy-power-chg-quirk}).
 */
public final class FdtNames {
    /** Maximum length of the node-name part (before {@code @}), in characters (spec 2.2.1). */
    public static final int MAX_NODE_NAME_LENGTH = 31;

    private FdtNames() {
    }

    /**
     * Tells whether {@code name} is a valid non-root node name (the root's name is empty).
     *
     * @param name full node name, including any unit address
     * @return true if valid
     */
    public static boolean isValidNodeName(String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        if (base.isEmpty() || base.length() > MAX_NODE_NAME_LENGTH || !allNodeChars(base)) {
            return false;
        }
        if (at < 0) {
            return true;
        }
        String unit = name.substring(at + 1);
        return !unit.isEmpty() && allNodeChars(unit);
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
