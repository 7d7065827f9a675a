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
     * @throws IllegalArgumentException if a RAM bank overlaps a device already registered
     */
    public Hardware(Fdt deviceTree, PhysicalAddressSpace addressSpace) {
        this.deviceTree = Objects.requireNonNull(deviceTree, "deviceTree");
        this.addressSpace = Objects.requireNonNull(addressSpace, "addressSpace");
        List<RamBank> banks = new ArrayList<>();
        for (long[] bank : memoryBanks(deviceTree)) {
            SparseMemory mem = new SparseMemory(bank[1]);
            addressSpace.register("ram@" + Long.toHexString(bank[0]), bank[0], bank[1], mem);
            banks.add(new RamBank(bank[0], mem));
        }
        this.ram = List.copyOf(banks);
    }

    /** Host RAM banks, in device-tree order. */
    public List<RamBank> ram() {
        return ram;
    }

    /** The (base, size) pairs of the root's {@code device_type = "memory"} nodes. */
    static List<long[]> memoryBanks(Fdt dt) {
        List<long[]> out = new ArrayList<>();
        FdtNode root = dt.root();
        int ac = root.u32("#address-cells").orElse(2);
        int sc = root.u32("#size-cells").orElse(1);
        for (FdtNode n : root.children()) {
            boolean memory = n.property("device_type").map(p -> p.asString().equals("memory")).orElse(false);
            boolean okay = n.property("status").map(p -> p.asString().equals("okay")).orElse(true);
            if (!memory || !okay || n.property("reg").isEmpty()) {
                continue;
            }
            FdtProperty reg = n.property("reg").get();
            int entries = reg.length() / 4 / (ac + sc);
            for (int i = 0; i < entries; i++) {
                long base = reg.asLong(i * (ac + sc), ac);
                long size = reg.asLong(i * (ac + sc) + ac, sc);
                if (size > 0) {
                    out.add(new long[] {base, size});
                }
            }
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
