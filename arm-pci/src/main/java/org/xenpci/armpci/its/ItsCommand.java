package org.xenpci.armpci.its;

import static org.xenpci.armpci.its.ItsRegs.*;

/**
 * One 32-byte ITS command as four little-endian doublewords (IHI 0069, 5.3):
 * <pre>
 *  DW0: [7:0] opcode            [63:32] DeviceID
 *  DW1: [31:0] EventID          [63:32] pINTID (MAPTI)      [4:0] Size = EventID bits - 1 (MAPD)
 *  DW2: [15:0] ICID             [51:8] ITT_addr (MAPD)      [51:16] RDbase (MAPC, SYNC)   [63] V
 *  DW3: reserved
 * </pre>
 * Static factories encode the commands the model uses; accessors decode any command.
 *
 * @param dw0 doubleword 0
 * @param dw1 doubleword 1
 * @param dw2 doubleword 2
 * @param dw3 doubleword 3
 */
public record ItsCommand(long dw0, long dw1, long dw2, long dw3) {

    /** MAPD: map {@code deviceId} to an ITT of {@code 2^eventIdBits} events at {@code itt}, or unmap ({@code valid} false). */
    public static ItsCommand mapd(int deviceId, int eventIdBits, long itt, boolean valid) {
        return new ItsCommand(op(GITS_CMD_MAPD, deviceId), valid ? (eventIdBits - 1) & 0x1f : 0,
                (itt & 0x000F_FFFF_FFFF_FF00L) | (valid ? 1L << 63 : 0), 0);
    }

    /** MAPC: map collection {@code icid} to redistributor {@code rdBase} (a processor number, PTA=0). */
    public static ItsCommand mapc(int icid, long rdBase, boolean valid) {
        return new ItsCommand(GITS_CMD_MAPC, 0, (rdBase << 16 & 0x000F_FFFF_FFFF_0000L) | (icid & 0xffff)
                | (valid ? 1L << 63 : 0), 0);
    }

    /** MAPTI: (deviceId, eventId) to physical LPI {@code pIntId} in collection {@code icid}. */
    public static ItsCommand mapti(int deviceId, int eventId, int pIntId, int icid) {
        return new ItsCommand(op(GITS_CMD_MAPTI, deviceId), Integer.toUnsignedLong(eventId) | (long) pIntId << 32,
                icid & 0xffff, 0);
    }

    /** MAPI: (deviceId, eventId) to LPI {@code eventId} in collection {@code icid}. */
    public static ItsCommand mapi(int deviceId, int eventId, int icid) {
        return new ItsCommand(op(GITS_CMD_MAPI, deviceId), Integer.toUnsignedLong(eventId), icid & 0xffff, 0);
    }

    /** MOVI: move the event to collection {@code icid}. */
    public static ItsCommand movi(int deviceId, int eventId, int icid) {
        return new ItsCommand(op(GITS_CMD_MOVI, deviceId), Integer.toUnsignedLong(eventId), icid & 0xffff, 0);
    }

    /** DISCARD, INV, INT or CLEAR of one event ({@code opcode} one of those four). */
    public static ItsCommand event(int opcode, int deviceId, int eventId) {
        return new ItsCommand(op(opcode, deviceId), Integer.toUnsignedLong(eventId), 0, 0);
    }

    /** INVALL of collection {@code icid}. */
    public static ItsCommand invall(int icid) {
        return new ItsCommand(GITS_CMD_INVALL, 0, icid & 0xffff, 0);
    }

    /** SYNC with redistributor {@code rdBase}. */
    public static ItsCommand sync(long rdBase) {
        return new ItsCommand(GITS_CMD_SYNC, 0, rdBase << 16 & 0x000F_FFFF_FFFF_0000L, 0);
    }

    private static long op(int opcode, int deviceId) {
        return opcode | (long) deviceId << 32;
    }

    /** Decodes 32 bytes at {@code offset} of {@code bytes} (little-endian). */
    public static ItsCommand fromBytes(byte[] bytes, int offset) {
        return new ItsCommand(le(bytes, offset), le(bytes, offset + 8), le(bytes, offset + 16), le(bytes, offset + 24));
    }

    /** The 32 bytes of this command, little-endian. */
    public byte[] toBytes() {
        byte[] out = new byte[ITS_CMD_SIZE];
        long[] dws = {dw0, dw1, dw2, dw3};
        for (int i = 0; i < 32; i++) {
            out[i] = (byte) (dws[i >> 3] >>> ((i & 7) * 8));
        }
        return out;
    }

    private static long le(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }

    /** DW0[7:0]. */
    public int opcode() {
        return (int) (dw0 & 0xff);
    }

    /** DW0[63:32]. */
    public int deviceId() {
        return (int) (dw0 >>> 32);
    }

    /** DW1[31:0]. */
    public int eventId() {
        return (int) dw1;
    }

    /** DW1[63:32] (MAPTI). */
    public int pIntId() {
        return (int) (dw1 >>> 32);
    }

    /** DW1[4:0] + 1: EventID bits of a MAPD. */
    public int eventIdBits() {
        return (int) (dw1 & 0x1f) + 1;
    }

    /** DW2[51:8] as an address (MAPD). */
    public long ittAddress() {
        return dw2 & 0x000F_FFFF_FFFF_FF00L;
    }

    /** DW2[63]. */
    public boolean valid() {
        return dw2 < 0;
    }

    /** DW2[15:0]. */
    public int icid() {
        return (int) (dw2 & 0xffff);
    }

    /** DW2[51:16] (MAPC, SYNC): the target redistributor; a processor number as GITS_TYPER.PTA is 0. */
    public long rdBase() {
        return (dw2 & 0x000F_FFFF_FFFF_0000L) >>> 16;
    }
}
