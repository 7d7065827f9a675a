package org.xenpci.vpci;

/**
 * Xen's stock callbacks (xen/drivers/vpci/vpci.c): {@code vpci_read_val}, {@code vpci_hw_read*},
 * {@code vpci_hw_write*}, {@code vpci_ignored_write}, {@code vpci_read_ignore}. All are
 * allocation-free; hardware ones go through the device's {@link HardwareConfig}.
 */
public final class VpciHandlers {
    private VpciHandlers() {
    }

    /** Reads all-ones: what a register without a read callback returns. */
    public static final ReadHandler READ_ONES = (dev, reg) -> 0xFFFFFFFF;

    /** Drops the write: what a register without a write callback does. */
    public static final WriteHandler IGNORE_WRITE = (dev, reg, value) -> WriteOutcome.NO_EFFECT;

    /** Reads 0 ({@code vpci_read_val} with private data 0). */
    public static final ReadHandler READ_ZERO = (dev, reg) -> 0;

    /** {@code vpci_hw_read8}. */
    public static final ReadHandler HW_READ8 = (dev, reg) -> dev.hardware().read(reg, 1);
    /** {@code vpci_hw_read16}. */
    public static final ReadHandler HW_READ16 = (dev, reg) -> dev.hardware().read(reg, 2);
    /** {@code vpci_hw_read32}. */
    public static final ReadHandler HW_READ32 = (dev, reg) -> dev.hardware().read(reg, 4);

    /** {@code vpci_hw_write8}. */
    public static final WriteHandler HW_WRITE8 = (dev, reg, v) -> {
        dev.hardware().write(reg, 1, v);
        return WriteOutcome.NO_EFFECT;
    };
    /** {@code vpci_hw_write16}. */
    public static final WriteHandler HW_WRITE16 = (dev, reg, v) -> {
        dev.hardware().write(reg, 2, v);
        return WriteOutcome.NO_EFFECT;
    };
    /** Hardware write of a full dword (used by read-only-plus-passthrough cases). */
    public static final WriteHandler HW_WRITE32 = (dev, reg, v) -> {
        dev.hardware().write(reg, 4, v);
        return WriteOutcome.NO_EFFECT;
    };

    /** {@link #readKind}: any other handler, called through {@link ReadHandler}. */
    static final int KIND_CALL = 0;
    /** {@link #readKind}: {@link #HW_READ8}. */
    static final int KIND_HW8 = 1;
    /** {@link #readKind}: {@link #HW_READ16}. */
    static final int KIND_HW16 = 2;
    /** {@link #readKind}: {@link #HW_READ32}. */
    static final int KIND_HW32 = 3;
    /** {@link #readKind}: {@link #READ_ZERO}. */
    static final int KIND_ZERO = 4;
    /** {@link #readKind}: {@link #READ_ONES}. */
    static final int KIND_ONES = 5;
    /** {@link #readKind}: a {@link CachedValue}. */
    static final int KIND_CACHED = 6;

    /**
     * Which stock callback {@code h} is, so that the register table can run it inline (the same
     * load it would do) rather than through a call site every register kind shares; {@link
     * #KIND_CALL} for any other handler.
     */
    static int readKind(ReadHandler h) {
        if (h == HW_READ8) {
            return KIND_HW8;
        } else if (h == HW_READ16) {
            return KIND_HW16;
        } else if (h == HW_READ32) {
            return KIND_HW32;
        } else if (h == READ_ZERO) {
            return KIND_ZERO;
        } else if (h == READ_ONES) {
            return KIND_ONES;
        } else if (h instanceof CachedValue) {
            return KIND_CACHED;
        }
        return KIND_CALL;
    }

    /** The hardware read callback for a register of {@code size} bytes. */
    public static ReadHandler hwRead(int size) {
        switch (size) {
            case 1:
                return HW_READ8;
            case 2:
                return HW_READ16;
            case 4:
                return HW_READ32;
            default:
                throw new IllegalArgumentException("register size must be 1, 2 or 4, not " + size);
        }
    }

    /**
     * {@code vpci_read_val}: a constant held as the register's private data. Xen rewrites that
     * data when it hides a capability ({@code vpci_capability_hide}), so the value is mutable; reads are volatile.
     */
    public static final class CachedValue implements ReadHandler {
        private volatile int value;

        public CachedValue(int value) {
            this.value = value;
        }

        /** The cached value. */
        public int value() {
            return value;
        }

        /** Replaces the cached value (capability hiding re-points list pointers). */
        public void value(int v) {
            this.value = v;
        }

        @Override
        public int read(VpciDevice dev, int reg) {
            return value;
        }
    }
}
