package org.xenpci.armpci.its;

/**
 * GICv3 ITS register offsets, fields and command opcodes (GICv3/v4 architecture, Arm IHI 0069,
 * 12.19 "The ITS control register map" and 5.3 "ITS commands"). Offsets are bytes from the ITS
 * base (ITS_base, the control frame); the translation frame is the second 64 KiB frame.
 */
public final class ItsRegs {
    private ItsRegs() {
    }

    /** Size of the ITS register map: control frame + translation frame (2 x 64 KiB). */
    public static final long ITS_SIZE = 0x20000;
    /** Size of one ITS frame in bytes. */
    public static final long FRAME_SIZE = 0x10000;

    public static final int GITS_CTLR = 0x0000;
    public static final int GITS_IIDR = 0x0004;
    public static final int GITS_TYPER = 0x0008;
    public static final int GITS_CBASER = 0x0080;
    public static final int GITS_CWRITER = 0x0088;
    public static final int GITS_CREADR = 0x0090;
    /** GITS_BASER&lt;n&gt; is at {@code GITS_BASER + 8 * n}, n = 0..7. */
    public static final int GITS_BASER = 0x0100;
    public static final int GITS_BASER_NR = 8;
    /** The doorbell: a 32-bit write of an EventID, DeviceID from the sideband. */
    public static final int GITS_TRANSLATER = 0x10040;

    public static final int GITS_CTLR_ENABLED = 1;
    public static final int GITS_CTLR_QUIESCENT = 1 << 31;

    public static final long GITS_TYPER_PHYSICAL = 1L;
    public static final int GITS_TYPER_ITT_ENTRY_SIZE_SHIFT = 4;
    public static final int GITS_TYPER_IDBITS_SHIFT = 8;
    public static final int GITS_TYPER_DEVBITS_SHIFT = 13;
    public static final long GITS_TYPER_SEIS = 1L << 18;
    public static final long GITS_TYPER_PTA = 1L << 19;
    public static final int GITS_TYPER_HCC_SHIFT = 24;

    public static final long GITS_CBASER_VALID = 1L << 63;
    /** CBASER physical address bits 51:12. */
    public static final long GITS_CBASER_ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;
    /** CBASER Size: number of 4 KiB pages minus one, bits 7:0. */
    public static final long GITS_CBASER_SIZE_MASK = 0xff;
    /** CWRITER/CREADR offset bits 19:5 (commands are 32 bytes). */
    public static final long GITS_CQUEUE_OFFSET_MASK = 0xFFFE0L;
    public static final long GITS_CWRITER_RETRY = 1;
    public static final long GITS_CREADR_STALLED = 1;

    public static final long GITS_BASER_VALID = 1L << 63;
    public static final int GITS_BASER_TYPE_SHIFT = 56;
    public static final int GITS_BASER_ENTRY_SIZE_SHIFT = 48;
    public static final int GITS_BASER_TYPE_NONE = 0;
    public static final int GITS_BASER_TYPE_DEVICE = 1;
    public static final int GITS_BASER_TYPE_COLLECTION = 4;

    /** Bytes per command. */
    public static final int ITS_CMD_SIZE = 32;

    public static final int GITS_CMD_MOVI = 0x01;
    public static final int GITS_CMD_INT = 0x03;
    public static final int GITS_CMD_CLEAR = 0x04;
    public static final int GITS_CMD_SYNC = 0x05;
    public static final int GITS_CMD_MAPD = 0x08;
    public static final int GITS_CMD_MAPC = 0x09;
    public static final int GITS_CMD_MAPTI = 0x0a;
    public static final int GITS_CMD_MAPI = 0x0b;
    public static final int GITS_CMD_INV = 0x0c;
    public static final int GITS_CMD_INVALL = 0x0d;
    public static final int GITS_CMD_MOVALL = 0x0e;
    public static final int GITS_CMD_DISCARD = 0x0f;

    /** The first LPI INTID. */
    public static final int LPI_OFFSET = 8192;
    /** Xen allocates host LPIs in blocks of this many ({@code LPI_BLOCK}). */
    public static final int LPI_BLOCK = 32;
}
