package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.armpci.gicv3.PhysicalMsi;
import org.xenpci.core.Errno;
import org.xenpci.core.MmioHandler;
import org.xenpci.core.P2m;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Vcpu;

/**
 * MSI-X capability emulation (xen/drivers/vpci/msix.c), registered when
 * {@code Profile.vpciMsi}.
 *
 * <p>Config space: control (pos+2) is emulated: reads {@code (entries - 1) | ENABLE | MASKALL}
 * as the guest set them. Table and PBA Offset/BIR (pos+4, pos+8) are hardware reads, writes
 * ignored, for a domU too (msix.c leaves them all-ones for a domU, which would keep any guest
 * from finding its table; see docs/msi.md).
 *
 * <p>Table and PBA (guest BAR address + offset): while the BAR is mapped, the pages holding
 * them are punched out of the p2m mapping ({@code modifyBars}) and trapped here:
 * <pre>
 *   entry i at table + 16*i:  +0x0 addr lo  +0x4 addr hi  +0x8 data  +0xc vector control (bit 0 mask)
 * </pre>
 * only aligned 4- and 8-byte accesses are honoured (others: all-ones / dropped, warned).
 * Address/data writes are stored and mark the entry updated; they take effect at the next
 * unmask. Unmasking with MSI-X enabled and the function not masked (re)binds an updated entry:
 * {@link MsiRouting} gives the physical message, which is written to the physical entry and the
 * entry unmasked; a refused message keeps the physical entry masked (nothing is delivered).
 * Masking masks the physical entry, so a vector raised meanwhile sets the device's PBA bit and is
 * delivered by the hardware when unmasked. PBA reads come from the device; PBA writes are
 * dropped for a domU (forwarded for hwdom). Other bytes of those pages are forwarded to the
 * device, unaligned ones byte by byte.
 *
 * <p>Control: enable with the function unmasked rebinds every unmasked updated entry; disable
 * unbinds every entry (physically masked, marked updated); a domU enabling loses INTx. The
 * hardware control gets the guest's ENABLE and MASKALL. Detach unbinds everything and removes
 * the traps.
 *
 * <p>Thread-safety: state lives in {@link VpciDevice#msix}; config handlers run under the device
 * monitor, and the MMIO trap takes it too.
 */
public final class VpciMsix implements CapabilityEmulator {

    /** {@code struct vpci_msix}. */
    static final class State {
        int pos;
        int entries;
        int tableBir;
        long tableOffset;
        int pbaBir;
        long pbaOffset;
        boolean enabled;
        boolean masked;
        /**
         * The messages the guest wrote, allocated at its first address or data write: until
         * then every entry reads 0 (a hardware domain that never programs MSI-X pays nothing).
         */
        private long[] address;
        private int[] data;
        /**
         * Per entry, three bits as bitsets of {@code words} longs each: the guest's mask
         * ({@code [0, words)}), updated ({@code [words, 2*words)}) and bound ({@code [2*words,
         * 3*words)}). One array instead of an object or a boolean[] per flag: 40 bytes for up to
         * 64 entries, against 96 for three boolean[16].
         */
        private long[] flags;
        private int words;

        /** Sizes the per-entry state: every entry masked (the reset value), not updated, not bound. */
        void size(int n) {
            entries = n;
            words = (n + 63) >>> 6;
            flags = new long[3 * words];
            for (int i = 0; i < n; i++) {
                flags[i >>> 6] |= 1L << i;
            }
        }

        private boolean bit(int set, int i) {
            return (flags[set * words + (i >>> 6)] & 1L << i) != 0;
        }

        private void bit(int set, int i, boolean on) {
            if (on) {
                flags[set * words + (i >>> 6)] |= 1L << i;
            } else {
                flags[set * words + (i >>> 6)] &= ~(1L << i);
            }
        }

        boolean entryMasked(int i) {
            return bit(0, i);
        }

        void entryMasked(int i, boolean on) {
            bit(0, i, on);
        }

