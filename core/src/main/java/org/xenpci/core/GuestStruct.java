package org.xenpci.core;

/**
 * A hypercall argument structure copied from guest memory, read and written with Xen's public
 * ABI layout: little-endian (Arm), fields at fixed byte offsets. Mutable, owned by one
 * hypercall invocation.
 */
public final class GuestStruct {
    private final byte[] bytes;

    public GuestStruct(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A zero-filled structure of {@code size} bytes (to build arguments in tests and guests). */
    public static GuestStruct ofSize(int size) {
        return new GuestStruct(new byte[size]);
    }

    public int size() {
        return bytes.length;
    }

    /** The underlying bytes (not a copy). */
    public byte[] bytes() {
        return bytes;
    }

    public int u8(int off) {
        return bytes[off] & 0xff;
    }

    public int u16(int off) {
        return u8(off) | u8(off + 1) << 8;
    }

    /** An unsigned 32-bit field, returned in a long. */
    public long u32(int off) {
        return (u16(off) | (long) u16(off + 2) << 16) & 0xffffffffL;
    }

    public long u64(int off) {
        return u32(off) | u32(off + 4) << 32;
    }

    public GuestStruct u8(int off, int v) {
        bytes[off] = (byte) v;
        return this;
    }

    public GuestStruct u16(int off, int v) {
        u8(off, v);
        u8(off + 1, v >>> 8);
        return this;
    }

    public GuestStruct u32(int off, long v) {
        u16(off, (int) v);
        u16(off + 2, (int) (v >>> 16));
        return this;
    }

    public GuestStruct u64(int off, long v) {
        u32(off, v);
        u32(off + 4, v >>> 32);
        return this;
    }
}
