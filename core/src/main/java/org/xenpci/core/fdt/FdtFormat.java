package org.xenpci.core.fdt;

/**
 * Constants of the blob format, Devicetree Specification v0.4, chapter 5. Shared by
 * {@link FdtReader} and {@link FdtWriter} so both sides agree on one definition.
 */
final class FdtFormat {
    /** Header magic, Devicetree Specification v0.4 5.2. */
    static final int MAGIC = 0xd00dfeed;

    /** Header field offsets, in bytes from the start of the blob (Devicetree Specification v0.4 5.2). */
    static final int OFF_MAGIC = 0x00;
    static final int OFF_TOTALSIZE = 0x04;
    static final int OFF_DT_STRUCT = 0x08;
    static final int OFF_DT_STRINGS = 0x0C;
    static final int OFF_MEM_RSVMAP = 0x10;
    static final int OFF_VERSION = 0x14;
    static final int OFF_LAST_COMP_VERSION = 0x18;
    static final int OFF_BOOT_CPUID_PHYS = 0x1C;
    static final int OFF_SIZE_DT_STRINGS = 0x20;
    /** Only present from version 17 on. */
    static final int OFF_SIZE_DT_STRUCT = 0x24;

    /** Header length of version 16 (no size_dt_struct) and of version 17, in bytes. */
    static final int HEADER_SIZE_V16 = 0x24;
    static final int HEADER_SIZE_V17 = 0x28;

    /** Structure block tokens, Devicetree Specification v0.4 5.4.1. */
    static final int FDT_BEGIN_NODE = 0x1;
    static final int FDT_END_NODE = 0x2;
    static final int FDT_PROP = 0x3;
    static final int FDT_NOP = 0x4;
    static final int FDT_END = 0x9;

    /** Size of one memory reservation entry (two 64-bit numbers), in bytes, Devicetree Specification v0.4 5.3.2. */
    static final int MEM_RESERVE_ENTRY_SIZE = 16;

    private FdtFormat() {
    }

    static int align4(int n) {
        return (n + 3) & ~3;
    }
}
