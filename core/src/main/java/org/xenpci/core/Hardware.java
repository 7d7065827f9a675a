package org.xenpci.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * The physical Arm platform Xen boots on: its device tree and its physical address space.
 * Devices (host bridges, PCI functions, an ITS) are registered on the address space by the
 * modules that model them; Xen reaches them only through it, as real Xen reaches hardware
 * through ioremap.
 */
public final class Hardware {
    /** One bank of host RAM: machine address {@code base}, backed by {@code memory}. */
    public record RamBank(long base, SparseMemory memory) {
    }

    private final Fdt deviceTree;
    private final PhysicalAddressSpace addressSpace;
    private final List<RamBank> ram;

    /**
     * Assembles the hardware and puts host RAM, as the {@code /memory} nodes describe it, on the
     * address space (so devices that read memory, such as an ITS command queue, see it).
     *
     * @throws BootException naming the memory node and its {@code reg} (or the root's cell
     *     counts) if a bank cannot be read, is not page-aligned, wraps past 2^64 or overlaps a
     *     region already registered (another bank, a device)
     */
    public Hardware(Fdt deviceTree, PhysicalAddressSpace addressSpace) {
        this.deviceTree = Objects.requireNonNull(deviceTree, "deviceTree");
        this.addressSpace = Objects.requireNonNull(addressSpace, "addressSpace");
        List<RamBank> banks = new ArrayList<>();
        for (Bank bank : memoryBanks(deviceTree)) {
            SparseMemory mem = new SparseMemory(bank.size);
            try {
                addressSpace.register("ram@" + Long.toHexString(bank.base), bank.base, bank.size, mem);
            } catch (IllegalArgumentException e) {
                throw BootException.badProperty(bank.node, "reg", "RAM bank " + Hex.of(bank.base) + "+"
                        + Hex.of(bank.size) + " cannot be placed: " + e.getMessage(), e);
            }
            banks.add(new RamBank(bank.base, mem));
        }
        this.ram = List.copyOf(banks);
    }

    /** One bank as the DT gives it, with the node that gave it. */
    private record Bank(String node, long base, long size) {
    }

    /** Host RAM banks, in device-tree order. */
    public List<RamBank> ram() {
        return ram;
    }

    /**
     * The banks of the root's {@code device_type = "memory"} nodes (Xen's
     * {@code early_scan_node} / {@code process_memory_node}), with their sizes 0 skipped.
     * Xen's page allocator works in whole pages, so a bank that is not page-aligned is refused
     * rather than silently trimmed.
     */
    static List<Bank> memoryBanks(Fdt dt) {
        List<Bank> out = new ArrayList<>();
        FdtNode root = dt.root();
        int ac = BootException.readingNode("/", () -> root.u32("#address-cells").orElse(2));
        int sc = BootException.readingNode("/", () -> root.u32("#size-cells").orElse(1));
        for (FdtNode n : root.children()) {
            String path = "/" + n.name();
            BootException.readingNode(path, () -> {
                boolean memory = n.property("device_type").map(p -> p.asString().equals("memory")).orElse(false);
                boolean okay = n.property("status").map(p -> p.asString().equals("okay")).orElse(true);
                if (!memory || !okay || n.property("reg").isEmpty()) {
                    return null;
                }
                if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
                    throw BootException.badProperty("/", ac < 1 || ac > 2 ? "#address-cells" : "#size-cells",
                            "memory banks need 1 or 2 address and size cells, not " + ac + " and " + sc);
                }
                FdtProperty reg = n.property("reg").get();
                if (reg.length() % (4 * (ac + sc)) != 0) {
                    throw BootException.badProperty(path, "reg", reg.length() + " bytes is not a whole number of ("
                            + ac + "+" + sc + ")-cell entries");
                }
                int entries = reg.length() / 4 / (ac + sc);
                for (int i = 0; i < entries; i++) {
                    long base = reg.asLong(i * (ac + sc), ac);
                    long size = reg.asLong(i * (ac + sc) + ac, sc);
                    if (size == 0) {
                        continue;
                    }
                    if (((base | size) & (P2m.PAGE_SIZE - 1)) != 0) {
                        throw BootException.badProperty(path, "reg", "RAM bank " + Hex.of(base) + "+" + Hex.of(size)
                                + " is not page-aligned");
                    }
                    if (size < 0 || Long.compareUnsigned(base + size - 1, base) < 0) {
                        throw BootException.badProperty(path, "reg", "RAM bank " + Hex.of(base) + "+" + Hex.of(size)
                                + " wraps past the top of the address space");
                    }
                    out.add(new Bank(path, base, size));
                }
                return null;
            });
        }
        return out;
    }

    /** The host device tree as firmware hands it to Xen. */
    public Fdt deviceTree() {
        return deviceTree;
    }

    public PhysicalAddressSpace addressSpace() {
        return addressSpace;
    }
}
