package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.P2m;

/**
 * Header emulation (xen/drivers/vpci/header.c): COMMAND, BARs, expansion ROM, and
 * {@code modify_bars}/{@code modify_decoding}. Handler methods keep Xen's names
 * ({@link #cmdWrite}, {@link #barWrite}, {@link #guestMemBarRead}, {@link #guestMemBarWrite},
 * {@link #romWrite}) so the model can be diffed against header.c.
 *
 * <p>Thread-safety: all state is guarded by the device's monitor (the model of
 * {@code vpci->lock}); callers also hold the owner's {@code pciLock} as Xen requires.
 */
public final class VpciHeader {
    private static final Logger LOG = LoggerFactory.getLogger(VpciHeader.class);

    /** Guest COMMAND RsvdP mask ({@code vpci_init_header}): reserved 0xF800 | IO | PARITY | WAIT | SERR | FAST_BACK. */
    public static final int GUEST_CMD_RSVDP = 0xF800 | PCI_COMMAND_IO | PCI_COMMAND_PARITY | PCI_COMMAND_WAIT
            | PCI_COMMAND_SERR | PCI_COMMAND_FAST_BACK;

    /** Bits cleared from a domU's initial COMMAND ({@code vpci_init_header}). */
    static final int GUEST_CMD_CLEARED = PCI_COMMAND_VGA_PALETTE | PCI_COMMAND_INVALIDATE | PCI_COMMAND_SPECIAL
            | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY | PCI_COMMAND_IO;

    /** Number of BAR slots: 6 BARs + ROM. */
    public static final int SLOTS = 7;

    // Handlers shared by every device: a handler gets the register's own offset (ReadHandler,
    // WriteHandler), which names the BAR slot, and the device, which owns the header. Xen passes
    // the BAR as the handler's data pointer; capturing it here would cost a handler object per
    // device and BAR.
    private static final WriteHandler CMD_WRITE = (d, r, v) -> d.header().cmdWrite(d, v);
    private static final ReadHandler GUEST_CMD_READ = (d, r) -> d.header().guestCmd;
    private static final WriteHandler HWDOM_BAR_WRITE = (d, r, v) -> d.header().barWrite(d, barSlot(r), r, v);
    private static final ReadHandler GUEST_BAR_READ = (d, r) -> d.header().guestMemBarRead(barSlot(r));
    private static final WriteHandler GUEST_BAR_WRITE = (d, r, v) -> d.header().guestMemBarWrite(d, barSlot(r), v);
    private static final WriteHandler ROM_WRITE = (d, r, v) -> d.header().romWrite(d, d.header().numBars, r, v);

    /** The BAR slot of a BAR register ({@code PCI_BASE_ADDRESS_0 + 4 * slot}). */
    private static int barSlot(int reg) {
        return (reg - PCI_BASE_ADDRESS_0) >> 2;
    }

    private final VpciBar[] bars = new VpciBar[SLOTS];
    private int numBars;
    private int romReg;
    private volatile int guestCmd;
    private volatile boolean romEnabled;
    private volatile boolean barsMapped;

    VpciHeader() {
        for (int i = 0; i < SLOTS; i++) {
            bars[i] = VpciBar.unimplemented(i, VpciBar.Type.EMPTY);
        }
    }

    /**
     * BAR slot {@code i} (0..6). An EMPTY, IO or MEM64_HI slot is a shared instance (equal index
     * and type, size 0, never mapped); a memory BAR or the ROM is this device's own.
     */
    public VpciBar bar(int i) {
        return bars[i];
    }

    /** 6 for a type-0 header, 2 for a type-1 bridge; the ROM is slot {@code numBars()}. */
    public int numBars() {
        return numBars;
    }

    /** Offset of the ROM BAR register: 0x30 (type 0) or 0x38 (type 1). */
    public int romReg() {
        return romReg;
    }

    /** A domU's emulated COMMAND value. */
    public int guestCmd() {
        return guestCmd;
    }

    public boolean romEnabled() {
        return romEnabled;
    }

    /** True when memory decoding is on (the mappable BARs are in the p2m). */
    public boolean barsMapped() {
        return barsMapped;
    }

