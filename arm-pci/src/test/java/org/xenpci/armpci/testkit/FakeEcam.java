package org.xenpci.armpci.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.pci.PciRegs;

/**
 * Test-only ECAM window: a handful of functions with 4 KiB config arrays keyed by window-relative
 * (bus, devfn); everything else reads all-ones and drops writes. Records every access.
 * Public (and shipped in arm-pci's test-jar) so vpci's scenario tests reuse it.
 */
public final class FakeEcam implements MmioDevice {
    /** One recorded access: window offset, size, write?, value. */
    public record Access(long offset, int size, boolean write, long value) {
    }

    private final Map<Long, byte[]> functions = new HashMap<>();
    public final List<Access> accesses = new ArrayList<>();

    /** Adds a function at window-relative bus {@code relBus}, device, function; returns its config bytes. */
    public byte[] function(int relBus, int dev, int fn) {
        byte[] cfg = new byte[4096];
        functions.put(key(relBus, dev << 3 | fn), cfg);
        return cfg;
    }

    /** A type-0 function with IDs, class word and optionally a PCIe capability of the given type at 0x40. */
    public byte[] endpoint(int relBus, int dev, int fn, int vendor, int device, int classWord, int pcieType) {
        byte[] c = function(relBus, dev, fn);
        put16(c, PciRegs.PCI_VENDOR_ID, vendor);
        put16(c, PciRegs.PCI_DEVICE_ID, device);
        put16(c, PciRegs.PCI_CLASS_DEVICE, classWord);
        if (pcieType >= 0) {
            put16(c, PciRegs.PCI_STATUS, PciRegs.PCI_STATUS_CAP_LIST);
            c[PciRegs.PCI_CAPABILITY_LIST] = 0x40;
            c[0x40] = (byte) PciRegs.PCI_CAP_ID_EXP;
            c[0x41] = 0;
            put16(c, 0x42, 2 | pcieType << 4);
        }
        return c;
    }

    public static void put16(byte[] c, int off, int v) {
        c[off] = (byte) v;
        c[off + 1] = (byte) (v >> 8);
    }

    private static long key(int relBus, int devfn) {
        return (long) relBus << 8 | devfn;
    }

    @Override
    public synchronized long read(long offset, int size) {
        accesses.add(new Access(offset, size, false, 0));
        byte[] c = functions.get(offset >>> 12);
        int reg = (int) (offset & 0xfff);
        if (c == null || reg + size > 4096) {
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (c[reg + i] & 0xff);
        }
        return v;
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        accesses.add(new Access(offset, size, true, value));
        byte[] c = functions.get(offset >>> 12);
        int reg = (int) (offset & 0xfff);
        if (c == null || reg + size > 4096) {
            return;
        }
        for (int i = 0; i < size; i++) {
            c[reg + i] = (byte) (value >>> (8 * i));
        }
    }
}
