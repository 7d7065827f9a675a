package org.xenpci.core.fdt;

import java.util.Objects;

/**
 * A device tree blob violates the format of the Devicetree Specification v0.4, chapter 5
 * ("Flattened Devicetree (DTB) Format"), or one of the reader's defensive limits.
 *
 * <p>Carries the byte offset in the blob where the problem was detected and a machine-readable
 * {@link Reason}, so that tests and tools can tell problems apart without parsing messages.
 */
public final class FdtFormatException extends FdtException {
    private static final long serialVersionUID = 1L;

    /** The kinds of format problem {@link FdtReader} detects. */
    public enum Reason {
        /** The blob is shorter than the header its version requires. */
        TRUNCATED_HEADER,
        /** The first 4 bytes are not 0xd00dfeed. */
        BAD_MAGIC,
        /** {@code totalsize} is smaller than the header or larger than the blob. */
        BAD_TOTALSIZE,
        /** {@code version} or {@code last_comp_version} is not one this reader understands. */
        UNSUPPORTED_VERSION,
        /** A block starts or ends outside {@code [header end, totalsize]}. */
        BLOCK_OUT_OF_RANGE,
        /** The memory reservation map has no entry of size 0 (its terminator) before {@code totalsize}. */
        MEM_RESERVE_UNTERMINATED,
        /** A token is not one of FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END. */
        UNKNOWN_TOKEN,
        /** The structure block ends before an FDT_END token (or in the middle of a token). */
        TRUNCATED_STRUCT,
        /** FDT_END appears before the root node was opened. */
        MISSING_ROOT,
        /** A second top-level FDT_BEGIN_NODE after the root node was closed. */
        MULTIPLE_ROOTS,
        /** FDT_NOP after the root node was closed, where only FDT_END may follow. */
        TOKEN_AFTER_ROOT,
        /** FDT_PROP appears outside any node. */
        PROP_OUTSIDE_NODE,
        /** A property's length runs past the end of the structure block. */
        PROP_TRUNCATED,
        /** A property's name offset lies outside the strings block. */
        BAD_NAME_OFFSET,
        /** A property name is not NUL-terminated inside the strings block. */
        UNTERMINATED_STRING,
        /** A node name is not NUL-terminated inside the structure block. */
        UNTERMINATED_NODE_NAME,
        /** The first node has a non-empty name; the root node's name must be empty (Devicetree Specification v0.4 5.4.1). */
        ROOT_NAME_NOT_EMPTY,
        /** A node or property name is not valid (see {@link FdtNames}). */
        INVALID_NAME,
        /** Two sibling nodes or two properties of one node have the same name. */
        DUPLICATE_NAME,
        /** FDT_END_NODE without a matching FDT_BEGIN_NODE. */
        UNBALANCED_END_NODE,
        /** FDT_END while nodes are still open. */
        UNCLOSED_NODE,
        /** Nodes are nested deeper than {@link FdtReader#MAX_DEPTH}. */
        DEPTH_LIMIT,
        /** The blob holds more nodes and properties than {@link FdtReader#MAX_ITEMS}. */
        COUNT_LIMIT
    }

    /** Byte offset in the blob where the problem was detected. */
    private final long offset;
    /** The human-readable detail, without offset and reason. */
    private final String detail;
    /** The kind of problem. */
    private final Reason reason;

    /**
     * Creates an exception.
     *
     * @param reason the kind of problem
     * @param offset byte offset in the blob where it was detected
     * @param detail human-readable detail, e.g. "bad magic 0x12345678"
     */
    public FdtFormatException(Reason reason, long offset, String detail) {
        super(detail + " at offset 0x" + Long.toHexString(offset) + " (" + reason + ")");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.offset = offset;
        this.detail = Objects.requireNonNull(detail, "detail");
    }

    /**
     * Returns what is wrong, without the offset and reason the message adds, e.g.
     * "bad magic 0x12345678".
     *
     * @return the detail
     */
    public String detail() {
        return detail;
    }

    /**
     * Returns the byte offset in the blob where the problem was detected.
     *
     * @return offset in bytes from the start of the blob
     */
    public long offset() {
        return offset;
    }

    /**
     * Returns the kind of problem.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }
}