        boolean updated(int i) {
            return bit(1, i);
        }

        void updated(int i, boolean on) {
            bit(1, i, on);
        }

        boolean bound(int i) {
            return bit(2, i);
        }

        void bound(int i, boolean on) {
            bit(2, i, on);
        }

        long address(int i) {
            return address == null ? 0 : address[i];
        }

        int data(int i) {
            return data == null ? 0 : data[i];
        }

        void address(int i, long a) {
            messages();
            address[i] = a;
        }

        void data(int i, int d) {
            messages();
            data[i] = d;
        }

        private void messages() {
            if (address == null) {
                address = new long[entries];
                data = new int[entries];
            }
        }
        /**
         * True while the physical table is known to match {@link #bound}: every entry vPCI has
         * not bound is physically masked. False from attach until vPCI could mask every entry
         * (it needs memory decoding on), and again whenever a table write was lost because
         * decoding was off. While false, hardware MASKALL is held set through config space
         * (which works with decoding off), so no stale entry a previous owner left unmasked
         * can fire (docs/security.md, "MSI-X left armed").
         */
        boolean clean;
        /**
         * The guest addresses of the traps currently installed (table and PBA pages: at most 2,
         * one when they share or adjoin pages), {@link #NO_TRAP} for none, and their handler.
         * Two fields, not an array: every MSI-X device keeps them.
         */
        long trapGpa0 = NO_TRAP;
        long trapGpa1 = NO_TRAP;
        Trap trap;

        /** Removes every trap this state installed from {@code p2m}. */
        void removeTraps(P2m p2m) {
            if (trapGpa0 != NO_TRAP) {
                p2m.removeTrap(trapGpa0, trap);
            }
            if (trapGpa1 != NO_TRAP) {
                p2m.removeTrap(trapGpa1, trap);
            }
            trapGpa0 = NO_TRAP;
            trapGpa1 = NO_TRAP;
            if (trap != null) {
                trap.seam = NO_TRAP;
            }
        }

        /**
         * Installs the trap over guest frames {@code [first, last]}; false if the p2m refused it
         * (with a warning unless {@code quiet}).
         */
        boolean addTrap(VpciDevice dev, P2m p2m, long first, long last, boolean quiet) {
            long gpa = first << P2m.PAGE_SHIFT;
            if (gpa == trapGpa0 || gpa == trapGpa1) {
                return true;
            }
            try {
                p2m.addTrap(gpa, (last - first + 1) << P2m.PAGE_SHIFT, trap);
            } catch (IllegalArgumentException e) {
                // The guest placed the page over something else it has mapped (another
                // device's BAR): Xen's msix.c refuses the hole with -EEXIST; the table page
                // is then unreachable, never a model failure.
                if (!quiet) {
                    dev.warn("MSI-X page at 0x" + Long.toHexString(gpa) + " cannot be trapped: " + e.getMessage());
                }
                return false;
            }
            if (trapGpa0 == NO_TRAP) {
                trapGpa0 = gpa;
            } else {
                trapGpa1 = gpa;
            }
            return true;
        }
    }

    /** No trap installed (a trap's guest address is page aligned, never this). */
    static final long NO_TRAP = -1;

    @Override
    public int capId() {
        return PCI_CAP_ID_MSIX;
    }

    @Override
    public boolean isExtended() {
        return false;
    }

    @Override
    public boolean messagesEnabled(VpciDevice dev) {
        State s = dev.msix;
        return s != null && s.enabled;
    }

