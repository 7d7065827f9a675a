package org.xenpci.libxl.guest;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.guest.PciHostNode.Space;
import org.xenpci.libxl.guest.PciHostNode.Window;
import org.xenpci.libxl.guest.ProbedFunction.ProbedBar;

/**
 * A Linux-like PCI probe of one host bridge through its ECAM window: depth-first scan
 * ({@code pci_scan_child_bus}), bridge bus numbering as firmware does (secondary = next free,
 * subordinate = 0xff while scanning below, then the highest bus found), BAR sizing with
 * decoding off (write all-ones, read back, restore: PCI Local Bus 3.0 6.2.5.1), and resource
 * assignment from the node's {@code ranges} windows with natural alignment; bridges get
 * memory and prefetchable windows covering their subtree (1 MiB granular, PCI-to-PCI Bridge
 * Architecture 1.2, 3.2.5). Everything goes through config loads and stores only.
 */
public final class PciProbe {
    private static final long MIB = 1 << 20;
    /**
     * Memory BARs are placed at least page aligned: Xen maps BARs into a guest page by page and
     * refuses a guest address whose offset in the page differs from the host's (modify_bars
     * -EINVAL), so passthrough setups give every BAR its own page (Linux:
     * {@code pci=resource_alignment=4096}).
     */
    private static final long BAR_ALIGN = 4096;

    private final ConfigPort port;
    private final PciHostNode node;
    private final int segment;
    private long nextMem;
    private long nextPref;
    private long nextIo;
    private final long memLimit;
    private final long prefLimit;
    private int nextBus;
    /** Per SR-IOV PF ({@code bus << 8 | devfn}): its capability offset and the VF BARs reserved for TotalVFs. */
    private final java.util.Map<Integer, SriovPf> sriovPfs = new java.util.HashMap<>();

    /** An SR-IOV PF as the probe saw it: VF BAR {@code i} reserved at {@code vfBars[i].address()} for TotalVFs VFs. */
    private record SriovPf(int cap, int totalVfs, int offset, int stride, int vfDevice, List<ProbedBar> vfBars) {
    }

    /** @param segment the segment number the guest uses for this bridge */
    public PciProbe(ConfigPort port, PciHostNode node, int segment) {
        this.port = port;
        this.node = node;
        this.segment = segment;
        this.nextMem = node.window(Space.MEM32, false).map(Window::pciBase).orElse(0L);
        this.nextPref = node.window(Space.MEM64, true).map(Window::pciBase).orElse(-1L);
        this.nextIo = node.window(Space.IO, false).map(w -> Math.max(w.pciBase(), 0x1000L)).orElse(-1L);
        // Exclusive ends of the windows: a BAR that does not fit stays unassigned, as Linux
        // leaves it ("no space for ..."), instead of being placed outside the window.
        this.memLimit = node.window(Space.MEM32, false).map(w -> w.pciBase() + w.size()).orElse(Long.MAX_VALUE);
        this.prefLimit = node.window(Space.MEM64, true).map(w -> w.pciBase() + w.size()).orElse(-1L);
    }

    /**
     * Scans from the root bus, numbers bridges, sizes and assigns every BAR, and programs bridge
     * windows. Decoding is left off; {@link #enable} turns it on per function.
     *
     * @return every function found, parents before children
     */
    public List<ProbedFunction> scanAndAssign() {
        List<ProbedFunction> found = new ArrayList<>();
        nextBus = node.busStart() + 1;
        scanBus(node.busStart(), found);
        return found;
    }

