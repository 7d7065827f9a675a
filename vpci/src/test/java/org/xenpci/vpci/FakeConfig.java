package org.xenpci.vpci;

import java.util.ArrayList;
import java.util.List;

/**
 * Test double for {@link HardwareConfig}: 4 KiB of config space with per-byte writable masks
 * (so BARs size like real ones) and a record of every access.
 */
final class FakeConfig implements HardwareConfig {
    record Access(int reg, int size, int value) {
        @Override
        public String toString() {
            return "(0x" + Integer.toHexString(reg) + "," + size + ",0x" + Integer.toHexString(value) + ")";
        }
    }

    final byte[] cfg = new byte[4096];
    final byte[] writable = new byte[4096];
    final List<Access> writes = new ArrayList<>();
    final List<Access> reads = new ArrayList<>();

    FakeConfig() {
        java.util.Arrays.fill(writable, (byte) 0xFF);
    }

    /** Every byte = its offset's low 8 bits: easy to recognise in merged reads. */
    static FakeConfig ramp() {
        FakeConfig f = new FakeConfig();
        for (int i = 0; i < 4096; i++) {
            f.cfg[i] = (byte) i;
        }
        return f;
    }

    FakeConfig set(int reg, int size, int value) {
        for (int i = 0; i < size; i++) {
            cfg[reg + i] = (byte) (value >>> (8 * i));
        }
        return this;
    }

    FakeConfig mask(int reg, int size, int mask) {
        for (int i = 0; i < size; i++) {
            writable[reg + i] = (byte) (mask >>> (8 * i));
        }
        return this;
    }

    int get(int reg, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= (cfg[reg + i] & 0xFF) << (8 * i);
        }
        return v;
    }

    /** A 32-bit memory BAR at index {@code i}: address, size (power of two), flag bits. */
    FakeConfig bar32(int i, int addr, int size, int flags) {
        int reg = 0x10 + 4 * i;
        set(reg, 4, addr | flags);
        return mask(reg, 4, ~(size - 1) & 0xFFFFFFF0);
    }

    /** A 64-bit memory BAR at indices i, i+1. */
    FakeConfig bar64(int i, long addr, long size, int flags) {
        int reg = 0x10 + 4 * i;
        set(reg, 4, (int) addr | flags | 0x4);
        set(reg + 4, 4, (int) (addr >>> 32));
        mask(reg, 4, (int) ~(size - 1) & 0xFFFFFFF0);
        return mask(reg + 4, 4, (int) (~(size - 1) >>> 32));
    }

    /** An IO BAR. */
    FakeConfig barIo(int i, int addr, int size) {
        int reg = 0x10 + 4 * i;
        set(reg, 4, addr | 1);
        return mask(reg, 4, ~(size - 1) & 0xFFFFFFFC);
    }

    /** An unimplemented BAR: reads 0, ignores writes. */
    FakeConfig barNone(int i) {
        int reg = 0x10 + 4 * i;
        set(reg, 4, 0);
        return mask(reg, 4, 0);
    }

    /** A ROM BAR at {@code reg} (0x30 or 0x38). */
    FakeConfig rom(int reg, int addr, int size, boolean enabled) {
        set(reg, 4, addr | (enabled ? 1 : 0));
        return mask(reg, 4, (~(size - 1) & 0xFFFFF800) | 1);
    }

    @Override
    public int read(int reg, int size) {
        int v = get(reg, size);
        reads.add(new Access(reg, size, v));
        return v;
    }

    @Override
    public void write(int reg, int size, int value) {
        writes.add(new Access(reg, size, value));
        for (int i = 0; i < size; i++) {
            int m = writable[reg + i] & 0xFF;
            int b = (value >>> (8 * i)) & 0xFF;
            cfg[reg + i] = (byte) ((cfg[reg + i] & ~m) | (b & m));
        }
    }

    void clearLog() {
        writes.clear();
        reads.clear();
    }
}
