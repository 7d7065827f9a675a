package org.xenpci.core.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Hand-made blobs for acceptance tests: the structure block is written token by token, so a test
 * can build exactly the odd blob it talks about (which {@link FdtWriter} refuses to produce).
 * Layout: header (0x28) | reservation map | structure block | strings block, each block placed
 * at the next multiple of 8 plus {@code structSkew} bytes before the structure block.
 */
final class RawBlob {
    private final ByteArrayOutputStream struct = new ByteArrayOutputStream();
    private final ByteArrayOutputStream rsv = new ByteArrayOutputStream();
    private byte[] strings = "compatible\0reg\0".getBytes(StandardCharsets.ISO_8859_1);
    private int version = 17;
    private int lastComp = 16;
    private int structSkew;
    private int rsvSkew;
    private boolean rsvTerminated = true;

    static RawBlob create() {
        return new RawBlob();
    }

    RawBlob begin(String name) {
        word(1);
        byte[] n = name.getBytes(StandardCharsets.ISO_8859_1);
        struct.writeBytes(n);
        struct.write(0);
        pad();
        return this;
    }

    RawBlob end() {
        return word(2);
    }

    /** A property whose name is at {@code nameOff} in the strings block ("compatible" 0, "reg" 11). */
    RawBlob prop(int nameOff, byte... value) {
        word(3).word(value.length).word(nameOff);
        struct.writeBytes(value);
        pad();
        return this;
    }

    RawBlob nop() {
        return word(4);
    }

    RawBlob fdtEnd() {
        return word(9);
    }

    RawBlob word(int w) {
        struct.writeBytes(ByteBuffer.allocate(4).putInt(w).array());
        return this;
    }

    RawBlob reserve(long address, long size) {
        rsv.writeBytes(ByteBuffer.allocate(16).putLong(address).putLong(size).array());
        return this;
    }

    RawBlob strings(String s) {
        strings = s.getBytes(StandardCharsets.ISO_8859_1);
        return this;
    }

    RawBlob version(int v, int lastCompatible) {
        version = v;
        lastComp = lastCompatible;
        return this;
    }

    /** Places the structure block {@code n} bytes past an 8-byte boundary. */
    RawBlob structSkew(int n) {
        structSkew = n;
        return this;
    }

    /** Places the reservation map {@code n} bytes past an 8-byte boundary. */
    RawBlob rsvSkew(int n) {
        rsvSkew = n;
        return this;
    }

    /** Leaves the reservation map without its size-0 terminator entry. */
    RawBlob unterminatedReservations() {
        rsvTerminated = false;
        return this;
    }

    byte[] build() {
        byte[] rs = rsv.toByteArray();
        if (rsvTerminated) {
            rs = concat(rs, new byte[16]);
        }
        byte[] st = struct.toByteArray();
        int rsvOff = 0x28 + rsvSkew;
        int structOff = align8(rsvOff + rs.length) + structSkew;
        int stringsOff = structOff + st.length;
        int total = stringsOff + strings.length;
        ByteBuffer b = ByteBuffer.allocate(total);
        b.putInt(0xd00dfeed).putInt(total).putInt(structOff).putInt(stringsOff).putInt(rsvOff)
                .putInt(version).putInt(lastComp).putInt(0).putInt(strings.length).putInt(st.length);
        b.put(rsvOff, rs).put(structOff, st).put(stringsOff, strings);
        return b.array();
    }

    private RawBlob pad() {
        while (struct.size() % 4 != 0) {
            struct.write(0);
        }
        return this;
    }

    private static int align8(int n) {
        return (n + 7) & ~7;
    }

    private static byte[] concat(byte[] a, byte[] c) {
        byte[] r = new byte[a.length + c.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(c, 0, r, a.length, c.length);
        return r;
    }
}
