package org.xenpci.armpci;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.fdt.FdtValueException;

/**
 * A device tree node seen with its ancestry, which Xen's {@code struct dt_device_node} carries
 * as a parent pointer: cell counts and address translation need the parents. Immutable.
 */
final class DtContext {
    /** Devicetree Specification v0.4 2.3.5 / Xen's DT_ROOT_NODE_ADDR_CELLS_DEFAULT. */
    static final int DEFAULT_ADDRESS_CELLS = 2;
    /** Devicetree Specification v0.4 2.3.5 / Xen's DT_ROOT_NODE_SIZE_CELLS_DEFAULT. */
    static final int DEFAULT_SIZE_CELLS = 1;

    final String path;
    final FdtNode node;
    final DtContext parent;

    private DtContext(String path, FdtNode node, DtContext parent) {
        this.path = path;
        this.node = node;
        this.parent = parent;
    }

    /** Every node of the tree in pre-order (Xen's {@code dt_for_each_device_node}). */
    static List<DtContext> preOrder(Fdt fdt) {
        List<DtContext> out = new ArrayList<>();
        walk(new DtContext("/", fdt.root(), null), out);
        return out;
    }

    private static void walk(DtContext ctx, List<DtContext> out) {
        out.add(ctx);
        String prefix = ctx.path.equals("/") ? "/" : ctx.path + "/";
        for (FdtNode c : ctx.node.children()) {
            walk(new DtContext(prefix + c.name(), c, ctx), out);
        }
    }

    /** The node's string property, if present and a valid string list; first string. */
    Optional<String> string(String name) {
        return strings(name).stream().findFirst();
    }

    /** A string-list property, empty if absent or malformed. */
    List<String> strings(String name) {
        Optional<FdtProperty> p = node.property(name);
        if (p.isEmpty()) {
            return List.of();
        }
        try {
            return p.get().asStringList();
        } catch (FdtValueException e) {
            return List.of();
        }
    }

    /** Xen's {@code dt_device_is_available}: no status, "okay" or "ok". */
    boolean isAvailable() {
        Optional<FdtProperty> p = node.property("status");
        if (p.isEmpty()) {
            return true;
        }
        String s = string("status").orElse("");
        return s.equals("okay") || s.equals("ok");
    }

    /** Xen's {@code dt_device_type_is_equal}. */
    boolean deviceTypeIs(String type) {
        return string("device_type").map(type::equals).orElse(false);
    }

    /**
     * Xen's {@code dt_property_read_u32}: the first cell if the property has at least 4 bytes,
     * else empty. Returned as an unsigned value in a long.
     */
    OptionalLong firstCell(String name) {
        Optional<FdtProperty> p = node.property(name);
        if (p.isEmpty() || p.get().length() < 4) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(p.get().asLong(0, 1));
    }

    /** Raw cells of a property (whole cells only; a trailing partial cell is ignored). */
    Optional<int[]> cells(String name) {
        Optional<FdtProperty> p = node.property(name);
        if (p.isEmpty()) {
            return Optional.empty();
        }
        int n = p.get().length() / 4;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) p.get().asLong(i, 1);
        }
        return Optional.of(out);
    }

    /** Xen's {@code dt_n_addr_cells}: the nearest ancestor's {@code #address-cells}, default 2. */
    int addressCellsForReg() {
        return inherited(parent, "#address-cells", DEFAULT_ADDRESS_CELLS);
    }

    /** Xen's {@code dt_n_size_cells}: the nearest ancestor's {@code #size-cells}, default 1. */
    int sizeCellsForReg() {
        return inherited(parent, "#size-cells", DEFAULT_SIZE_CELLS);
    }

    /** This node's own {@code #address-cells} as its children see it (inherited upward, default 2). */
    int ownAddressCells() {
        return inherited(this, "#address-cells", DEFAULT_ADDRESS_CELLS);
    }

    /** This node's own {@code #size-cells} as its children see it (inherited upward, default 1). */
    int ownSizeCells() {
        return inherited(this, "#size-cells", DEFAULT_SIZE_CELLS);
    }

    private static int inherited(DtContext from, String prop, int dflt) {
        for (DtContext c = from; c != null; c = c.parent) {
            OptionalLong v = c.firstCell(prop);
            if (v.isPresent()) {
                return (int) v.getAsLong();
            }
        }
        return dflt;
    }

    /**
     * Translates an address in this node's parent-bus space up to the root (machine) space, as
     * Xen's {@code dt_translate_address} does: an intermediate bus with an empty {@code ranges}
     * is identity, one without {@code ranges} cannot be translated (empty result), one with
     * entries maps through the entry that contains the address. Only 1- and 2-cell addresses
     * are translated; buses with wider addresses (PCI) fail.
     */
    OptionalLong translate(long address) {
        long a = address;
        for (DtContext bus = parent; bus != null && bus.parent != null; bus = bus.parent) {
            Optional<FdtProperty> ranges = bus.node.property("ranges");
            if (ranges.isEmpty()) {
                return OptionalLong.empty();
            }
            if (ranges.get().isEmpty()) {
                continue;
            }
            int cna = bus.ownAddressCells();
            int pna = bus.addressCellsForReg();
            int cns = bus.ownSizeCells();
            int entry = cna + pna + cns;
            if (cna > 2 || pna > 2 || cns > 2 || entry == 0) {
                return OptionalLong.empty();
            }
            FdtProperty r = ranges.get();
            int count = r.length() / 4 / entry;
            boolean found = false;
            for (int i = 0; i < count && !found; i++) {
                long child = r.asLong(i * entry, cna);
                long par = r.asLong(i * entry + cna, pna);
                long size = r.asLong(i * entry + cna + pna, cns);
                if (Long.compareUnsigned(a, child) >= 0 && Long.compareUnsigned(a - child, size) < 0) {
                    a = par + (a - child);
                    found = true;
                }
            }
            if (!found) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.of(a);
    }

    @Override
    public String toString() {
        return path;
    }
}