    @Override
    public int init(VpciDevice dev) {
        HardwareConfig hw = dev.hardware();
        int pos = VpciCapabilities.findCapability(hw, PCI_CAP_ID_MSIX);
        int control = hw.read(pos + PCI_MSIX_FLAGS, 2);
        int table = hw.read(pos + PCI_MSIX_TABLE, 4);
        int pba = hw.read(pos + PCI_MSIX_PBA, 4);
        State s = new State();
        s.pos = pos;
        int entries = (control & PCI_MSIX_FLAGS_QSIZE) + 1;
        s.entries = entries;
        s.tableBir = table & PCI_MSIX_BIR_MASK;
        s.tableOffset = Integer.toUnsignedLong(table & ~PCI_MSIX_BIR_MASK);
        s.pbaBir = pba & PCI_MSIX_BIR_MASK;
        s.pbaOffset = Integer.toUnsignedLong(pba & ~PCI_MSIX_BIR_MASK);
        if (!fits(dev, s.tableBir, s.tableOffset, (long) s.entries * PCI_MSIX_ENTRY_SIZE)
                || !fits(dev, s.pbaBir, s.pbaOffset, pbaSize(s.entries))) {
            return Errno.ENODEV.rc();
        }
        s.size(entries);
        s.trap = new Trap(dev);
        dev.msix = s;
        // Whatever a previous owner left in the function, vPCI's view starts disabled: so does
        // the hardware, until the table has been sanitised.
        writeHardwareControl(dev, s);
        if (decodingOn(dev)) {
            sanitize(dev, s);
        }
        VpciRegisters r = dev.registers();
        int rc = r.addRegister((d, reg) -> controlRead(d.msix), (d, reg, v) -> controlWrite(d, v), pos + PCI_MSIX_FLAGS, 2);
        if (rc == 0 && !dev.hardwareDomainView()) {
            rc = r.addRegister(VpciHandlers.HW_READ32, null, pos + PCI_MSIX_TABLE, 4);
            if (rc == 0) {
                rc = r.addRegister(VpciHandlers.HW_READ32, null, pos + PCI_MSIX_PBA, 4);
            }
        }
        if (rc == 0 && dev.header().barsMapped()) {
            rc = makeHole(dev, s);
        }
        return rc;
    }

    /**
     * {@code vpci_make_msix_hole} (msix.c, the end of {@code init_msix}): header init mapped the
     * whole BAR before MSI-X state existed (the hardware domain with decoding already on, e.g.
     * a VF whose PF has VF MSE set), so the table and PBA pages are taken out of the p2m again and
     * trapped. A frame mapped elsewhere than 1:1 is Xen's "clobbers MSIX MMIO area": -EEXIST.
     */
    private static int makeHole(VpciDevice dev, State s) {
        P2m p2m = dev.owner().p2m();
        for (long[] r : guestFrames(dev, s)) {
            for (long gfn = r[0]; gfn <= r[1]; gfn++) {
                P2m.Entry e = p2m.lookup(gfn << P2m.PAGE_SHIFT);
                if (e instanceof P2m.DirectMmio m && m.maddr() - m.gpa() == 0) {
                    p2m.unmapMmio(gfn, 1);
                } else if (e != null && !(e instanceof P2m.Trapped t && t.handler() == s.trap)) {
                    dev.warn("existing mapping at 0x" + Long.toHexString(gfn << P2m.PAGE_SHIFT)
                            + " clobbers MSIX MMIO area");
                    return Errno.EEXIST.rc();
                }
            }
        }
        decodingChanged(dev, true);
        return 0;
    }

    /** PBA size in bytes: {@code roundup(ceil(entries / 8), 8)}. */
    static long pbaSize(int entries) {
        return ((entries + 7) / 8 + 7) / 8 * 8L;
    }

    private static boolean fits(VpciDevice dev, int bir, long offset, long size) {
        if (bir >= 6) {
            return false; // slot 6 is the ROM
        }
        VpciBar b = dev.header().bar(bir);
        return (b.type() == VpciBar.Type.MEM32 || b.type() == VpciBar.Type.MEM64_LO) && offset + size <= b.size();
    }

    private static int controlRead(State s) {
        return (s.entries - 1) | (s.enabled ? PCI_MSIX_FLAGS_ENABLE : 0) | (s.masked ? PCI_MSIX_FLAGS_MASKALL : 0);
    }