    // ---------------------------------------------------------------------------------------
    // Init (vpci_init_header)
    // ---------------------------------------------------------------------------------------

    /**
     * {@code vpci_init_header}: registers COMMAND, sizes and registers the BARs and the ROM.
     *
     * @return 0, -EOPNOTSUPP for a header type other than 0/1, a register-table error, or (hwdom
     *         with MEMORY on while booting) a mapping error
     */
    int init(VpciDevice dev, org.xenpci.core.Vcpu current) {
        HardwareConfig hw = dev.hardware();
        boolean hwdom = dev.hardwareDomainView();
        VpciRegisters regs = dev.registers();
        int headerType = hw.read(PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK;
        if (headerType == PCI_HEADER_TYPE_NORMAL) {
            numBars = 6;
            romReg = PCI_ROM_ADDRESS;
        } else if (headerType == PCI_HEADER_TYPE_BRIDGE) {
            numBars = 2;
            romReg = PCI_ROM_ADDRESS1;
        } else {
            return Errno.EOPNOTSUPP.rc();
        }
        int rc = regs.addRegisterMask(hwdom ? VpciHandlers.HW_READ16 : GUEST_CMD_READ,
                CMD_WRITE, PCI_COMMAND, 2, 0, 0, hwdom ? 0 : GUEST_CMD_RSVDP, 0);
        if (rc != 0) {
            return rc;
        }
        if (dev.spec().ignoreBars()) {
            return 0;
        }
        int cmd = hw.read(PCI_COMMAND, 2);
        if (!hwdom) {
            cmd &= ~GUEST_CMD_CLEARED;
            guestCmd = cmd;
        }
        // Decoding must be off while BARs are sized (header.c); a domU also loses bus mastering.
        if (!hwdom || (cmd & PCI_COMMAND_MEMORY) != 0) {
            hw.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
        }
        for (int i = 0; i < numBars; i++) {
            int reg = PCI_BASE_ADDRESS_0 + 4 * i;
            if (i > 0 && bars[i - 1].type == VpciBar.Type.MEM64_LO) {
                bars[i] = VpciBar.unimplemented(i, VpciBar.Type.MEM64_HI);
                rc = addBarHandler(dev, reg);
                if (rc != 0) {
                    hw.write(PCI_COMMAND, 2, cmd);
                    return rc;
                }
                continue;
            }
            if (dev.spec().virtfn() != null) {
                // A VF's BAR registers read 0 (PCIe SR-IOV): its BARs are the PF's VF BARs
                // carved per VF (read_pci_mem_bar), never sized through the VF. Both a domU's
                // and the hardware domain's view (Profile.vpciGuestVirtfn, docs/sriov.md).
                rc = initVirtfnBar(dev, i, reg, dev.spec().virtfn().bars().get(i));
                if (rc != 0) {
                    hw.write(PCI_COMMAND, 2, cmd);
                    return rc;
                }
                continue;
            }
            int val = hw.read(reg, 4);
            if ((val & PCI_BASE_ADDRESS_SPACE_IO) != 0) {
                bars[i] = VpciBar.unimplemented(i, VpciBar.Type.IO);
                // Non-x86: a domU's IO BAR reads 0; hwdom's is passed through.
                rc = hwdom ? 0 : regs.addRegister(VpciHandlers.READ_ZERO, VpciHandlers.IGNORE_WRITE, reg, 4);
                if (rc != 0) {
                    hw.write(PCI_COMMAND, 2, cmd);
                    return rc;
                }
                continue;
            }
            VpciBar.Type type = (val & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64
                    ? VpciBar.Type.MEM64_LO : VpciBar.Type.MEM32;
            long[] addrSize = sizeMemBar(dev, reg, i == numBars - 1, false);
            if (addrSize[1] == 0) {
                // The slot stays EMPTY (the next one is then not a MEM64_HI half, as in header.c).
                rc = hwdom ? 0 : regs.addRegister(VpciHandlers.READ_ZERO, VpciHandlers.IGNORE_WRITE, reg, 4);
                if (rc != 0) {
                    hw.write(PCI_COMMAND, 2, cmd);
                    return rc;
                }
                continue;
            }
            bars[i] = VpciBar.implemented(i, type, addrSize[0], addrSize[1], (val & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0);
            rc = addBarHandler(dev, reg);
            if (rc != 0) {
                hw.write(PCI_COMMAND, 2, cmd);
                return rc;
            }
        }
        if (hwdom) {
            long[] rom = sizeMemBar(dev, romReg, false, true);
            if (rom[1] != 0) {
                int slot = numBars;
                bars[slot] = VpciBar.implemented(slot, VpciBar.Type.ROM, rom[0], rom[1], false);
                romEnabled = (hw.read(romReg, 4) & PCI_ROM_ADDRESS_ENABLE) != 0;
                if (regs.addRegister(VpciHandlers.HW_READ32, ROM_WRITE, romReg, 4) != 0) {
                    bars[slot] = VpciBar.unimplemented(slot, VpciBar.Type.EMPTY); // quietly, as header.c does
                }
            }
        } else {
            // ROM is not supported for guests: reads 0, writes ignored.
            rc = regs.addRegister(VpciHandlers.READ_ZERO, VpciHandlers.IGNORE_WRITE, romReg, 4);
            if (rc != 0) {
                hw.write(PCI_COMMAND, 2, cmd);
                return rc;
            }
        }
        // A VF's own Memory Space bit is hardwired 0; it decodes by its PF's VF MSE. The hardware
        // domain's VF view is therefore mapped now if VF MSE is on (dom0 enables VF MSE before it
        // reports the VFs); a domU's view always starts with decoding off.
        boolean hwdomVirtfn = hwdom && dev.spec().virtfn() != null;
        if (hwdomVirtfn && dev.memoryDecoding()) {
            cmd |= PCI_COMMAND_MEMORY;
        }
        if ((cmd & PCI_COMMAND_MEMORY) != 0) {
            WriteOutcome o = modifyBars(dev, cmd, false);
            if (o instanceof WriteOutcome.DecodingRefused r) {
                return r.rc();
            }
            return VpciMapper.schedule(dev, current, (WriteOutcome.DecodingChanged) o);
        }
        return 0;
    }

    /**
     * A view of VF BAR slot {@code slot}: its address and size from the PF
     * ({@link org.xenpci.armpci.VirtfnResources}). A domU gets the usual guest BAR handlers and
     * an empty slot reads 0; the hardware domain reads the VF's own registers (0, as Linux
     * expects of a VF) and an empty slot has no handler, as any empty BAR of hwdom. The high
     * half of a 64-bit VF BAR is handled by the caller's MEM64_HI step.
     */
    private int initVirtfnBar(VpciDevice dev, int slot, int reg, org.xenpci.armpci.VirtfnResources.Bar vfBar) {
        switch (vfBar.kind()) {
            case MEM32:
            case MEM64_LO:
                bars[slot] = VpciBar.implemented(slot, vfBar.kind() == org.xenpci.armpci.VirtfnResources.Kind.MEM32
                        ? VpciBar.Type.MEM32 : VpciBar.Type.MEM64_LO, vfBar.address(), vfBar.size(), vfBar.prefetchable());
                return addBarHandler(dev, reg);
            default:
                // EMPTY (the slot keeps its initial shared instance).
                return dev.hardwareDomainView() ? 0
                        : dev.registers().addRegister(VpciHandlers.READ_ZERO, VpciHandlers.IGNORE_WRITE, reg, 4);
        }
    }

    private int addBarHandler(VpciDevice dev, int reg) {
        if (dev.hardwareDomainView() && dev.spec().virtfn() != null) {
            // A VF's BAR registers are read-only 0 in hardware and its address is the PF's word:
            // hwdom's reads and writes go to the VF (which ignores the writes), bar_write's
            // bookkeeping does not apply.
            return dev.registers().addRegister(VpciHandlers.HW_READ32, VpciHandlers.HW_WRITE32, reg, 4);
        }
        if (dev.hardwareDomainView()) {
            return dev.registers().addRegister(VpciHandlers.HW_READ32, HWDOM_BAR_WRITE, reg, 4);
        }
        return dev.registers().addRegister(GUEST_BAR_READ, GUEST_BAR_WRITE, reg, 4);
    }

    /**
     * {@code pci_size_mem_bar}: writes all-ones, reads back, restores. A 64-bit BAR in the last
     * slot is size 0 and its low register keeps the all-ones pattern (not restored, as Xen).
     *
     * @return {address, size} in bytes
     */
    static long[] sizeMemBar(VpciDevice dev, int pos, boolean last, boolean rom) {
        HardwareConfig hw = dev.hardware();
        int bar = hw.read(pos, 4);
        boolean is64 = !rom && (bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
        long mask = (rom ? PCI_ROM_ADDRESS_MASK : PCI_BASE_ADDRESS_MEM_MASK) & 0xFFFFFFFFL;
        int hi = 0;
        hw.write(pos, 4, 0xFFFFFFFF);
        if (is64) {
            if (last) {
                LOG.warn("{}: BAR at 0x{} is a 64bit memory BAR but the last one", dev.machineSbdf(), Integer.toHexString(pos));
                return new long[] {0, 0};
            }
            hi = hw.read(pos + 4, 4);
            hw.write(pos + 4, 4, 0xFFFFFFFF);
        }
        long size = (hw.read(pos, 4) & 0xFFFFFFFFL) & mask;
        if (is64) {
            size |= (hw.read(pos + 4, 4) & 0xFFFFFFFFL) << 32;
            hw.write(pos + 4, 4, hi);
        } else if (size != 0) {
            size |= 0xFFFFFFFF00000000L;
        }
        hw.write(pos, 4, bar);
        size = -size;
        long addr = ((bar & 0xFFFFFFFFL) & mask) | ((hi & 0xFFFFFFFFL) << 32);
        return new long[] {addr, size};
    }

    // ---------------------------------------------------------------------------------------
    // Register handlers (bar_write, guest_mem_bar_*, rom_write, cmd_write)
    // ---------------------------------------------------------------------------------------

    /**
     * {@code cmd_write}. A domU's value is stored in {@code guest_cmd} at once. If MEMORY
     * differs from {@code bars_mapped} the hardware write is left to the p2m owner (after the
     * mapping); otherwise hardware COMMAND is written now.
     */
    WriteOutcome cmdWrite(VpciDevice dev, int cmd) {
        if (dev.hardwareDomainView() && dev.spec().virtfn() != null) {
            // hwdom's VF: COMMAND.MEMORY is hardwired 0 (Linux's read-modify-write of COMMAND
            // always carries 0 there), decoding follows the PF's VF MSE, so a COMMAND write
            // never maps or unmaps: it only reaches the VF (bus master, INTx disable).
            dev.hardware().write(PCI_COMMAND, 2, cmd);
            return WriteOutcome.NO_EFFECT;
        }
        if (!dev.hardwareDomainView()) {
            if (dev.interruptMessagesEnabled()) {
                cmd |= PCI_COMMAND_INTX_DISABLE;
            }
            guestCmd = cmd;
        }
        if (((cmd & PCI_COMMAND_MEMORY) != 0) != barsMapped) {
            // The return value is ignored by Xen; the outcome carries it for the caller to trace.
            return modifyBars(dev, cmd, false);
        }
        dev.hardware().write(PCI_COMMAND, 2, cmd);
        return WriteOutcome.NO_EFFECT;
    }

    /**
     * A domU enabling MSI or MSI-X loses INTx (msi.c / msix.c control_write): INTX_DISABLE is
     * set in hardware COMMAND and in {@code guest_cmd}.
     */
    void disableIntx(VpciDevice dev) {
        guestCmd |= PCI_COMMAND_INTX_DISABLE;
        dev.hardware().write(PCI_COMMAND, 2, dev.hardware().read(PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
    }

    /** hwdom {@code bar_write}: identity address update, ignored while mapped. */
    WriteOutcome barWrite(VpciDevice dev, int slot, int reg, int val) {
        VpciBar bar = bars[slot];
        boolean hi = false;
        if (bar.type == VpciBar.Type.MEM64_HI) {
            bar = bars[slot - 1];
            hi = true;
        } else {
            val &= PCI_BASE_ADDRESS_MEM_MASK;
        }
        int shift = hi ? 32 : 0;
        if (bar.enabled) {
            if (val != (int) (bar.addr >>> shift)) {
                dev.warn("ignored BAR " + bar.index() + " write while mapped");
            }
            return WriteOutcome.NO_EFFECT;
        }
        long old = bar.addr;
        bar.addr &= ~(0xFFFFFFFFL << shift);
        bar.addr |= (val & 0xFFFFFFFFL) << shift;
        bar.guestAddr = bar.addr;
        if (!hi) {
            // Re-insert the RO type and prefetch bits so the device always sees them unchanged.
            val |= flagBits(bar);
        }
        dev.hardware().write(reg, 4, val);
        return old == bar.addr ? WriteOutcome.NO_EFFECT : new WriteOutcome.BarMoved(bar.index(), old, bar.addr, bar.size);
    }

    /** domU {@code guest_mem_bar_read}: guest address plus type and prefetch bits. */
    int guestMemBarRead(int slot) {
        VpciBar bar = bars[slot];
        if (bar.type == VpciBar.Type.MEM64_HI) {
            return (int) (bars[slot - 1].guestAddr >>> 32);
        }
        return (int) bar.guestAddr | flagBits(bar);
    }

    /** The read-only low bits of a memory BAR's low register: type (32/64-bit) and prefetchable. */
    private static int flagBits(VpciBar bar) {
        return (bar.type == VpciBar.Type.MEM32 ? PCI_BASE_ADDRESS_MEM_TYPE_32 : PCI_BASE_ADDRESS_MEM_TYPE_64)
                | (bar.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    }

    /**
     * domU {@code guest_mem_bar_write}: replaces one 32-bit half of guest_addr, aligns it
     * to the BAR size (so sizing reads back ~(size-1)); ignored while mapped. Never touches hardware.
     */
    WriteOutcome guestMemBarWrite(VpciDevice dev, int slot, int val) {
        VpciBar bar = bars[slot];
        boolean hi = false;
        if (bar.type == VpciBar.Type.MEM64_HI) {
            bar = bars[slot - 1];
            hi = true;
        } else {
            val &= PCI_BASE_ADDRESS_MEM_MASK;
        }
        int shift = hi ? 32 : 0;
        long guestAddr = bar.guestAddr;
        guestAddr &= ~(0xFFFFFFFFL << shift);
        guestAddr |= (val & 0xFFFFFFFFL) << shift;
        guestAddr &= ~(bar.size - 1);
        if (bar.enabled) {
            // Ignored while mapped, with a warning only if it would change (header.c).
            if (guestAddr != bar.guestAddr) {
                dev.warn("ignored BAR " + bar.index() + " write while mapped");
            }
            return WriteOutcome.NO_EFFECT;
        }
        long old = bar.guestAddr;
        bar.guestAddr = guestAddr;
        return old == guestAddr ? WriteOutcome.NO_EFFECT : new WriteOutcome.BarMoved(bar.index(), old, guestAddr, bar.size);
    }

    /** hwdom {@code rom_write}. */
    WriteOutcome romWrite(VpciDevice dev, int slot, int reg, int val) {
        VpciBar rom = bars[slot];
        boolean newEnabled = (val & PCI_ROM_ADDRESS_ENABLE) != 0;
        long masked = val & PCI_ROM_ADDRESS_MASK & 0xFFFFFFFFL;
        if (rom.enabled && newEnabled) {
            dev.warn("ignored ROM BAR write while mapped");
            return WriteOutcome.NO_EFFECT;
        }
        if (!rom.enabled) {
            rom.addr = masked;
            rom.guestAddr = masked;
        }
        WriteOutcome outcome = WriteOutcome.NO_EFFECT;
        if (!barsMapped || rom.enabled == newEnabled) {
            romEnabled = newEnabled;
            dev.hardware().write(reg, 4, val);
        } else {
            outcome = modifyBars(dev, newEnabled ? PCI_COMMAND_MEMORY : 0, true);
            if (outcome instanceof WriteOutcome.DecodingRefused) {
                return outcome;
            }
        }
        if (!newEnabled) {
            rom.addr = masked;
            rom.guestAddr = masked;
            if (rom.enabled) {
                // Still mapped until the deferred unmap runs: keep the index on its frames.
                setEnabled(dev, rom, true);
            }
        }
        return outcome;
    }

    // ---------------------------------------------------------------------------------------
    // modify_bars / modify_decoding
    // ---------------------------------------------------------------------------------------

    /**
     * {@code modify_bars}: computes which guest frames to map (MEMORY set in {@code cmd}) or
     * unmap, without touching the p2m or the hardware.
     *
     * @return {@link WriteOutcome.DecodingChanged} with the plan, or
     *         {@link WriteOutcome.DecodingRefused}(-EINVAL) on a guest/host page-offset mismatch
     */
    WriteOutcome modifyBars(VpciDevice dev, int cmd, boolean romOnly) {
        boolean map = (cmd & PCI_COMMAND_MEMORY) != 0;
        FrameRangeSet[] mem = new FrameRangeSet[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            VpciBar bar = bars[i];
            if (!bar.mappable()
                    || (romOnly ? bar.type != VpciBar.Type.ROM : (bar.type == VpciBar.Type.ROM && !romEnabled))
                    || bar.enabled == map) {
                continue;
            }
            long start = bar.addr >>> P2m.PAGE_SHIFT;
            long end = (bar.addr + bar.size - 1) >>> P2m.PAGE_SHIFT;
            if (!dev.spec().checkBar().check(dev.machineSbdf(), start, end)) {
                dev.warn("skipping BAR " + i + " [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                        + "]: outside the host bridge windows");
                continue;
            }
            if ((bar.guestAddr & (P2m.PAGE_SIZE - 1)) != (bar.addr & (P2m.PAGE_SIZE - 1))) {
                dev.warn("BAR " + i + ": guest address 0x" + Long.toHexString(bar.guestAddr)
                        + " and host address 0x" + Long.toHexString(bar.addr) + " differ in page offset");
                return new WriteOutcome.DecodingRefused(Errno.EINVAL.rc());
            }
            long gStart = bar.guestAddr >>> P2m.PAGE_SHIFT;
            long gEnd = (bar.guestAddr + bar.size - 1) >>> P2m.PAGE_SHIFT;
            mem[i] = new FrameRangeSet();
            mem[i].add(gStart, gEnd);
            // Earlier BARs of this device lose what this one covers: map each frame once.
            for (int j = 0; j < i; j++) {
                if (mem[j] != null) {
                    mem[j].remove(gStart, gEnd);
                }
            }
        }
        // modify_bars: the MSI-X table and PBA pages stay trapped (VpciMsix serves them).
        VpciMsix.State msix = dev.msix;
        if (msix != null) {
            for (long[] r : VpciMsix.guestFrames(dev, msix)) {
                for (FrameRangeSet m : mem) {
                    if (m != null) {
                        m.remove(r[0], r[1]);
                    }
                }
            }
        }
        // Frames already mapped for another BAR of the same domain are neither mapped twice nor
        // unmapped. hwdom also checks dom_xen's (hidden) devices (Xen 465217b0f8). Xen walks
        // every device of the domain here; the per-domain BarIndex gives the same BARs (those
        // enabled, overlapping this BAR's frames) without the walk.
        Domain owner = dev.owner();
        Domain d = owner.domid() == Domain.DOMID_XEN ? owner.xen().hardwareDomain() : owner;
        while (d != null) {
            VpciDomain vd = d.extension(VpciDomain.class);
            if (vd != null) {
                for (int i = 0; i < SLOTS; i++) {
                    if (mem[i] == null) {
                        continue;
                    }
                    VpciBar bar = bars[i];
                    long gStart = bar.guestAddr >>> P2m.PAGE_SHIFT;
                    long gEnd = (bar.guestAddr + bar.size - 1) >>> P2m.PAGE_SHIFT;
                    for (BarIndex.Entry o : vd.mappedBars().overlapping(gStart, gEnd)) {
                        VpciDevice other = o.dev();
                        VpciBar rb = o.bar();
                        if ((other == dev && !romOnly) || !rb.enabled
                                || (romOnly && other == dev && rb.type == VpciBar.Type.ROM)) {
                            continue;
                        }
                        mem[i].remove(rb.guestAddr >>> P2m.PAGE_SHIFT, (rb.guestAddr + rb.size - 1) >>> P2m.PAGE_SHIFT);
                    }
                }
            }
            d = d.isHardwareDomain() ? owner.xen().domXen() : null;
        }
        List<MapPlan.Range> ranges = new ArrayList<>();
        for (int i = 0; i < SLOTS; i++) {
            if (mem[i] == null) {
                continue;
            }
            VpciBar bar = bars[i];
            long hostBase = bar.addr >>> P2m.PAGE_SHIFT;
            long guestBase = bar.guestAddr >>> P2m.PAGE_SHIFT;
            for (long[] r : mem[i].ranges()) {
                ranges.add(new MapPlan.Range(i, r[0], r[1] - r[0] + 1, hostBase + (r[0] - guestBase)));
            }
        }
        return new WriteOutcome.DecodingChanged(cmd, romOnly, new MapPlan(map, ranges));
    }

    /**
     * A departing device's decoding: every BAR is marked unmapped (the caller has removed its
     * frames from the p2m), the MSI-X traps go, and hardware memory decoding is turned off.
     */
    void decodingOff(VpciDevice dev) {
        BarIndex index = VpciDomain.of(dev.owner()).mappedBars();
        for (VpciBar bar : bars) {
            if (bar.mappable()) { // a shared slot is never mapped nor indexed
                bar.enabled = false;
                index.remove(bar);
            }
        }
        if (dev.msix != null) {
            VpciMsix.decodingChanged(dev, false);
        }
        dev.hardware().write(PCI_COMMAND, 2, dev.hardware().read(PCI_COMMAND, 2) & ~PCI_COMMAND_MEMORY);
        barsMapped = false;
    }

    /**
     * {@code modify_decoding}: records the new mapped state and writes the hardware
     * (the ROM register for a ROM-only change, else COMMAND).
     */
    void modifyDecoding(VpciDevice dev, int cmd, boolean romOnly) {
        boolean map = (cmd & PCI_COMMAND_MEMORY) != 0;
        for (int i = 0; i < SLOTS; i++) {
            VpciBar bar = bars[i];
            if (!bar.mappable()) {
                continue;
            }
            boolean inWindow = dev.spec().checkBar().check(dev.machineSbdf(), bar.addr >>> P2m.PAGE_SHIFT,
                    (bar.addr + bar.size - 1) >>> P2m.PAGE_SHIFT);
            if (romOnly && bar.type == VpciBar.Type.ROM) {
                int val = (int) bar.addr | (map ? PCI_ROM_ADDRESS_ENABLE : 0);
                if (inWindow) {
                    setEnabled(dev, bar, map);
                }
                romEnabled = map;
                dev.hardware().write(romReg, 4, val);
                return;
            }
            if (!romOnly && (bar.type != VpciBar.Type.ROM || romEnabled) && inWindow) {
                setEnabled(dev, bar, map);
            }
        }
        if (!romOnly) {
            if (dev.msix != null) {
                VpciMsix.decodingChanged(dev, map);
            }
            dev.hardware().write(PCI_COMMAND, 2, cmd);
            barsMapped = map;
            if (map && dev.msix != null) {
                VpciMsix.decoded(dev); // the table is reachable again: bring it up to date
            }
        }
    }

    /** A BAR's mapped state, kept in the owner's {@link BarIndex} with its guest frames. */
    private static void setEnabled(VpciDevice dev, VpciBar bar, boolean map) {
        bar.enabled = map;
        BarIndex index = VpciDomain.of(dev.owner()).mappedBars();
        if (map) {
            index.put(dev, bar, bar.guestAddr >>> P2m.PAGE_SHIFT, (bar.guestAddr + bar.size - 1) >>> P2m.PAGE_SHIFT);
        } else {
            index.remove(bar);
        }
    }
}
