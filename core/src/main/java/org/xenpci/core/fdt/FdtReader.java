package org.xenpci.core.fdt;

import static org.xenpci.core.fdt.FdtFormat.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xenpci.core.fdt.FdtFormatException.Reason;

/**
 * Parser of device tree blobs (Devicetree Specification v0.4, chapter 5) that accepts what
 * libfdt's {@code fdt_check_full} and dtc's blob reader ({@code dtc -I dtb}) both accept, and
 * rejects, with the offending byte offset, what either of them rejects. docs/dtb-acceptance.md
 * lists every remaining check with dtc's and libfdt's verdict and why it is kept.
 *
 * <p>Accepts blobs whose {@code last_comp_version} is at most 17, i.e. versions 16 and 17 and
 * later versions that declare themselves compatible with them. Version 16 headers have no
 * {@code size_dt_struct}; the structure block then runs at most to {@code totalsize}, as
 * libfdt's {@code fdt_offset_ptr} bounds it.
 *
 * <p>Like libfdt and dtc, and unlike the letter of the spec:
 * <ul>
 *   <li>Block offsets need no alignment and blocks may overlap ({@code fdt_check_header} checks
 *       neither; the reader reads bytes, not words in place).</li>
 *   <li>Bytes after {@code FDT_END} (inside {@code size_dt_struct} or not), after
 *       {@code totalsize}, and between blocks are ignored.</li>
 *   <li>The memory reservation map ends at the first entry of size 0 (libfdt
 *       {@code fdt_num_mem_rsv}, dtc {@code flat_read_mem_reserve}); what follows it is not
 *       read. It must end before {@code totalsize}.</li>
 *   <li>Node names have no length limit (the spec's 31 characters is a recommendation no tool
 *       enforces; Linux has longer names), see {@link FdtNames}.</li>
 *   <li>{@code FDT_NOP} is skipped wherever a token may appear.</li>
 * </ul>
 * Defensive limits against hostile blobs: at most {@link #MAX_DEPTH} nested nodes and
 * {@link #MAX_ITEMS} nodes, properties and reservation entries in total.
 * Thread-safe: it has no state.
 */
public final class FdtReader {
    /** Maximum nesting depth, counting the root node as depth 1. */
    public static final int MAX_DEPTH = 64;
    /** Maximum number of nodes plus properties plus memory reservation entries. */
    public static final int MAX_ITEMS = 1 << 20;

    private FdtReader() {
    }

    /**
     * Parses a blob.
     *
     * @param blob the blob; only the first {@code totalsize} bytes are used; not modified
     * @return the tree
     * @throws FdtFormatException if the blob is malformed or exceeds a limit
     */
    public static Fdt read(byte[] blob) {
        return read(blob, MAX_DEPTH, MAX_ITEMS);
    }

    /** Parses with other limits; lets tests reach the limits with small blobs. */
    static Fdt read(byte[] blob, int maxDepth, int maxItems) {
        return new Parser(blob, maxDepth, maxItems).parse();
    }

    /** One parse; holds the positions discovered in the header. */
    private static final class Parser {
        private final byte[] b;
        private int items;
        private int headerSize;
        private long totalSize;
        private long structStart;
        private long stringsStart;
        private long stringsEnd;
        private final Map<Integer, String> nameCache = new HashMap<>();
        private final int maxDepth;
        private final int maxItems;

        Parser(byte[] blob, int maxDepth, int maxItems) {
            this.b = blob;
            this.maxDepth = maxDepth;
            this.maxItems = maxItems;
        }

