package org.xenpci.core.fdt;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.BiConsumer;

/**
 * An immutable flattened device tree: the root node plus the two header-level facts the blob
 * carries outside the tree, the memory reservation map and the boot CPU's physical id
 * (Devicetree Specification v0.4, 5.2 and 5.3).
 *
 * <p>Paths are absolute, {@code /} separated, e.g. {@code /intc@8000000/its@8080000}. A path
 * component without unit address matches a child by base name when that is unambiguous, as
 * libfdt's {@code fdt_path_offset} does.
 *
 * @param root           root node (empty name)
 * @param memReserves    memory reservation entries, in blob order, without the terminator
 * @param bootCpuidPhys  {@code boot_cpuid_phys} header field
 */
public record Fdt(FdtNode root, List<MemReserve> memReserves, int bootCpuidPhys) {

    /**
     * Validates and copies.
     *
     * @param root          root node (empty name)
     * @param memReserves   memory reservation entries, copied
     * @param bootCpuidPhys {@code boot_cpuid_phys} header field
     * @throws FdtTreeException if the root node has a non-empty name
     */
    public Fdt {
        Objects.requireNonNull(root, "root");
        if (!root.name().isEmpty()) {
            throw new FdtTreeException("root node must have an empty name, not '" + root.name() + "'");
        }
        memReserves = List.copyOf(memReserves);
    }

    /**
     * Creates a tree without memory reservations and boot CPU 0.
     *
     * @param root root node
     * @return the tree
     */
    public static Fdt of(FdtNode root) {
        return new Fdt(root, List.of(), 0);
    }

    /**
     * Looks up a node by absolute path.
     *
     * @param path e.g. {@code /} or {@code /pcie@10000000}
     * @return the node, if it exists
     * @throws FdtTreeException if the path is not absolute or has an empty component
     */
    public Optional<FdtNode> node(String path) {
        FdtNode n = root;
        for (String component : components(path)) {
            Optional<FdtNode> c = n.child(component);
            if (c.isEmpty()) {
                return Optional.empty();
            }
            n = c.get();
        }
        return Optional.of(n);
    }

    /**
     * Finds the node whose {@code phandle} (or legacy {@code linux,phandle}) equals the value.
     * Linear in the size of the tree.
     *
     * @param phandle the phandle value
     * @return the first such node in pre-order, if any
     */
    public Optional<FdtNode> nodeByPhandle(int phandle) {
        List<FdtNode> found = new ArrayList<>(1);
        forEachNode((path, n) -> {
            if (found.isEmpty()) {
                OptionalInt p = phandleOrEmpty(n);
                if (p.isPresent() && p.getAsInt() == phandle) {
                    found.add(n);
                }
            }
        });
        return found.stream().findFirst();
    }

    /**
     * Visits every node in device tree pre-order (a node, then its children in order), which is
     * also the order of the structure block.
     *
     * @param visitor receives the absolute path and the node
     */
    public void forEachNode(BiConsumer<String, FdtNode> visitor) {
        walk("/", root, visitor);
    }

    /**
     * Returns the absolute paths of all nodes in pre-order.
     *
     * @return the paths, starting with {@code /}
     */
    public List<String> paths() {
        List<String> out = new ArrayList<>();
        forEachNode((p, n) -> out.add(p));
        return List.copyOf(out);
    }

    /**
     * Returns a tree in which the node at {@code path} is replaced by {@code replacement},
     * keeping its position among its siblings; everything else is shared.
     *
     * @param path        absolute path of an existing node; {@code /} replaces the root
     * @param replacement the new node (may have another name, except for the root)
     * @return the modified tree
     * @throws FdtTreeException if no node exists at the path
     */
    public Fdt with(String path, FdtNode replacement) {
        List<String> comps = components(path);
        return new Fdt(replaceAt(root, comps, 0, replacement, path), memReserves, bootCpuidPhys);
    }

    /**
     * Returns a tree with {@code child} added to (or, if a sibling of that name exists, replacing
     * it in) the node at {@code parentPath}.
     *
     * @param parentPath absolute path of an existing node
     * @param child      the node to add
     * @return the modified tree
     * @throws FdtTreeException if no node exists at the path
     */
    public Fdt withChild(String parentPath, FdtNode child) {
        FdtNode parent = node(parentPath).orElseThrow(() -> new FdtTreeException("no node at '" + parentPath + "'"));
        return with(parentPath, parent.toBuilder().setChild(child).build());
    }

    /**
     * Returns a copy with other memory reservations.
     *
     * @param reserves the new entries
     * @return the modified tree
     */
    public Fdt withMemReserves(List<MemReserve> reserves) {
        return new Fdt(root, reserves, bootCpuidPhys);
    }

    /**
     * Returns a copy with another boot CPU.
     *
     * @param cpuid the new {@code boot_cpuid_phys}
     * @return the modified tree
     */
    public Fdt withBootCpuid(int cpuid) {
        return new Fdt(root, memReserves, cpuid);
    }

    private static FdtNode replaceAt(FdtNode node, List<String> comps, int i, FdtNode replacement, String path) {
        if (i == comps.size()) {
            return replacement;
        }
        FdtNode child = node.child(comps.get(i))
                .orElseThrow(() -> new FdtTreeException("no node at '" + path + "'"));
        FdtNode newChild = replaceAt(child, comps, i + 1, replacement, path);
        return node.toBuilder().replaceChild(child.name(), newChild).build();
    }

    private static void walk(String path, FdtNode node, BiConsumer<String, FdtNode> visitor) {
        visitor.accept(path, node);
        String prefix = path.equals("/") ? "/" : path + "/";
        for (FdtNode c : node.children()) {
            walk(prefix + c.name(), c, visitor);
        }
    }

    private static OptionalInt phandleOrEmpty(FdtNode n) {
        try {
            return n.phandle();
        } catch (FdtValueException e) {
            return OptionalInt.empty();
        }
    }

    private static List<String> components(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new FdtTreeException("path must be absolute: '" + path + "'");
        }
        if (path.equals("/")) {
            return List.of();
        }
        String[] parts = path.substring(1).split("/", -1);
        for (String p : parts) {
            if (p.isEmpty()) {
                throw new FdtTreeException("empty component in path '" + path + "'");
            }
        }
        return List.of(parts);
    }
}
