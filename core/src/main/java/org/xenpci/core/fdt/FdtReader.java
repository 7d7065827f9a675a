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
 * Strict parser of device tree blobs (Devicetree Specification v0.4, chapter 5).
 *
 * <p>Accepts blobs whose {@code last_comp_version} is at most 17, i.e. versions 16 and 17 and
 * later versions that declare themselves compatible with them. Version 16 headers have no
 * {@code size_dt_struct}; the end of the structure block is then found by parsing up to
 * {@code FDT_END}.
 *
 * <p>Every violation raises {@link FdtFormatException} with the offending byte offset. Choices
 * where the spec leaves room:
 * <ul>
 *   <li>Bytes after {@code totalsize} are ignored (a blob may sit in a larger buffer), and so
 *       are gaps between blocks (dtc {@code -p}/{@code -S} padding).</li>
 *   <li>Bytes after {@code FDT_END} but inside {@code size_dt_struct} are rejected
 *       ({@link Reason#DATA_AFTER_END}): dtc never emits them, and accepting them would make
 *       {@code write(read(blob))} silently lose data.</li>
 *   <li>{@code FDT_NOP} is skipped wherever a token may appear.</li>
 *   <li>The memory reservation map ends at the first entry whose address and size are both 0
 *       (spec 5.3.2). dtc's blob reader and libfdt's {@code fdt_num_mem_rsv} stop earlier, at
 *       the first entry of size 0; such entries are kept here so that blobs dtc compiled from
 *       {@code /memreserve/ addr 0;} still round-trip byte for byte.</li>
 *   <li>Defensive limits against hostile blobs: at most {@link #MAX_DEPTH} nested nodes and
 *       {@link #MAX_ITEMS} nodes, properties and reservation entries in total.</li>
 * </ul>
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
            if (structStart % 4 != 0) {
                throw fail(Reason.MISALIGNED_BLOCK, OFF_DT_STRUCT, "off_dt_struct 0x" + Long.toHexString(structStart) + " not 4-byte aligned");
            }
            requireInRange(structStart, OFF_DT_STRUCT, "off_dt_struct");
            stringsStart = u32u(OFF_DT_STRINGS);
            requireInRange(stringsStart, OFF_DT_STRINGS, "off_dt_strings");
            long rsvStart = u32u(OFF_MEM_RSVMAP);
            if (rsvStart % 8 != 0) {
                throw fail(Reason.MISALIGNED_BLOCK, OFF_MEM_RSVMAP, "off_mem_rsvmap 0x" + Long.toHexString(rsvStart) + " not 8-byte aligned");
            }
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
                checkOverlap(structStart, structLimit, stringsStart, stringsEnd);
            } else {
                // Version 16: the block's size is unknown, so bound the parse by whichever block
                // starts next (dtc places strings right after the structure block).
                structLimit = nextBlockStart(structStart, rsvStart, stringsStart);
            }

            List<MemReserve> reserves = new ArrayList<>();
            long rsvEnd = readMemReserves(rsvStart, nextBlockStart(rsvStart, structStart, stringsStart), reserves);
            long[] structEnd = new long[1];
            FdtNode root = readStruct(structLimit, hasStructSize, structEnd);
            checkOverlap(rsvStart, rsvEnd, structStart, structEnd[0]);
            checkOverlap(rsvStart, rsvEnd, stringsStart, stringsEnd);
            checkOverlap(structStart, structEnd[0], stringsStart, stringsEnd);
            return new Fdt(root, reserves, u32(OFF_BOOT_CPUID_PHYS));
        }

        private long nextBlockStart(long start, long otherA, long otherB) {
            long limit = totalSize;
            if (otherA > start) {
                limit = Math.min(limit, otherA);
            }
            if (otherB > start) {
                limit = Math.min(limit, otherB);
            }
            return limit;
        }

        private long readMemReserves(long start, long limit, List<MemReserve> out) {
            long pos = start;
            while (true) {
                if (pos + MEM_RESERVE_ENTRY_SIZE > limit) {
                    throw fail(Reason.MEM_RESERVE_UNTERMINATED, pos,
                            "memory reservation map not terminated before 0x" + Long.toHexString(limit));
                }
                long address = u64((int) pos);
                long size = u64((int) pos + 8);
                pos += MEM_RESERVE_ENTRY_SIZE;
                if (address == 0 && size == 0) {
                    return pos;
                }
                count(pos - MEM_RESERVE_ENTRY_SIZE);
                out.add(new MemReserve(address, size));
            }
        }

        private FdtNode readStruct(long limit, boolean exactSize, long[] endOut) {
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
                        pos = align4(nameEnd + 1);
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
                        pos = align4(dataStart + len);
                    }
                    case FDT_NOP -> {
                        // Spec 5.4.1: ignored by any program parsing the tree.
                    }
                    case FDT_END -> {
                        if (!open.isEmpty()) {
                            throw fail(Reason.UNCLOSED_NODE, tokenPos, "FDT_END with " + open.size() + " node(s) still open");
                        }
                        if (root == null) {
                            throw fail(Reason.MISSING_ROOT, tokenPos, "FDT_END before any node");
                        }
                        if (exactSize && pos != limit) {
                            throw fail(Reason.DATA_AFTER_END, pos,
                                    (limit - pos) + " byte(s) after FDT_END inside size_dt_struct");
                        }
                        endOut[0] = pos;
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

        private void checkOverlap(long aStart, long aEnd, long bStart, long bEnd) {
            if (aStart < bEnd && bStart < aEnd) {
                long at = Math.max(aStart, bStart);
                throw fail(Reason.BLOCKS_OVERLAP, at, "blocks [0x" + Long.toHexString(aStart) + ", 0x" + Long.toHexString(aEnd)
                        + ") and [0x" + Long.toHexString(bStart) + ", 0x" + Long.toHexString(bEnd) + ") overlap");
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

        private static long align4(long n) {
            return (n + 3) & ~3L;
        }

        private static FdtFormatException fail(Reason reason, long offset, String detail) {
            return new FdtFormatException(reason, offset, detail);
        }
    }
}
