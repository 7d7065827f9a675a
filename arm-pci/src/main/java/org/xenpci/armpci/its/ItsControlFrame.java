package org.xenpci.armpci.its;

import static org.xenpci.armpci.its.ItsRegs.GITS_BASER;
import static org.xenpci.armpci.its.ItsRegs.GITS_BASER_ENTRY_SIZE_SHIFT;
import static org.xenpci.armpci.its.ItsRegs.GITS_BASER_NR;
import static org.xenpci.armpci.its.ItsRegs.GITS_BASER_TYPE_COLLECTION;
import static org.xenpci.armpci.its.ItsRegs.GITS_BASER_TYPE_DEVICE;
import static org.xenpci.armpci.its.ItsRegs.GITS_BASER_TYPE_SHIFT;
import static org.xenpci.armpci.its.ItsRegs.GITS_CBASER;
import static org.xenpci.armpci.its.ItsRegs.GITS_CBASER_ADDRESS_MASK;
import static org.xenpci.armpci.its.ItsRegs.GITS_CBASER_SIZE_MASK;
import static org.xenpci.armpci.its.ItsRegs.GITS_CBASER_VALID;
import static org.xenpci.armpci.its.ItsRegs.GITS_CQUEUE_OFFSET_MASK;
import static org.xenpci.armpci.its.ItsRegs.GITS_CREADR;
import static org.xenpci.armpci.its.ItsRegs.GITS_CTLR;
import static org.xenpci.armpci.its.ItsRegs.GITS_CTLR_ENABLED;
import static org.xenpci.armpci.its.ItsRegs.GITS_CTLR_QUIESCENT;
import static org.xenpci.armpci.its.ItsRegs.GITS_CWRITER;
import static org.xenpci.armpci.its.ItsRegs.GITS_TYPER;
import static org.xenpci.armpci.its.ItsRegs.ITS_CMD_SIZE;

/**
 * The architectural register file of an ITS control frame (IHI 0069, 12.19): GITS_CTLR,
 * GITS_TYPER (given by the owner), GITS_CBASER / GITS_CWRITER / GITS_CREADR and the GITS_BASER
 * array, with the access rules both the hardware ITS and Xen's virtual ITS follow: 4- or 8-byte
 * naturally aligned accesses (others read all-ones and are ignored), the GITS_IIDR half of
 * GITS_CTLR read-only, writing GITS_CBASER resets the queue pointers, the Type and Entry_Size
 * fields of GITS_BASER read-only, BASER2..7 RES0.
 *
 * <p>The owner walks the command queue with {@link #nextCommand()} and reads each 32-byte
 * command from wherever its memory is (the physical bus, or a guest's RAM). Not thread-safe:
 * the owner serialises access (both owners hold their own lock around every call).
 */
public final class ItsControlFrame {
    private final long typer;
    private final int iidr;
    private boolean enabled;
    private long cbaser;
    private long cwriter;
    private long creadr;
    private final long[] baser = new long[GITS_BASER_NR];

    /**
     * @param typer the GITS_TYPER value this ITS reports
     * @param iidr its GITS_IIDR (the upper half of the GITS_CTLR doubleword)
     */
    public ItsControlFrame(long typer, int iidr) {
        this.typer = typer;
        this.iidr = iidr;
        baser[0] = (long) GITS_BASER_TYPE_DEVICE << GITS_BASER_TYPE_SHIFT | 7L << GITS_BASER_ENTRY_SIZE_SHIFT;
        baser[1] = (long) GITS_BASER_TYPE_COLLECTION << GITS_BASER_TYPE_SHIFT | 7L << GITS_BASER_ENTRY_SIZE_SHIFT;
    }

    /** True for the access sizes and alignments the frame honours. */
    public static boolean accessOk(long offset, int size) {
        return (size == 4 || size == 8) && (offset & (size - 1)) == 0;
    }