        Fdt parse() {
            if (b.length < 4) {
                throw fail(Reason.TRUNCATED_HEADER, b.length, "blob of " + b.length + " bytes is shorter than the header");
            }
            int magic = u32(OFF_MAGIC);
            if (magic != MAGIC) {
                throw fail(Reason.BAD_MAGIC, OFF_MAGIC, "bad magic 0x" + Integer.toHexString(magic));
            }
            if (b.length < OFF_LAST_COMP_VERSION + 4) {
                throw fail(Reason.TRUNCATED_HEADER, b.length, "blob of " + b.length + " bytes is shorter than the header");
            }
            long version = u32u(OFF_VERSION);
            long lastComp = u32u(OFF_LAST_COMP_VERSION);
            if (version < 16) {
                throw fail(Reason.UNSUPPORTED_VERSION, OFF_VERSION, "unsupported version " + version + " (need 16 or later)");
            }
            if (lastComp > 17 || lastComp > version) {
                throw fail(Reason.UNSUPPORTED_VERSION, OFF_LAST_COMP_VERSION,
                        "unsupported last_comp_version " + lastComp + " for version " + version);
            }
            boolean hasStructSize = version >= 17;
            headerSize = hasStructSize ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
            if (b.length < headerSize) {
                throw fail(Reason.TRUNCATED_HEADER, b.length,
                        "blob of " + b.length + " bytes is shorter than the " + headerSize + "-byte v" + version + " header");
            }
            totalSize = u32u(OFF_TOTALSIZE);
            if (totalSize < headerSize || totalSize > b.length) {
                throw fail(Reason.BAD_TOTALSIZE, OFF_TOTALSIZE,
                        "totalsize " + totalSize + " outside [" + headerSize + ", " + b.length + "]");
            }
            structStart = u32u(OFF_DT_STRUCT);
            requireInRange(structStart, OFF_DT_STRUCT, "off_dt_struct");
            stringsStart = u32u(OFF_DT_STRINGS);
            requireInRange(stringsStart, OFF_DT_STRINGS, "off_dt_strings");
            long rsvStart = u32u(OFF_MEM_RSVMAP);
            requireInRange(rsvStart, OFF_MEM_RSVMAP, "off_mem_rsvmap");
            stringsEnd = stringsStart + u32u(OFF_SIZE_DT_STRINGS);
            if (stringsEnd > totalSize) {
                throw fail(Reason.BLOCK_OUT_OF_RANGE, OFF_SIZE_DT_STRINGS,
                        "strings block ends at 0x" + Long.toHexString(stringsEnd) + " beyond totalsize 0x" + Long.toHexString(totalSize));
            }
            long structLimit;
            if (hasStructSize) {
                structLimit = structStart + u32u(OFF_SIZE_DT_STRUCT);
                if (structLimit > totalSize) {
                    throw fail(Reason.BLOCK_OUT_OF_RANGE, OFF_SIZE_DT_STRUCT,
                            "structure block ends at 0x" + Long.toHexString(structLimit) + " beyond totalsize 0x" + Long.toHexString(totalSize));
                }
            } else {
                // Version 16: the block's size is unknown; libfdt's fdt_offset_ptr bounds it by
                // totalsize only.
                structLimit = totalSize;
            }

            List<MemReserve> reserves = new ArrayList<>();
            readMemReserves(rsvStart, totalSize, reserves);
            FdtNode root = readStruct(structLimit);
            return new Fdt(root, reserves, u32(OFF_BOOT_CPUID_PHYS));
        }

        private void readMemReserves(long start, long limit, List<MemReserve> out) {
            long pos = start;
            while (true) {
                if (pos + MEM_RESERVE_ENTRY_SIZE > limit) {
                    throw fail(Reason.MEM_RESERVE_UNTERMINATED, pos,
                            "memory reservation map not terminated before 0x" + Long.toHexString(limit));
                }
                long address = u64((int) pos);
                long size = u64((int) pos + 8);
                pos += MEM_RESERVE_ENTRY_SIZE;
                if (size == 0) {
                    // libfdt fdt_num_mem_rsv and dtc flat_read_mem_reserve stop here, whatever the address.
                    return;
                }
                count(pos - MEM_RESERVE_ENTRY_SIZE);
                out.add(new MemReserve(address, size));
            }
        }

