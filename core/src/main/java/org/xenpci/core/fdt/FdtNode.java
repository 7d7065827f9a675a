package org.xenpci.core.fdt;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An immutable device tree node: a name, ordered properties and ordered children.
 *
 * <p>Order matters because the blob format is ordered and {@link FdtWriter} must reproduce
 * dtc's output byte for byte. Property names are unique within a node and child names are
 * unique among siblings, as dtc requires ("Duplicate node name" / "Duplicate property name"
 * are errors there).
 *
 * <p>The root node is the only node with an empty name (Devicetree Specification v0.4, 5.4.1).
 */
public final class FdtNode {
    private final String name;
    private final List<FdtProperty> properties;
    private final List<FdtNode> children;
    private final Map<String, FdtProperty> propertyIndex;
    private final Map<String, FdtNode> childIndex;

    private FdtNode(Builder b) {
        this.name = b.name;
        this.properties = List.copyOf(b.properties.values());
        this.children = List.copyOf(b.children.values());
        this.propertyIndex = Collections.unmodifiableMap(new HashMap<>(b.properties));
        this.childIndex = Collections.unmodifiableMap(new HashMap<>(b.children));
    }

    /**
     * Starts building a node.
     *
     * @param name full node name such as {@code pcie@10000000}, or {@code ""} for the root
     * @return a builder
     * @throws FdtTreeException if the name is invalid
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Starts building a root node (empty name).
     *
     * @return a builder
     */
    public static Builder root() {
        return new Builder("");
    }

    /**
     * Returns a builder initialised with this node's content, to derive a modified copy.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        Builder b = new Builder(name);
        properties.forEach(p -> b.properties.put(p.name(), p));
        children.forEach(c -> b.children.put(c.name(), c));
        return b;
    }

    /**
     * Returns the full name including any unit address, e.g. {@code pcie@10000000}.
     *
     * @return the name; empty for the root node
     */
    public String name() {
        return name;
    }

    /**
     * Returns the node-name part before {@code @}, e.g. {@code pcie}.
     *
     * @return the base name
     */
    public String baseName() {
        int at = name.indexOf('@');
        return at < 0 ? name : name.substring(0, at);
    }

    /**
     * Returns the unit address after {@code @}, e.g. {@code 10000000}.
     *
     * @return the unit address, or empty if the name has none
     */
    public Optional<String> unitAddress() {
        int at = name.indexOf('@');
        return at < 0 ? Optional.empty() : Optional.of(name.substring(at + 1));
    }

    /**
     * Returns the properties in blob order.
     *
     * @return an unmodifiable list
     */
    public List<FdtProperty> properties() {
        return properties;
    }

    /**
     * Returns the children in blob order.
     *
     * @return an unmodifiable list
     */
    public List<FdtNode> children() {
        return children;
    }

    /**
     * Looks up a property by name.
     *
     * @param propertyName the property name
     * @return the property, if present
     */
    public Optional<FdtProperty> property(String propertyName) {
        return Optional.ofNullable(propertyIndex.get(propertyName));
    }

    /**
     * Tells whether a property exists.
     *
     * @param propertyName the property name
     * @return true if present
     */
    public boolean hasProperty(String propertyName) {
        return propertyIndex.containsKey(propertyName);
    }

    /**
     * Reads a single-cell property such as {@code #address-cells}.
     *
     * @param propertyName the property name
     * @return the cell, if the property is present
     * @throws FdtValueException if present but not exactly one cell (4 bytes)
     */
    public OptionalInt u32(String propertyName) {
        FdtProperty p = propertyIndex.get(propertyName);
        return p == null ? OptionalInt.empty() : OptionalInt.of(p.asU32());
    }

    /**
     * Returns this node's phandle from {@code phandle}, or the legacy {@code linux,phandle}
     * (Devicetree Specification v0.4, 2.3.3).
     *
     * @return the phandle, if the node has one
     * @throws FdtValueException if the property is not one cell
     */
    public OptionalInt phandle() {
        OptionalInt p = u32("phandle");
        return p.isPresent() ? p : u32("linux,phandle");
    }

