package org.xenpci.armpci.hw;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioDevice;

/**
 * The physical behaviour of an MSI-X capability (PCIe Base 7.7.2), installed by
 * {@link PciFunction#fromConfig} when the config data has one:
 * <ul>
 * <li>Message Control (pos+2): bits 10:0 table size N-1 (RO), bit 14 Function Mask (RW), bit 15
 *     MSI-X Enable (RW). Table and PBA offset/BIR (pos+4, pos+8) are read-only.</li>
 * <li>The table is overlaid on its BAR at the table offset: N entries of 16 bytes, every entry
 *     masked at reset.
 * <pre>
 *   +0x0 Message Address [31:2] (bits 1:0 read 0)   +0x4 Message Upper Address
 *   +0x8 Message Data                                +0xc Vector Control: bit 0 Mask (RW), rest 0
 * </pre>
 *     Only aligned 4- and 8-byte accesses are honoured (the spec leaves others undefined): other
 *     reads return all-ones, other writes are dropped.</li>
 * <li>The Pending Bit Array is overlaid at the PBA offset, {@code roundup(ceil(N/8), 8)} bytes,
 *     read-only to software (writes dropped).</li>
 * </ul>
 * Signalling entry {@code v}: if the function or the entry is masked its pending bit is set;
 * otherwise the entry's address/data write is issued. When an entry (or the whole function)
 * becomes unmasked with MSI-X enabled, every pending, now-unmasked entry is sent and its pending
 * bit cleared (7.7.2.2, 6.1.4.5).
 *
 * <p>If the table or PBA does not fit its BAR (BIR 6/7, unimplemented or I/O BAR, past the end,
 * or overlapping each other) the capability stays read-only and a WARN is logged: a broken
 * device cannot signal.
 *
 * <p>Thread-safety: table state is guarded by the function's config space lock, the same lock
 * the control register's listeners run under.
 */
final class MsixCapability implements CapabilityBehaviour {
    private static final Logger LOG = LoggerFactory.getLogger(MsixCapability.class);

    private PciFunction function;
    private int pos;
    private int entries;
    /** Four dwords per entry: address lo, address hi, data, vector control. */
    private int[] table;
    private long[] pba;