    private int scanBus(int bus, List<ProbedFunction> found) {
        int max = bus;
        for (int dev = 0; dev < 32; dev++) {
            int vendor = port.read(bus, dev << 3, PciRegs.PCI_VENDOR_ID, 2);
            if (vendor == 0xffff || vendor == 0) {
                continue;
            }
            int header = port.read(bus, dev << 3, PciRegs.PCI_HEADER_TYPE, 1);
            int functions = (header & PciRegs.PCI_HEADER_TYPE_MFD) != 0 ? 8 : 1;
            for (int fn = 0; fn < functions; fn++) {
                int devfn = dev << 3 | fn;
                if (fn > 0 && port.read(bus, devfn, PciRegs.PCI_VENDOR_ID, 2) == 0xffff) {
                    continue;
                }
                max = Math.max(max, probeFunction(bus, devfn, found));
            }
        }
        return max;
    }

    private int probeFunction(int bus, int devfn, List<ProbedFunction> found) {
        int id = port.read(bus, devfn, PciRegs.PCI_VENDOR_ID, 4);
        int classRev = port.read(bus, devfn, PciRegs.PCI_CLASS_REVISION, 4);
        int header = port.read(bus, devfn, PciRegs.PCI_HEADER_TYPE, 1);
        boolean bridge = (header & 0x7f) == PciRegs.PCI_HEADER_TYPE_BRIDGE;
        int cmd = port.read(bus, devfn, PciRegs.PCI_COMMAND, 2);
        port.write(bus, devfn, PciRegs.PCI_COMMAND, 2, cmd & ~(PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_IO));
        List<ProbedBar> bars = sizeBars(bus, devfn, bridge ? 2 : 6, bridge ? PciRegs.PCI_ROM_ADDRESS1 : PciRegs.PCI_ROM_ADDRESS);
        if (!bridge) {
            probeSriov(bus, devfn);
        }
        int index = found.size();
        Sbdf sbdf = Sbdf.ofDevfn(segment, bus, devfn);
        found.add(new ProbedFunction(sbdf, id & 0xffff, id >>> 16, classRev >>> 8, classRev & 0xff, header, bars, -1, -1));
        if (!bridge) {
            return bus;
        }
        // Bus numbers firmware already gave the bridge are kept when sane, as Linux does without
        // pci=assign-busses; otherwise number it firmware-style: open it wide, scan, close it.
        int fwSecondary = port.read(bus, devfn, PciRegs.PCI_SECONDARY_BUS, 1);
        int fwSubordinate = port.read(bus, devfn, PciRegs.PCI_SUBORDINATE_BUS, 1);
        boolean keep = fwSecondary > bus && fwSubordinate >= fwSecondary && fwSecondary >= nextBus;
        int secondary = keep ? fwSecondary : nextBus;
        nextBus = secondary + 1;
        port.write(bus, devfn, PciRegs.PCI_PRIMARY_BUS, 1, bus);
        port.write(bus, devfn, PciRegs.PCI_SECONDARY_BUS, 1, secondary);
        port.write(bus, devfn, PciRegs.PCI_SUBORDINATE_BUS, 1, keep ? fwSubordinate : 0xff);
        long memStart = align(nextMem, MIB);
        long prefStart = nextPref < 0 ? -1 : align(nextPref, MIB);
        nextMem = memStart;
        if (prefStart >= 0) {
            nextPref = prefStart;
        }
        int max = Math.max(secondary, scanBus(secondary, found));
        if (keep) {
            max = Math.max(max, fwSubordinate);
        }
        port.write(bus, devfn, PciRegs.PCI_SUBORDINATE_BUS, 1, max);
        nextBus = max + 1;
        programWindows(bus, devfn, memStart, prefStart);
        found.set(index, new ProbedFunction(sbdf, id & 0xffff, id >>> 16, classRev >>> 8, classRev & 0xff, header, bars,
                secondary, max));
        return max;
    }

    /** The extended capability {@code id}'s offset, or -1 (Linux's {@code pci_find_ext_capability}). */
    private int findExtCapability(int bus, int devfn, int id) {
        int pos = PciRegs.PCI_EXT_CAP_START;
        for (int ttl = 480; ttl > 0 && pos >= PciRegs.PCI_EXT_CAP_START; ttl--) {
            int header = port.read(bus, devfn, pos, 4);
            if (header == 0 || header == -1) {
                return -1;
            }
            if (PciRegs.extCapId(header) == id) {
                return pos;
            }
            pos = PciRegs.extCapNext(header);
        }
        return -1;
    }