        private FdtNode readStruct(long limit) {
            Deque<FdtNode.Builder> open = new ArrayDeque<>();
            FdtNode root = null;
            long pos = structStart;
            while (true) {
                long tokenPos = pos;
                int token = structWord(pos, limit);
                pos += 4;
                switch (token) {
                    case FDT_BEGIN_NODE -> {
                        long nameEnd = indexOfNul(pos, limit);
                        if (nameEnd < 0) {
                            throw fail(Reason.UNTERMINATED_NODE_NAME, pos, "node name not NUL-terminated inside the structure block");
                        }
                        String name = ascii(pos, nameEnd);
                        if (open.isEmpty()) {
                            if (root != null) {
                                throw fail(Reason.MULTIPLE_ROOTS, tokenPos, "second top-level node '" + name + "'");
                            }
                            if (!name.isEmpty()) {
                                throw fail(Reason.ROOT_NAME_NOT_EMPTY, pos, "root node name '" + name + "' is not empty");
                            }
                        } else if (!FdtNames.isValidNodeName(name)) {
                            throw fail(Reason.INVALID_NAME, pos, "invalid node name '" + name + "'");
                        }
                        if (open.size() >= maxDepth) {
                            throw fail(Reason.DEPTH_LIMIT, tokenPos, "nodes nested deeper than " + maxDepth);
                        }
                        count(tokenPos);
                        open.push(FdtNode.builder(name));
                        pos = tagAlign(nameEnd + 1);
                    }
                    case FDT_END_NODE -> {
                        if (open.isEmpty()) {
                            throw fail(Reason.UNBALANCED_END_NODE, tokenPos, "FDT_END_NODE without FDT_BEGIN_NODE");
                        }
                        FdtNode done = open.pop().build();
                        if (open.isEmpty()) {
                            root = done;
                        } else {
                            try {
                                open.peek().child(done);
                            } catch (FdtTreeException e) {
                                throw fail(Reason.DUPLICATE_NAME, tokenPos, "duplicate node '" + done.name() + "'");
                            }
                        }
                    }
                    case FDT_PROP -> {
                        if (open.isEmpty()) {
                            throw fail(Reason.PROP_OUTSIDE_NODE, tokenPos, "FDT_PROP outside any node");
                        }
                        long len = Integer.toUnsignedLong(structWord(pos, limit));
                        long nameOff = Integer.toUnsignedLong(structWord(pos + 4, limit));
                        long dataStart = pos + 8;
                        if (dataStart + len > limit) {
                            throw fail(Reason.PROP_TRUNCATED, pos,
                                    "property length " + len + " runs past the structure block end 0x" + Long.toHexString(limit));
                        }
                        String name = propertyName(nameOff, pos + 4);
                        byte[] value = Arrays.copyOfRange(b, (int) dataStart, (int) (dataStart + len));
                        count(tokenPos);
                        try {
                            open.peek().property(new FdtProperty(name, value));
                        } catch (FdtTreeException e) {
                            throw fail(Reason.DUPLICATE_NAME, tokenPos, "duplicate property '" + name + "'");
                        }
                        pos = tagAlign(dataStart + len);
                    }
                    case FDT_NOP -> {
                        // Devicetree Specification v0.4 5.4.1: ignored by any program parsing the tree; but once the root
                        // node is closed only FDT_END may follow (fdt_check_full's expect_end,
                        // dtc's "doesn't end with FDT_END").
                        if (root != null) {
                            throw fail(Reason.TOKEN_AFTER_ROOT, tokenPos, "FDT_NOP after the root node was closed");
                        }
                    }
                    case FDT_END -> {
                        if (!open.isEmpty()) {
                            throw fail(Reason.UNCLOSED_NODE, tokenPos, "FDT_END with " + open.size() + " node(s) still open");
                        }
                        if (root == null) {
                            throw fail(Reason.MISSING_ROOT, tokenPos, "FDT_END before any node");
                        }
                        return root;
                    }
                    default -> throw fail(Reason.UNKNOWN_TOKEN, tokenPos, "unknown token 0x" + Integer.toHexString(token));
                }
            }
        }

        private String propertyName(long nameOff, long fieldPos) {
            if (stringsStart + nameOff >= stringsEnd) {
                throw fail(Reason.BAD_NAME_OFFSET, fieldPos,
                        "name offset 0x" + Long.toHexString(nameOff) + " outside the " + (stringsEnd - stringsStart) + "-byte strings block");
            }
            String cached = nameCache.get((int) nameOff);
            if (cached != null) {
                return cached;
            }
            long start = stringsStart + nameOff;
            long end = indexOfNul(start, stringsEnd);
            if (end < 0) {
                throw fail(Reason.UNTERMINATED_STRING, start, "property name not NUL-terminated inside the strings block");
            }
            String name = ascii(start, end);
            if (!FdtNames.isValidPropertyName(name)) {
                throw fail(Reason.INVALID_NAME, start, "invalid property name '" + name + "'");
            }
            nameCache.put((int) nameOff, name);
            return name;
        }

        private int structWord(long pos, long limit) {
            if (pos + 4 > limit) {
                throw fail(Reason.TRUNCATED_STRUCT, pos, "structure block ends before FDT_END");
            }
            return u32((int) pos);
        }

        private void requireInRange(long offset, int field, String what) {
            if (offset < headerSize || offset > totalSize) {
                throw fail(Reason.BLOCK_OUT_OF_RANGE, field,
                        what + " 0x" + Long.toHexString(offset) + " outside [0x" + Integer.toHexString(headerSize)
                                + ", totalsize 0x" + Long.toHexString(totalSize) + "]");
            }
        }

        private void count(long pos) {
            if (++items > maxItems) {
                throw fail(Reason.COUNT_LIMIT, pos, "more than " + maxItems + " nodes, properties and reservations");
            }
        }

        private long indexOfNul(long from, long limit) {
            for (long i = from; i < limit; i++) {
                if (b[(int) i] == 0) {
                    return i;
                }
            }
            return -1;
        }

        private String ascii(long from, long to) {
            return new String(b, (int) from, (int) (to - from), StandardCharsets.ISO_8859_1);
        }

        private int u32(int off) {
            return FdtProperty.getInt(b, off);
        }

        private long u32u(int off) {
            return Integer.toUnsignedLong(u32(off));
        }

        private long u64(int off) {
            return ((long) u32(off) << 32) | u32u(off + 4);
        }

        /**
         * Tokens are 4-byte aligned relative to the structure block's start (libfdt's
         * FDT_TAGALIGN on struct offsets), which itself need not be aligned.
         */
        private long tagAlign(long pos) {
            return structStart + (((pos - structStart) + 3) & ~3L);
        }

        private static FdtFormatException fail(Reason reason, long offset, String detail) {
            return new FdtFormatException(reason, offset, detail);
        }
    }
}