    /** A load of {@code size} bytes at {@code offset} in the frame (all-ones for a bad access). */
    public long read(long offset, int size) {
        if (!accessOk(offset, size)) {
            return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        }
        long v = register(offset & ~7L);
        return size == 8 ? v : (offset & 4) != 0 ? v >>> 32 : v & 0xffffffffL;
    }

    private long register(long reg) {
        if (reg == GITS_CTLR) {
            return (enabled ? GITS_CTLR_ENABLED : GITS_CTLR_QUIESCENT & 0xffffffffL) | (long) iidr << 32;
        }
        if (reg == GITS_TYPER) {
            return typer;
        }
        if (reg == GITS_CBASER) {
            return cbaser;
        }
        if (reg == GITS_CWRITER) {
            return cwriter;
        }
        if (reg == GITS_CREADR) {
            return creadr;
        }
        if (reg >= GITS_BASER && reg < GITS_BASER + 8 * GITS_BASER_NR) {
            return baser[(int) (reg - GITS_BASER) >> 3];
        }
        return 0; // RES0
    }

    /** A store of {@code size} bytes at {@code offset}; bad accesses and read-only fields are ignored. */
    public void write(long offset, int size, long value) {
        if (!accessOk(offset, size)) {
            return;
        }
        long reg = offset & ~7L;
        long old = register(reg);
        long v = size == 8 ? value : (offset & 4) != 0 ? (old & 0xffffffffL) | value << 32
                : (old & 0xffffffff00000000L) | (value & 0xffffffffL);
        if (reg == GITS_CTLR) {
            if ((offset & 4) == 0) { // the upper half is GITS_IIDR, read-only
                enabled = (v & GITS_CTLR_ENABLED) != 0;
            }
        } else if (reg == GITS_CBASER) {
            cbaser = v & (GITS_CBASER_VALID | GITS_CBASER_ADDRESS_MASK | GITS_CBASER_SIZE_MASK);
            creadr = 0; // IHI 0069 12.19.1: writing GITS_CBASER resets GITS_CREADR to 0
            cwriter = 0;
        } else if (reg == GITS_CWRITER) {
            cwriter = v & GITS_CQUEUE_OFFSET_MASK;
        } else if (reg >= GITS_BASER && reg < GITS_BASER + 8 * GITS_BASER_NR) {
            int n = (int) (reg - GITS_BASER) >> 3;
            long ro = 7L << GITS_BASER_TYPE_SHIFT | 0x1fL << GITS_BASER_ENTRY_SIZE_SHIFT;
            baser[n] = n >= 2 ? 0 : baser[n] & ro | v & ~ro; // BASER2..7 unimplemented: RES0
        }
    }

    /** GITS_CTLR.Enabled. */
    public boolean enabled() {
        return enabled;
    }

    /** Command-queue size in bytes (GITS_CBASER.Size + 1 pages). */
    public long queueSize() {
        return ((cbaser & GITS_CBASER_SIZE_MASK) + 1) * 4096;
    }

    /** Result of {@link #nextCommand()} when no command is waiting. */
    public static final long NONE = -1;
    /** Result of {@link #nextCommand()} when GITS_CWRITER points beyond the queue (it is reset to GITS_CREADR). */
    public static final long BAD_CWRITER = -2;

    /**
     * The address of the next command to run and GITS_CREADR advanced past it, or {@link #NONE}
     * when the ITS is disabled, the queue invalid or empty, or {@link #BAD_CWRITER} when
     * GITS_CWRITER lies outside the queue (then GITS_CWRITER is pulled back to GITS_CREADR).
     */
    public long nextCommand() {
        if (!enabled || (cbaser & GITS_CBASER_VALID) == 0 || creadr == cwriter) {
            return NONE;
        }
        long qsize = queueSize();
        if (cwriter >= qsize) {
            cwriter = creadr;
            return BAD_CWRITER;
        }
        long at = (cbaser & GITS_CBASER_ADDRESS_MASK) + creadr;
        creadr = (creadr + ITS_CMD_SIZE) % qsize;
        return at;
    }

    /** GITS_CWRITER as last written (for messages). */
    public long cwriter() {
        return cwriter;
    }
}