    /**
     * Linux's {@code sriov_init} and resource assignment: size each VF BAR (all-ones, VF Enable
     * and VF MSE clear) and reserve room for TotalVFs VFs, so the PF's bridge windows cover them.
     */
    private void probeSriov(int bus, int devfn) {
        int cap = findExtCapability(bus, devfn, PciRegs.PCI_EXT_CAP_ID_SRIOV);
        if (cap < 0) {
            return;
        }
        int total = port.read(bus, devfn, cap + 0x0e, 2);
        List<ProbedBar> vfBars = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int reg = cap + 0x24 + 4 * i;
            port.write(bus, devfn, reg, 4, -1);
            int probe = port.read(bus, devfn, reg, 4);
            if (probe == 0 || (probe & PciRegs.PCI_BASE_ADDRESS_SPACE_IO) != 0) {
                continue; // unimplemented (Xen and Linux warn about and skip I/O VF BARs)
            }
            boolean pref = (probe & PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
            boolean is64 = (probe & PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64;
            long mask = probe & 0xfffffff0L;
            if (is64 && i < 5) {
                port.write(bus, devfn, reg + 4, 4, -1);
                mask |= (port.read(bus, devfn, reg + 4, 4) & 0xffffffffL) << 32;
            } else {
                mask |= 0xffffffff00000000L;
            }
            long size = ~mask + 1;
            long addr = size == 0 || total == 0 ? -1 : allocateMem(size * total, is64, pref);
            port.write(bus, devfn, reg, 4, (int) Math.max(addr, 0));
            if (is64) {
                port.write(bus, devfn, reg + 4, 4, (int) (Math.max(addr, 0) >>> 32));
            }
            vfBars.add(new ProbedBar(i, is64 ? "mem64" : "mem32", pref, size, Math.max(addr, 0)));
            if (is64) {
                i++;
            }
        }
        sriovPfs.put(bus << 8 | devfn, new SriovPf(cap, total, port.read(bus, devfn, cap + 0x14, 2),
                port.read(bus, devfn, cap + 0x16, 2), port.read(bus, devfn, cap + 0x1a, 2), vfBars));
    }

    /**
     * Linux's {@code sriov_enable} ({@code echo numVfs > sriov_numvfs}): writes NumVFs, sets VF
     * Enable and VF MSE, and returns the VFs as Linux's {@code pci_iov_add_virtfn} creates them:
     * routing ID PF + First VF Offset + n * VF Stride, vendor the PF's, device the VF Device ID
     * (a VF's own ID registers read 0xffff), BARs carved from the VF BARs the probe reserved.
     *
     * @return the VFs, or empty with nothing written when {@code pf} has no SR-IOV capability
     *     or {@code numVfs} is not 1..TotalVFs (Linux: -ENOENT, -ERANGE)
     */
    public java.util.Optional<List<ProbedFunction>> enableSriov(ProbedFunction pf, int numVfs) {
        SriovPf s = sriovPfs.get(pf.sbdf().bus() << 8 | pf.sbdf().devfn());
        if (s == null || numVfs < 1 || numVfs > s.totalVfs()) {
            return java.util.Optional.empty();
        }
        int bus = pf.sbdf().bus();
        int devfn = pf.sbdf().devfn();
        port.write(bus, devfn, s.cap() + 0x10, 2, numVfs);
        port.write(bus, devfn, s.cap() + 0x08, 2, 0x0001 | 0x0008);
        List<ProbedFunction> vfs = new ArrayList<>();
        for (int n = 0; n < numVfs; n++) {
            int rid = (bus << 8 | devfn) + s.offset() + n * s.stride();
            int classRev = port.read(rid >> 8 & 0xff, rid & 0xff, PciRegs.PCI_CLASS_REVISION, 4);
            List<ProbedBar> bars = new ArrayList<>();
            for (ProbedBar b : s.vfBars()) {
                bars.add(new ProbedBar(b.index(), b.type(), b.prefetchable(), b.size(), b.address() == 0 ? 0 : b.address() + n * b.size()));
            }
            vfs.add(new ProbedFunction(Sbdf.ofDevfn(segment, rid >> 8 & 0xff, rid & 0xff), pf.vendor(), s.vfDevice(),
                    classRev >>> 8, classRev & 0xff, 0, bars, -1, -1));
        }
        return java.util.Optional.of(vfs);
    }

    /** Bridge memory windows: base/limit in 1 MiB units (bits 15:4 of the 16-bit registers). */
    private void programWindows(int bus, int devfn, long memStart, long prefStart) {
        long memEnd = align(nextMem, MIB);
        nextMem = memEnd;
        if (memEnd > memStart) {
            port.write(bus, devfn, PciRegs.PCI_MEMORY_BASE, 2, (int) (memStart >>> 16) & 0xfff0);
            port.write(bus, devfn, PciRegs.PCI_MEMORY_LIMIT, 2, (int) ((memEnd - 1) >>> 16) & 0xfff0);
        } else {
            // An empty window: base above limit disables it.
            port.write(bus, devfn, PciRegs.PCI_MEMORY_BASE, 2, 0xfff0);
            port.write(bus, devfn, PciRegs.PCI_MEMORY_LIMIT, 2, 0);
        }
        if (prefStart >= 0 && align(nextPref, MIB) > prefStart) {
            long prefEnd = align(nextPref, MIB);
            nextPref = prefEnd;
            port.write(bus, devfn, PciRegs.PCI_PREF_MEMORY_BASE, 2, (int) (prefStart >>> 16) & 0xfff0 | 1);
            port.write(bus, devfn, PciRegs.PCI_PREF_MEMORY_LIMIT, 2, (int) ((prefEnd - 1) >>> 16) & 0xfff0 | 1);
            port.write(bus, devfn, PciRegs.PCI_PREF_BASE_UPPER32, 4, (int) (prefStart >>> 32));
            port.write(bus, devfn, PciRegs.PCI_PREF_LIMIT_UPPER32, 4, (int) ((prefEnd - 1) >>> 32));
        } else {
            port.write(bus, devfn, PciRegs.PCI_PREF_MEMORY_BASE, 2, 0xfff0);
            port.write(bus, devfn, PciRegs.PCI_PREF_MEMORY_LIMIT, 2, 0);
        }
    }

    private List<ProbedBar> sizeBars(int bus, int devfn, int count, int romReg) {
        List<ProbedBar> bars = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int reg = PciRegs.PCI_BASE_ADDRESS_0 + 4 * i;
            int orig = port.read(bus, devfn, reg, 4);
            port.write(bus, devfn, reg, 4, -1);
            int probe = port.read(bus, devfn, reg, 4);
            port.write(bus, devfn, reg, 4, orig);
            if (probe == 0 || probe == -1 && orig == -1) {
                continue; // unimplemented
            }
            if ((probe & PciRegs.PCI_BASE_ADDRESS_SPACE_IO) != 0) {
                long size = (~(probe & PciRegs.PCI_BASE_ADDRESS_IO_MASK) + 1) & 0xffff;
                long addr = allocateIo(size);
                port.write(bus, devfn, reg, 4, (int) addr);
                bars.add(new ProbedBar(i, "io", false, size, addr));
                continue;
            }
            boolean pref = (probe & PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
            boolean is64 = (probe & PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64;
            long mask = probe & 0xfffffff0L;
            if (is64 && i + 1 < count) {
                int hiReg = reg + 4;
                int origHi = port.read(bus, devfn, hiReg, 4);
                port.write(bus, devfn, hiReg, 4, -1);
                long probeHi = port.read(bus, devfn, hiReg, 4) & 0xffffffffL;
                port.write(bus, devfn, hiReg, 4, origHi);
                mask |= probeHi << 32;
            } else {
                mask |= 0xffffffff00000000L;
            }
            long size = ~mask + 1;
            if (size == 0) {
                continue;
            }
            long addr = allocateMem(size, is64, pref);
            if (addr >= 0) {
                port.write(bus, devfn, reg, 4, (int) addr);
                if (is64) {
                    port.write(bus, devfn, reg + 4, 4, (int) (addr >>> 32));
                }
            }
            // Address 0 marks a BAR left unassigned (no room in any window).
            bars.add(new ProbedBar(i, is64 ? "mem64" : "mem32", pref, size, Math.max(addr, 0)));
            if (is64) {
                i++;
            }
        }
        int origRom = port.read(bus, devfn, romReg, 4);
        port.write(bus, devfn, romReg, 4, PciRegs.PCI_ROM_ADDRESS_MASK);
        int romProbe = port.read(bus, devfn, romReg, 4) & PciRegs.PCI_ROM_ADDRESS_MASK;
        port.write(bus, devfn, romReg, 4, origRom);
        if (romProbe != 0) {
            long size = (~romProbe + 1) & 0xffffffffL;
            long addr = allocateMem(size, false, false);
            // Assigned but not enabled: drivers enable a ROM only to read it.
            if (addr >= 0) {
                port.write(bus, devfn, romReg, 4, (int) addr);
            }
            bars.add(new ProbedBar(count == 6 ? 6 : 2, "rom", false, size, Math.max(addr, 0)));
        }
        return bars;
    }

    private long allocateMem(long size, boolean is64, boolean pref) {
        // Prefetchable 64-bit BARs go to the 64-bit window when there is one; everything else
        // to the 32-bit non-prefetchable window, which is the only one a bridge can forward
        // non-prefetchable cycles through (its memory window is 32-bit).
        long alignment = Math.max(size, BAR_ALIGN);
        if (is64 && pref && nextPref >= 0) {
            long a = align(nextPref, alignment);
            if (a + size <= prefLimit) {
                nextPref = a + size;
                return a;
            }
            // Linux falls back to the non-prefetchable window when the prefetchable one is full.
        }
        long a = align(nextMem, alignment);
        if (a + size > memLimit || a + size < a) {
            return -1;
        }
        nextMem = a + size;
        return a;
    }

    private long allocateIo(long size) {
        if (nextIo < 0) {
            return 0;
        }
        long a = align(nextIo, size);
        nextIo = a + size;
        return a;
    }

    /**
     * Turns decoding on as a driver's {@code pci_enable_device} + {@code pci_set_master} would:
     * MEMORY if it has memory BARs (bridges always), IO if it has IO BARs, and MASTER.
     */
    public void enable(ProbedFunction f) {
        // pci_enable_resources: a memory BAR without an address means the driver cannot enable it.
        if (f.bars().stream().anyMatch(b -> (b.type().equals("mem32") || b.type().equals("mem64")) && b.address() == 0)) {
            return;
        }
        int cmd = port.read(f.sbdf().bus(), f.sbdf().devfn(), PciRegs.PCI_COMMAND, 2);
        boolean mem = f.isBridge() || f.bars().stream().anyMatch(b -> !b.type().equals("io") && !b.type().equals("rom"));
        boolean io = f.bars().stream().anyMatch(b -> b.type().equals("io") && b.address() != 0);
        cmd |= PciRegs.PCI_COMMAND_MASTER | (mem ? PciRegs.PCI_COMMAND_MEMORY : 0) | (io ? PciRegs.PCI_COMMAND_IO : 0);
        port.write(f.sbdf().bus(), f.sbdf().devfn(), PciRegs.PCI_COMMAND, 2, cmd);
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }
}