    /** {@code control_write} (msix.c). */
    private static WriteOutcome controlWrite(VpciDevice dev, int val) {
        State s = dev.msix;
        boolean enable = (val & PCI_MSIX_FLAGS_ENABLE) != 0;
        boolean mask = (val & PCI_MSIX_FLAGS_MASKALL) != 0;
        if (enable == s.enabled && mask == s.masked) {
            return WriteOutcome.NO_EFFECT;
        }
        boolean wasLive = s.enabled && !s.masked;
        if (s.enabled && !enable) {
            for (int i = 0; i < s.entries; i++) {
                if (s.bound(i)) {
                    unbind(dev, s, i);
                    s.updated(i, true);
                }
            }
        }
        if (enable && !s.enabled && !dev.hardwareDomainView()) {
            dev.header().disableIntx(dev);
        }
        s.enabled = enable;
        s.masked = mask;
        if (enable && !mask && !wasLive) {
            if (!s.clean) {
                sanitize(dev, s); // binds the live entries once the table is known
            } else {
                bindLive(dev, s);
            }
        }
        writeHardwareControl(dev, s);
        return WriteOutcome.NO_EFFECT;
    }

    /**
     * Hardware control: the guest's ENABLE, and MASKALL as the guest set it or held set while the
     * physical table is not known to be clean.
     */
    private static void writeHardwareControl(VpciDevice dev, State s) {
        HardwareConfig hw = dev.hardware();
        int c = hw.read(s.pos + PCI_MSIX_FLAGS, 2) & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
        hw.write(s.pos + PCI_MSIX_FLAGS, 2, c | (s.enabled ? PCI_MSIX_FLAGS_ENABLE : 0)
                | (s.masked || !s.clean ? PCI_MSIX_FLAGS_MASKALL : 0));
    }

    /** Binds every entry the guest has unmasked and vPCI has not bound (or that was updated). */
    private static void bindLive(VpciDevice dev, State s) {
        for (int i = 0; i < s.entries; i++) {
            if (!s.entryMasked(i) && (s.updated(i) || !s.bound(i))) {
                unbind(dev, s, i);
                bind(dev, s, i);
            }
        }
    }

