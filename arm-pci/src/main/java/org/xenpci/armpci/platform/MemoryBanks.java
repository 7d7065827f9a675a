package org.xenpci.armpci.platform;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.xenpci.core.Hex;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * RAM banks a bootloader writes into the host device tree before it starts Xen, as U-Boot's
 * {@code fdt_fixup_memory_banks} (common/fdt_support.c) does: many vendor DTBs ship without a
 * {@code /memory} node (164 of Debian's Linux 6.1 arm64 DTBs) because the bootloader knows the
 * RAM fitted and fills it in.
 *
 * <p>The fixup finds the root's first child named {@code memory} or {@code memory@...} (libfdt's
 * {@code fdt_find_or_add_subnode(blob, 0, "memory")}), creating {@code /memory} if there is none,
 * sets {@code device_type = "memory"} and replaces {@code reg} with the banks in the root's
 * {@code #address-cells} / {@code #size-cells} (libfdt's defaults 2 and 1 when absent). Other
 * memory nodes are left as they are, as U-Boot leaves them.
 *
 * @param banks the banks, in the order they are written; validated by {@link PlatformFile}
 */
public record MemoryBanks(List<Bank> banks) {
    /** One bank: machine address and size in bytes (unsigned). */
    public record Bank(long base, long size) {
        @Override
        public String toString() {
            return Hex.of(base) + "+" + Hex.of(size);
        }
    }

    public MemoryBanks {
        banks = List.copyOf(banks);
    }

    /** The root's {@code #address-cells}, libfdt's default 2 when absent. */
    static int addressCells(Fdt dt) {
        return dt.root().u32("#address-cells").orElse(2);
    }

    /** The root's {@code #size-cells}, libfdt's default 1 when absent. */
    static int sizeCells(Fdt dt) {
        return dt.root().u32("#size-cells").orElse(1);
    }

    /**
     * Returns {@code dt} with the banks written into its memory node.
     *
     * @param dt the host device tree as the board's firmware has it; its root's cell counts must
     *     be 1 or 2 and hold every bank (checked by {@link PlatformFile})
     * @return the tree the bootloader hands to Xen
     */
    public Fdt applyTo(Fdt dt) {
        Objects.requireNonNull(dt, "dt");
        int ac = addressCells(dt);
        int sc = sizeCells(dt);
        int[] cells = new int[banks.size() * (ac + sc)];
        int i = 0;
        for (Bank b : banks) {
            i = put(cells, i, b.base(), ac);
            i = put(cells, i, b.size(), sc);
        }
        FdtProperty reg = FdtProperty.u32("reg", cells);
        FdtProperty deviceType = FdtProperty.string("device_type", "memory");
        FdtNode root = dt.root();
        FdtNode.Builder rb = root.toBuilder();
        FdtNode existing = null;
        for (FdtNode c : root.children()) {
            if (c.baseName().equals("memory")) {
                existing = c;
                break;
            }
        }
        if (existing == null) {
            rb.child(FdtNode.builder("memory").property(deviceType).property(reg).build());
        } else {
            rb.replaceChild(existing.name(), existing.toBuilder().setProperty(deviceType).setProperty(reg).build());
        }
        return new Fdt(rb.build(), dt.memReserves(), dt.bootCpuidPhys());
    }

    private static int put(int[] cells, int at, long value, int n) {
        if (n == 2) {
            cells[at++] = (int) (value >>> 32);
        }
        cells[at++] = (int) value;
        return at;
    }

    /** Tells which banks of {@code banks} overlap, as the index pair {@code {i, j}} with {@code i < j}, or null. */
    static int[] firstOverlap(List<Bank> banks) {
        List<Bank> seen = new ArrayList<>();
        for (int j = 0; j < banks.size(); j++) {
            Bank b = banks.get(j);
            for (int i = 0; i < seen.size(); i++) {
                Bank a = seen.get(i);
                // Both are non-empty and do not wrap (checked before), so end - 1 is exact.
                if (Long.compareUnsigned(a.base(), b.base() + b.size() - 1) <= 0
                        && Long.compareUnsigned(b.base(), a.base() + a.size() - 1) <= 0) {
                    return new int[] {i, j};
                }
            }
            seen.add(b);
        }
        return null;
    }
}