    @Override
    public void install(PciFunction fn, Capability cap, ConfigLayout layout) {
        ConfigSpace cs = fn.config();
        int p = cap.offset();
        int n = (cs.read(p + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
        int tableReg = cs.read(p + PCI_MSIX_TABLE, 4);
        int pbaReg = cs.read(p + PCI_MSIX_PBA, 4);
        long tableOff = Integer.toUnsignedLong(tableReg & ~PCI_MSIX_BIR_MASK);
        long pbaOff = Integer.toUnsignedLong(pbaReg & ~PCI_MSIX_BIR_MASK);
        int tableBir = tableReg & PCI_MSIX_BIR_MASK;
        int pbaBir = pbaReg & PCI_MSIX_BIR_MASK;
        long tableSize = (long) n * PCI_MSIX_ENTRY_SIZE;
        long pbaSize = ((n + 7) / 8 + 7) / 8 * 8L;
        if (!fits(fn, tableBir, tableOff, tableSize) || !fits(fn, pbaBir, pbaOff, pbaSize)
                || (tableBir == pbaBir && tableOff < pbaOff + pbaSize && pbaOff < tableOff + tableSize)) {
            LOG.warn("{}: MSI-X table BIR {} at {} or PBA BIR {} at {} does not fit its BAR; MSI-X left read-only",
                    fn, tableBir, Hex.of(tableOff), pbaBir, Hex.of(pbaOff));
            return;
        }
        this.function = fn;
        this.pos = p;
        this.entries = n;
        this.table = new int[n * 4];
        this.pba = new long[(n + 63) / 64];
        powerUp();
        layout.word(PCI_MSIX_FLAGS, "MSIX_FLAGS")
                .field(14, "MASKALL", AccessMode.RW).onChange((o, v) -> deliverPending())
                .field(15, "ENABLE", AccessMode.RW).onChange((o, v) -> deliverPending());
        fn.overlay(tableBir, tableOff, tableSize, new Table());
        fn.overlay(pbaBir, pbaOff, pbaSize, new Pba());
        fn.msix(this);
    }

    /**
     * Function reset: MSI-X Enable and Function Mask 0, every entry masked with address and
     * data 0, nothing pending (PCI Local Bus 3.0 6.8.2.3 and 6.8.2.9; PCIe Base 7.7.2.2).
     * Runs under the config lock, which guards the table.
     */
    @Override
    public void reset() {
        if (function != null) {
            powerUp();
        }
    }

    private void powerUp() {
        Arrays.fill(table, 0);
        Arrays.fill(pba, 0);
        for (int i = 0; i < entries; i++) {
            table[i * 4 + 3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
        }
        function.config().clearBits(pos + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    }

    private static boolean fits(PciFunction fn, int bir, long offset, long size) {
        BarSpec b = bir < 6 ? fn.bar(bir).orElse(null) : null;
        return b != null && b.kind() != BarKind.IO && offset + size <= b.size();
    }

    /** Capability offset in config space. */
    int position() {
        return pos;
    }

    /** Number of table entries. */
    int entries() {
        return entries;
    }

    private int control() {
        return function.config().read(pos + PCI_MSIX_FLAGS, 2);
    }

    boolean enabled() {
        return (control() & PCI_MSIX_FLAGS_ENABLE) != 0;
    }

    /** The pending bit of entry {@code v} (the device's own view). */
    boolean pending(int v) {
        synchronized (function.config()) {
            return (pba[v >> 6] & (1L << (v & 63))) != 0;
        }
    }

    SignalResult signal(int vector) {
        long address;
        int data;
        synchronized (function.config()) {
            int c = control();
            if ((c & PCI_MSIX_FLAGS_ENABLE) == 0) {
                return SignalResult.DISABLED;
            }
            if (vector < 0 || vector >= entries) {
                return SignalResult.NO_SUCH_VECTOR;
            }
            if (!function.busMaster()) {
                return SignalResult.BUS_MASTER_DISABLED;
            }
            if ((c & PCI_MSIX_FLAGS_MASKALL) != 0 || (table[vector * 4 + 3] & PCI_MSIX_ENTRY_CTRL_MASKBIT) != 0) {
                pba[vector >> 6] |= 1L << (vector & 63);
                return SignalResult.PENDING;
            }
            address = Integer.toUnsignedLong(table[vector * 4]) | (long) table[vector * 4 + 1] << 32;
            data = table[vector * 4 + 2];
        }
        return function.sendMessage(address, data);
    }

    /** Sends every pending entry that is now unmasked (caller holds the config lock). */
    private void deliverPending() {
        int c = control();
        if ((c & PCI_MSIX_FLAGS_ENABLE) == 0 || (c & PCI_MSIX_FLAGS_MASKALL) != 0 || !function.busMaster()) {
            return;
        }
        for (int v = 0; v < entries; v++) {
            if ((pba[v >> 6] & (1L << (v & 63))) != 0 && (table[v * 4 + 3] & PCI_MSIX_ENTRY_CTRL_MASKBIT) == 0) {
                pba[v >> 6] &= ~(1L << (v & 63));
                function.sendMessage(Integer.toUnsignedLong(table[v * 4]) | (long) table[v * 4 + 1] << 32,
                        table[v * 4 + 2]);
            }
        }
    }

    private int readDword(int index) {
        return table[index];
    }

    private void writeDword(int index, int value) {
        switch (index & 3) {
            case 0:
                table[index] = value & ~3; // Message Address is dword aligned: bits 1:0 read 0
                break;
            case 3:
                int old = table[index];
                table[index] = value & PCI_MSIX_ENTRY_CTRL_MASKBIT;
                if ((old & PCI_MSIX_ENTRY_CTRL_MASKBIT) != 0 && (value & PCI_MSIX_ENTRY_CTRL_MASKBIT) == 0) {
                    deliverPending();
                }
                break;
            default:
                table[index] = value;
        }
    }

    /** The MSI-X table as a BAR overlay (offsets relative to the table start). */
    private final class Table implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) {
                return PciFunction.ones(size);
            }
            synchronized (function.config()) {
                int i = (int) (offset >> 2);
                long lo = Integer.toUnsignedLong(readDword(i));
                return size == 4 ? lo : lo | (long) readDword(i + 1) << 32;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) {
                return;
            }
            synchronized (function.config()) {
                int i = (int) (offset >> 2);
                writeDword(i, (int) value);
                if (size == 8) {
                    writeDword(i + 1, (int) (value >>> 32));
                }
            }
        }
    }

    /** The Pending Bit Array as a BAR overlay: read-only qwords of pending bits. */
    private final class Pba implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) {
                return PciFunction.ones(size);
            }
            synchronized (function.config()) {
                int q = (int) (offset >> 3);
                long v = q < pba.length ? pba[q] : 0;
                return size == 8 ? v : (v >>> ((offset & 4) * 8)) & 0xffffffffL;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            // Read-only to software (PCIe Base 7.7.2.5).
        }
    }
}