    /**
     * Masks every physical entry, then binds the live ones: afterwards the table matches
     * vPCI's bookkeeping and MASKALL is released. Needs memory decoding (table writes go
     * through the BAR); without it nothing changes and the table stays unclean.
     */
    private static void sanitize(VpciDevice dev, State s) {
        if (!decodingOn(dev)) {
            return;
        }
        PhysicalAddressSpace b = bus(dev);
        for (int i = 0; i < s.entries; i++) {
            b.write(hostEntry(dev, s, i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
            if (s.bound(i)) {
                s.bound(i, false);
                s.updated(i, true);
            }
        }
        s.clean = true;
        if (s.enabled && !s.masked) {
            bindLive(dev, s);
        }
        writeHardwareControl(dev, s);
    }

    /** True if the function decodes memory now (its table is reachable through the BAR). */
    private static boolean decodingOn(VpciDevice dev) {
        return dev.memoryDecoding();
    }

    /**
     * A table write vPCI meant to make could not reach the function (decoding off): the table
     * no longer matches the bookkeeping, so MASKALL is held until it is sanitised.
     */
    private static void tableWriteLost(VpciDevice dev, State s) {
        if (s.clean) {
            s.clean = false;
            writeHardwareControl(dev, s);
        }
    }

    /** Called after hardware memory decoding was turned on: brings the physical table up to date. */
    static void decoded(VpciDevice dev) {
        State s = dev.msix;
        if (s != null && !s.clean) {
            sanitize(dev, s);
        }
    }

    /** Machine address of entry {@code i} of the physical table (host BAR address + offset). */
    private static long hostEntry(VpciDevice dev, State s, int i) {
        return dev.header().bar(s.tableBir).addr() + s.tableOffset + (long) i * PCI_MSIX_ENTRY_SIZE;
    }

    private static PhysicalAddressSpace bus(VpciDevice dev) {
        return dev.owner().xen().hardware().addressSpace();
    }

    /** Programs entry {@code i} physically and unmasks it, or leaves it masked if the message is refused. */
    private static void bind(VpciDevice dev, State s, int i) {
        PhysicalMsi p = MsiRouting.physical(dev, i, s.address(i), s.data(i));
        if (p == null) {
            return; // stays updated: a later unmask retries
        }
        if (!decodingOn(dev)) {
            s.updated(i, true);
            tableWriteLost(dev, s); // bound when decoding comes back (sanitize)
            return;
        }
        long at = hostEntry(dev, s, i);
        PhysicalAddressSpace b = bus(dev);
        b.write(at + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
        b.write(at + PCI_MSIX_ENTRY_LOWER_ADDR, 8, p.address());
        b.write(at + PCI_MSIX_ENTRY_DATA, 4, Integer.toUnsignedLong(p.data()));
        b.write(at + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
        s.bound(i, true);
        s.updated(i, false);
    }

    private static void unbind(VpciDevice dev, State s, int i) {
        if (!s.bound(i)) {
            return;
        }
        if (decodingOn(dev)) {
            bus(dev).write(hostEntry(dev, s, i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
        } else {
            tableWriteLost(dev, s);
        }
        s.bound(i, false);
    }

    private static void vectorControl(VpciDevice dev, State s, int i, int ctrl) {
        boolean mask = (ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) != 0;
        if (mask == s.entryMasked(i)) {
            return;
        }
        s.entryMasked(i, mask);
        if (mask) {
            if (s.bound(i)) {
                if (decodingOn(dev)) {
                    bus(dev).write(hostEntry(dev, s, i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
                } else {
                    tableWriteLost(dev, s);
                }
            }
        } else if (s.enabled && !s.masked) {
            if (!s.clean) {
                sanitize(dev, s);
            } else if (s.updated(i) || !s.bound(i)) {
                unbind(dev, s, i);
                bind(dev, s, i);
            } else if (decodingOn(dev)) {
                bus(dev).write(hostEntry(dev, s, i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
            } else {
                s.updated(i, true);
                tableWriteLost(dev, s);
            }
        }
    }

    /** The guest frames ({start, end} inclusive) of the table and PBA pages, at the current guest BAR addresses. */
    static List<long[]> guestFrames(VpciDevice dev, State s) {
        List<long[]> out = new ArrayList<>(2);
        long t = dev.header().bar(s.tableBir).guestAddr() + s.tableOffset;
        out.add(new long[] {t >>> P2m.PAGE_SHIFT, (t + (long) s.entries * PCI_MSIX_ENTRY_SIZE - 1) >>> P2m.PAGE_SHIFT});
        long p = dev.header().bar(s.pbaBir).guestAddr() + s.pbaOffset;
        out.add(new long[] {p >>> P2m.PAGE_SHIFT, (p + pbaSize(s.entries) - 1) >>> P2m.PAGE_SHIFT});
        return out;
    }

    /** Called by {@code modify_decoding}: traps the table/PBA pages while the BARs are mapped. */
    static void decodingChanged(VpciDevice dev, boolean map) {
        State s = dev.msix;
        P2m p2m = dev.owner().p2m();
        s.removeTraps(p2m);
        if (!map) {
            return;
        }
        List<long[]> frames = guestFrames(dev, s);
        long[] t = frames.get(0);
        long[] p = frames.get(1);
        // Table and PBA pages that overlap or adjoin (the usual layout: the PBA on the page after
        // a small table) are one trap, one p2m entry: the handler tells them apart by address.
        // If the p2m refuses the union, each is tried on its own, so one clash costs only that page.
        if (p[0] <= t[1] + 1 && t[0] <= p[1] + 1
                && s.addTrap(dev, p2m, Math.min(t[0], p[0]), Math.max(t[1], p[1]), true)) {
            // Where the two traps would have met (pages that adjoin, not shared): an access
            // across it would have crossed two p2m entries and aborted, so the trap refuses it.
            if (p[0] > t[1] || t[0] > p[1]) {
                s.trap.seam = Math.max(t[0], p[0]) << P2m.PAGE_SHIFT;
            }
            return;
        }
        s.addTrap(dev, p2m, t[0], t[1], false);
        s.addTrap(dev, p2m, p[0], p[1], false);
    }

    @Override
    public int cleanup(VpciDevice dev, boolean hide) {
        State s = dev.msix;
        if (s == null) {
            return 0;
        }
        for (int i = 0; i < s.entries; i++) {
            unbind(dev, s, i);
        }
        // Through config space, which works whatever decoding is: the function can no longer
        // signal whatever its table holds (the masks above are lost with decoding off).
        s.enabled = false;
        s.clean = false;
        writeHardwareControl(dev, s);
        s.removeTraps(dev.owner().p2m());
        if (hide) {
            dev.registers().removeRegisters(s.pos + PCI_MSIX_FLAGS, 2);
            if (!dev.hardwareDomainView()) {
                dev.registers().removeRegisters(s.pos + PCI_MSIX_TABLE, 8);
            }
        }
        dev.msix = null;
        return 0;
    }

    /** The MMIO handler for a device's table and PBA pages (guest-physical addresses). */
    static final class Trap implements MmioHandler {
        private final VpciDevice dev;

        /**
         * The guest address where the table's pages end and the PBA's begin (or the other way
         * round) while one trap covers both ({@link #decodingChanged}), else {@link #NO_TRAP}.
         * Written under the device's monitor, read lock-free by {@link #accepts}.
         */
        volatile long seam = NO_TRAP;

        Trap(VpciDevice dev) {
            this.dev = dev;
        }

        /**
         * Refuses (a data abort) an access that runs across the seam between the table's pages
         * and the PBA's: as two traps, one per range, it would cross two p2m entries, which
         * aborts ({@code Domain}'s stage-2 path); joining the traps must not make it reach
         * the handler, which would forward its bytes to the hardware one by one.
         */
        @Override
        public boolean accepts(Vcpu vcpu, long gpa, int size) {
            long at = seam;
            return at == NO_TRAP || gpa >= at || gpa + size <= at;
        }

        @Override
        public String name() {
            return "vpci-msix";
        }

        @Override
        public long read(Vcpu vcpu, long gpa, int size) {
            synchronized (dev) {
                State s = dev.msix;
                if (s == null) {
                    return ones(size);
                }
                long tbase = dev.header().bar(s.tableBir).guestAddr() + s.tableOffset;
                long tsize = (long) s.entries * PCI_MSIX_ENTRY_SIZE;
                if (gpa >= tbase && gpa < tbase + tsize) {
                    if (!aligned(gpa, size)) {
                        dev.warn("unaligned read of " + size + " bytes from MSI-X table at 0x" + Long.toHexString(gpa));
                        return ones(size);
                    }
                    int i = (int) ((gpa - tbase) / PCI_MSIX_ENTRY_SIZE);
                    int off = (int) ((gpa - tbase) % PCI_MSIX_ENTRY_SIZE);
                    return entryRead(s, i, off, size);
                }
                long pbase = dev.header().bar(s.pbaBir).guestAddr() + s.pbaOffset;
                boolean inPba = gpa >= pbase && gpa < pbase + pbaSize(s.entries);
                if (inPba && !aligned(gpa, size)) {
                    return ones(size);
                }
                return forwardRead(s, gpa, size, inPba);
            }
        }

        @Override
        public void write(Vcpu vcpu, long gpa, int size, long value) {
            synchronized (dev) {
            dev.beginWrite();
            try {
                    State s = dev.msix;
                    if (s == null) {
                        return;
                    }
                    long tbase = dev.header().bar(s.tableBir).guestAddr() + s.tableOffset;
                    long tsize = (long) s.entries * PCI_MSIX_ENTRY_SIZE;
                    if (gpa >= tbase && gpa < tbase + tsize) {
                        if (!aligned(gpa, size)) {
                            dev.warn("unaligned write of " + size + " bytes to MSI-X table at 0x" + Long.toHexString(gpa));
                            return;
                        }
                        int i = (int) ((gpa - tbase) / PCI_MSIX_ENTRY_SIZE);
                        int off = (int) ((gpa - tbase) % PCI_MSIX_ENTRY_SIZE);
                        entryWrite(s, i, off, (int) value);
                        if (size == 8) {
                            entryWrite(s, i, off + 4, (int) (value >>> 32));
                        }
                        return;
                    }
                    long pbase = dev.header().bar(s.pbaBir).guestAddr() + s.pbaOffset;
                    if (gpa >= pbase && gpa < pbase + pbaSize(s.entries)) {
                        if (aligned(gpa, size) && dev.hardwareDomainView()) {
                            bus(dev).write(hostAddress(s, gpa), size, value);
                        }
                        return; // domU PBA writes are ignored
                    }
                    PhysicalAddressSpace b = bus(dev);
                    if (aligned(gpa, size)) {
                        b.write(hostAddress(s, gpa), size, value);
                    } else {
                        for (int k = 0; k < size; k++) {
                            b.write(hostAddress(s, gpa + k), 1, (value >>> (8 * k)) & 0xff);
                        }
                    }
            } finally {
                dev.endWrite();
            }
            }
        }

        private long entryRead(State s, int i, int off, int size) {
            switch (off) {
                case PCI_MSIX_ENTRY_LOWER_ADDR:
                    return size == 8 ? s.address(i) : s.address(i) & 0xffffffffL;
                case PCI_MSIX_ENTRY_UPPER_ADDR:
                    return s.address(i) >>> 32;
                case PCI_MSIX_ENTRY_DATA:
                    long data = Integer.toUnsignedLong(s.data(i));
                    return size == 8 ? data | (s.entryMasked(i) ? 1L << 32 : 0) : data;
                default:
                    return s.entryMasked(i) ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0;
            }
        }

        private void entryWrite(State s, int i, int off, int v) {
            switch (off) {
                case PCI_MSIX_ENTRY_LOWER_ADDR:
                    s.address(i, (s.address(i) & ~0xffffffffL) | Integer.toUnsignedLong(v));
                    s.updated(i, true);
                    break;
                case PCI_MSIX_ENTRY_UPPER_ADDR:
                    s.address(i, (s.address(i) & 0xffffffffL) | (long) v << 32);
                    s.updated(i, true);
                    break;
                case PCI_MSIX_ENTRY_DATA:
                    s.data(i, v);
                    s.updated(i, true);
                    break;
                default:
                    vectorControl(dev, s, i, v);
            }
        }

        /** The machine address behind a guest address in the table/PBA BAR (same offset in the BAR). */
        private long hostAddress(State s, long gpa) {
            for (int k = 0; k < 6; k++) {
                VpciBar b = dev.header().bar(k);
                if (b.size() > 0 && gpa >= b.guestAddr() && gpa < b.guestAddr() + b.size()) {
                    return b.addr() + (gpa - b.guestAddr());
                }
            }
            return -1;
        }

        private long forwardRead(State s, long gpa, int size, boolean pba) {
            long at = hostAddress(s, gpa);
            if (at < 0) {
                return ones(size);
            }
            PhysicalAddressSpace b = bus(dev);
            if (pba || aligned(gpa, size)) {
                return b.read(at, size);
            }
            long v = 0;
            for (int k = 0; k < size; k++) {
                v |= (b.read(at + k, 1) & 0xff) << (8 * k);
            }
            return v;
        }

        private static boolean aligned(long gpa, int size) {
            return (size == 4 || size == 8) && (gpa & (size - 1)) == 0;
        }

        private static long ones(int size) {
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
    }
}