    /**
     * Looks up a child by its full name; if none matches exactly, by base name when exactly one
     * child has that base name (so {@code intc} finds {@code intc@8000000}, as libfdt does).
     *
     * @param childName full or base name
     * @return the child, if found
     */
    public Optional<FdtNode> child(String childName) {
        FdtNode exact = childIndex.get(childName);
        if (exact != null || childName.indexOf('@') >= 0) {
            return Optional.ofNullable(exact);
        }
        FdtNode found = null;
        for (FdtNode c : children) {
            if (c.baseName().equals(childName)) {
                if (found != null) {
                    return Optional.empty();
                }
                found = c;
            }
        }
        return Optional.ofNullable(found);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FdtNode n && name.equals(n.name) && properties.equals(n.properties)
                && children.equals(n.children);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, properties, children);
    }

    @Override
    public String toString() {
        return "FdtNode[" + (name.isEmpty() ? "/" : name) + ", " + properties.size() + " properties, "
                + children.size() + " children]";
    }

    /** Mutable builder of an {@link FdtNode}; not thread-safe. */
    public static final class Builder {
        private final String name;
        private final LinkedHashMap<String, FdtProperty> properties = new LinkedHashMap<>();
        private final LinkedHashMap<String, FdtNode> children = new LinkedHashMap<>();

        private Builder(String name) {
            Objects.requireNonNull(name, "name");
            this.name = name.isEmpty() ? name : FdtNames.requireNodeName(name);
        }

        /**
         * Returns the name of the node being built.
         *
         * @return the name
         */
        public String name() {
            return name;
        }

        /**
         * Appends a property.
         *
         * @param property the property
         * @return this builder
         * @throws FdtTreeException if a property of that name already exists
         */
        public Builder property(FdtProperty property) {
            if (properties.putIfAbsent(property.name(), property) != null) {
                throw new FdtTreeException("duplicate property '" + property.name() + "' in node '" + name + "'");
            }
            return this;
        }

        /**
         * Sets a property: replaces an existing one in place (keeping its position), or appends.
         *
         * @param property the property
         * @return this builder
         */
        public Builder setProperty(FdtProperty property) {
            properties.put(property.name(), property);
            return this;
        }

        /**
         * Replaces an existing property in place.
         *
         * @param property the new property
         * @return this builder
         * @throws FdtTreeException if no property of that name exists
         */
        public Builder replaceProperty(FdtProperty property) {
            if (!properties.containsKey(property.name())) {
                throw new FdtTreeException("no property '" + property.name() + "' in node '" + name + "'");
            }
            properties.put(property.name(), property);
            return this;
        }

        /**
         * Removes a property if present.
         *
         * @param propertyName the property name
         * @return this builder
         */
        public Builder removeProperty(String propertyName) {
            properties.remove(propertyName);
            return this;
        }

        /**
         * Appends a child.
         *
         * @param child the child node
         * @return this builder
         * @throws FdtTreeException if a sibling of that name exists or the child is a root node
         */
        public Builder child(FdtNode child) {
            requireNotRoot(child);
            if (children.putIfAbsent(child.name(), child) != null) {
                throw new FdtTreeException("duplicate child '" + child.name() + "' in node '" + name + "'");
            }
            return this;
        }

        /**
         * Builds and appends a child.
         *
         * @param child builder of the child node
         * @return this builder
         */
        public Builder child(Builder child) {
            return child(child.build());
        }

        /**
         * Sets a child: replaces the existing child of that name in place, or appends.
         *
         * @param child the child node
         * @return this builder
         */
        public Builder setChild(FdtNode child) {
            requireNotRoot(child);
            children.put(child.name(), child);
            return this;
        }

        /**
         * Replaces the child called {@code oldName} by {@code replacement}, keeping its position;
         * the replacement may have a different name.
         *
         * @param oldName     full name of the existing child
         * @param replacement the new child
         * @return this builder
         * @throws FdtTreeException if there is no such child or the new name clashes with a sibling
         */
        public Builder replaceChild(String oldName, FdtNode replacement) {
            requireNotRoot(replacement);
            if (!children.containsKey(oldName)) {
                throw new FdtTreeException("no child '" + oldName + "' in node '" + name + "'");
            }
            if (!oldName.equals(replacement.name()) && children.containsKey(replacement.name())) {
                throw new FdtTreeException("duplicate child '" + replacement.name() + "' in node '" + name + "'");
            }
            var copy = new LinkedHashMap<>(children);
            children.clear();
            copy.forEach((k, v) -> {
                if (k.equals(oldName)) {
                    children.put(replacement.name(), replacement);
                } else {
                    children.put(k, v);
                }
            });
            return this;
        }

        /**
         * Removes a child if present.
         *
         * @param childName full name of the child
         * @return this builder
         */
        public Builder removeChild(String childName) {
            children.remove(childName);
            return this;
        }

        /**
         * Builds the immutable node.
         *
         * @return the node
         */
        public FdtNode build() {
            return new FdtNode(this);
        }

        private static void requireNotRoot(FdtNode child) {
            if (child.name().isEmpty()) {
                throw new FdtTreeException("a node with an empty name can only be the root");
            }
        }
    }
}
