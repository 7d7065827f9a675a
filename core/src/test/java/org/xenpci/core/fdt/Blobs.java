package org.xenpci.core.fdt;

import java.util.Arrays;
import java.util.List;

/** Small blobs with a known layout, and byte-level surgery on them, for format tests. */
final class Blobs {
    private Blobs() {
    }

    /**
     * {@code / { compatible = "x"; child@1 { reg = <1>; }; };} with one memory reservation.
     *
     * <pre>
     * 0x00 header (40 bytes)          0x28 rsv entry   0x38 rsv terminator
     * 0x48 BEGIN_NODE ""              0x50 PROP len=2 nameoff=0 "x"
     * 0x60 BEGIN_NODE "child@1"       0x6c PROP len=4 nameoff=11 &lt;1&gt;
     * 0x7c END_NODE   0x80 END_NODE   0x84 END
     * 0x88 strings "compatible\0reg\0" (15 bytes); totalsize 0x97
     * </pre>
     */
    static Fdt smallTree() {
        FdtNode child = FdtNode.builder("child@1").property(FdtProperty.u32("reg", 1)).build();
        FdtNode root = FdtNode.root().property(FdtProperty.string("compatible", "x")).child(child).build();
        return new Fdt(root, List.of(new MemReserve(0x1000, 0x2000)), 0);
    }

    static byte[] small() {
        return FdtWriter.write(smallTree());
    }

    static int u32(byte[] b, int off) {
        return FdtProperty.getInt(b, off);
    }

    static byte[] withU32(byte[] b, int off, int value) {
        byte[] c = b.clone();
        FdtProperty.putInt(c, off, value);
        return c;
    }

    /**
     * Inserts {@code bytes} into the structure block at blob offset {@code at} and fixes the
     * header (size_dt_struct, off_dt_strings, totalsize) so only the structure content changes.
     */
    static byte[] spliceStruct(byte[] b, int at, int... words) {
        int n = words.length * 4;
        byte[] c = new byte[b.length + n];
        System.arraycopy(b, 0, c, 0, at);
        for (int i = 0; i < words.length; i++) {
            FdtProperty.putInt(c, at + i * 4, words[i]);
        }
        System.arraycopy(b, at, c, at + n, b.length - at);
        FdtProperty.putInt(c, 0x04, u32(b, 0x04) + n);
        FdtProperty.putInt(c, 0x0C, u32(b, 0x0C) + n);
        FdtProperty.putInt(c, 0x24, u32(b, 0x24) + n);
        return c;
    }

    static byte[] truncate(byte[] b, int length) {
        return Arrays.copyOf(b, length);
    }
}
