package org.xenpci.core.fdt;

import static org.xenpci.core.fdt.FdtFormat.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Serialises a tree into a version 17 blob laid out exactly as {@code dtc -I dts -O dtb}
 * (dtc 1.6.1) does without padding options: the 40-byte header, the memory reservation map at
 * 0x28 ending with an all-zero entry, the structure block, then the strings block, and
 * {@code totalsize} equal to the end of the strings block.
 *
 * <p>{@code last_comp_version} is 16, as dtc writes: a version 16 reader can use the blob.
 * Thread-safe: it has no state.
 */
public final class FdtWriter {
    /** The {@code version} header field written. */
    public static final int VERSION = 17;
    /** The {@code last_comp_version} header field written. */
    public static final int LAST_COMP_VERSION = 16;

    private FdtWriter() {
    }

    /**
     * Serialises a tree.
     *
     * @param fdt the tree
     * @return the blob
     */
    public static byte[] write(Fdt fdt) {
        StringTable strings = new StringTable();
        ByteArrayOutputStream struct = new ByteArrayOutputStream();
        writeNode(fdt.root(), struct, strings);
        writeWord(struct, FDT_END);

        int rsvOff = HEADER_SIZE_V17; // 0x28 is already 8-byte aligned, as the Devicetree Specification v0.4 5.3.1 requires
        int rsvSize = (fdt.memReserves().size() + 1) * MEM_RESERVE_ENTRY_SIZE;
        int structOff = rsvOff + rsvSize;
        int structSize = struct.size();
        int stringsOff = structOff + structSize;
        byte[] stringBytes = strings.bytes();
        int total = stringsOff + stringBytes.length;

        byte[] out = new byte[total];
        FdtProperty.putInt(out, OFF_MAGIC, MAGIC);
        FdtProperty.putInt(out, OFF_TOTALSIZE, total);
        FdtProperty.putInt(out, OFF_DT_STRUCT, structOff);
        FdtProperty.putInt(out, OFF_DT_STRINGS, stringsOff);
        FdtProperty.putInt(out, OFF_MEM_RSVMAP, rsvOff);
        FdtProperty.putInt(out, OFF_VERSION, VERSION);
        FdtProperty.putInt(out, OFF_LAST_COMP_VERSION, LAST_COMP_VERSION);
        FdtProperty.putInt(out, OFF_BOOT_CPUID_PHYS, fdt.bootCpuidPhys());
        FdtProperty.putInt(out, OFF_SIZE_DT_STRINGS, stringBytes.length);
        FdtProperty.putInt(out, OFF_SIZE_DT_STRUCT, structSize);
        int pos = rsvOff;
        for (MemReserve r : fdt.memReserves()) {
            putLong(out, pos, r.address());
            putLong(out, pos + 8, r.size());
            pos += MEM_RESERVE_ENTRY_SIZE;
        }
        // The terminating entry is already zero.
        System.arraycopy(struct.toByteArray(), 0, out, structOff, structSize);
        System.arraycopy(stringBytes, 0, out, stringsOff, stringBytes.length);
        return out;
    }

    private static void writeNode(FdtNode node, ByteArrayOutputStream out, StringTable strings) {
        writeWord(out, FDT_BEGIN_NODE);
        byte[] name = node.name().getBytes(StandardCharsets.ISO_8859_1);
        out.writeBytes(name);
        out.write(0);
        padTo4(out, name.length + 1);
        for (FdtProperty p : node.properties()) {
            writeWord(out, FDT_PROP);
            writeWord(out, p.length());
            writeWord(out, strings.offsetOf(p.name()));
            out.writeBytes(p.value());
            padTo4(out, p.length());
        }
        for (FdtNode c : node.children()) {
            writeNode(c, out, strings);
        }
        writeWord(out, FDT_END_NODE);
    }

    /** Zero-pads after {@code written} bytes so the next token is 4-byte aligned (Devicetree Specification v0.4 5.4.2). */
    private static void padTo4(ByteArrayOutputStream out, int written) {
        out.writeBytes(new byte[align4(written) - written]);
    }

    private static void writeWord(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    private static void putLong(byte[] b, int off, long v) {
        FdtProperty.putInt(b, off, (int) (v >>> 32));
        FdtProperty.putInt(b, off + 4, (int) v);
    }

    /**
     * The strings block, reproducing dtc 1.6.1's sharing rule (flattree.c,
     * {@code stringtable_insert}): a name is stored at the lowest offset where the existing
     * table already contains it followed by NUL. That offset may be the tail of a longer name,
     * so {@code cells} can point into {@code #address-cells}. Otherwise the name is appended.
     */
    static final class StringTable {
        private byte[] table = new byte[64];
        private int size;
        private final Map<String, Integer> offsets = new HashMap<>();

        int offsetOf(String name) {
            // Memoising is exact: the first match of a NUL-terminated name lies inside the part
            // of the table that existed when it was first looked up, and that part never changes.
            return offsets.computeIfAbsent(name, this::insert);
        }

        private int insert(String name) {
            byte[] n = name.getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; i + n.length < size; i++) {
                if (table[i + n.length] == 0 && Arrays.equals(table, i, i + n.length, n, 0, n.length)) {
                    return i;
                }
            }
            int at = size;
            if (size + n.length + 1 > table.length) {
                table = Arrays.copyOf(table, Math.max(table.length * 2, size + n.length + 1));
            }
            System.arraycopy(n, 0, table, size, n.length);
            size += n.length + 1; // table[size - 1] is already 0
            return at;
        }

        byte[] bytes() {
            return Arrays.copyOf(table, size);
        }
    }
}
