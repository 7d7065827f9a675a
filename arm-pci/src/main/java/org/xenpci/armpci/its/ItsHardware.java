package org.xenpci.armpci.its;

import static org.xenpci.armpci.its.ItsRegs.*;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.hw.MsiController;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * A GICv3 Interrupt Translation Service (Arm IHI 0069, chapters 5 and 12.19) as hardware: the
 * register frames on the physical bus, a command queue read from host memory, and translation
 * of (DeviceID, EventID) into physical LPIs delivered to an {@link LpiSink}.
 *
 * <p>Registers (control frame): GITS_CTLR (Enabled RW, Quiescent RO = not enabled), GITS_IIDR
 * (0x0000043B: Arm), GITS_TYPER (Physical, ITT entry size, IDbits, Devbits as built, SEIS 0,
 * PTA 0: targets are processor numbers, HCC 0, CIL 0: 16-bit ICIDs), GITS_CBASER, GITS_CWRITER,
 * GITS_CREADR, GITS_BASER0 (Device table) and GITS_BASER1 (Collection table), others RES0.
 * 64-bit registers take 4- or 8-byte aligned accesses. Translation frame: a 4-byte write to
 * GITS_TRANSLATER from a CPU has no DeviceID sideband and is dropped (traced); writes from a
 * PCI function arrive through {@link #message} with the DeviceID its host bridge derived.
 *
 * <p>IMPLEMENTATION DEFINED choices:
 * <ul>
 * <li>The Device table, Collection table and ITTs are held as model state, not in the memory
 *     GITS_BASER / MAPD ITT_addr point to (their formats are IMPLEMENTATION DEFINED); the BASER
 *     registers store what software writes (Type and Entry_Size read-only), and the memory is
 *     never touched.</li>
 * <li>The command queue is processed synchronously when GITS_CWRITER is written (or the ITS is
 *     enabled), so GITS_CREADR equals GITS_CWRITER when the write returns.</li>
 * <li>A command error (DeviceID/EventID/ICID/pINTID out of range, unmapped device or
 *     collection, unknown opcode) is reported as an {@link ItsEvents.CommandError} trace event
 *     and the command is IGNORED; processing continues (GITS_TYPER.SEIS = 0, no stall).</li>
 * <li>LPI configuration and pending tables (GICR_PROPBASER/PENDBASER) are not modelled: every
 *     mapped LPI is enabled, INV/INVALL/SYNC have nothing to do, and CLEAR is forwarded to the
 *     sink.</li>
 * <li>A message that cannot be translated (ITS disabled, device unmapped, EventID out of range
 *     or unmapped, collection unmapped) is dropped and traced as
 *     {@link ItsEvents.TranslationDropped}.</li>
 * </ul>
 *
 * <p>Thread-safety: all state is guarded by this object's monitor; LPIs are handed to the sink
 * after the monitor is released.
 */
public final class ItsHardware implements MmioDevice, MsiController {
    private static final Logger LOG = LoggerFactory.getLogger(ItsHardware.class);
    /** GITS_IIDR: implementer Arm (JEP106 0x43B), revision/variant/product 0. */
    public static final int IIDR = 0x0000043B;

    private final long base;
    private final int deviceIdBits;
    private final int eventIdBits;
    private final int ittEntrySize;
    private volatile PhysicalAddressSpace space;
    private volatile LpiSink sink = LpiSink.NONE;
    private volatile Trace trace;

    private final ItsControlFrame frame;
    private final Map<Integer, Device> devices = new HashMap<>();
    private final Map<Integer, Integer> collections = new HashMap<>();

    /** One mapped device: its ITT (EventID to interrupt translation entry). */
    private static final class Device {
        final int eventIdBits;
        final long itt;
        final Map<Integer, int[]> ites = new HashMap<>(); // event -> {pINTID, ICID}

        Device(int eventIdBits, long itt) {
            this.eventIdBits = eventIdBits;
            this.itt = itt;
        }
    }

    /**
     * An ITS at machine address {@code base} (64 KiB aligned).
     *
     * @param deviceIdBits DeviceID width, 1..32 (GITS_TYPER.Devbits + 1)
     * @param eventIdBits EventID / INTID width, 14..32 (GITS_TYPER.IDbits + 1; at least 14 so LPIs exist)
     * @throws IllegalArgumentException for a misaligned base or widths out of range
     */
    public ItsHardware(long base, int deviceIdBits, int eventIdBits) {
        if ((base & (FRAME_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("ITS base " + Hex.of(base) + " is not 64 KiB aligned");
        }
        if (deviceIdBits < 1 || deviceIdBits > 32 || eventIdBits < 14 || eventIdBits > 32) {
            throw new IllegalArgumentException("ITS widths devbits " + deviceIdBits + " idbits " + eventIdBits
                    + " out of range (1..32, 14..32)");
        }
        this.base = base;
        this.deviceIdBits = deviceIdBits;
        this.eventIdBits = eventIdBits;
        this.ittEntrySize = 8;
        this.frame = new ItsControlFrame(typer(), IIDR);
    }

    /** Registers both frames on {@code space} as {@code its@<base>} and reads commands from it. */
    public void attach(PhysicalAddressSpace s) {
        s.register("its@" + Long.toHexString(base), base, ITS_SIZE, this);
        this.space = s;
    }

    /** Connects the redistributors (the hypervisor's LPI handler). */
    public void connect(LpiSink s) {
        this.sink = Objects.requireNonNull(s, "sink");
    }

    /** Where translation drops and command errors are traced (the booted Xen's trace). */
    public void trace(Trace t) {
        this.trace = t;
    }

    /** Machine address of the control frame. */
    public long base() {
        return base;
    }

    /** Machine address of GITS_TRANSLATER, the doorbell devices write. */
    public long doorbell() {
        return base + GITS_TRANSLATER;
    }

    /** GITS_TYPER as software reads it. */
    public long typer() {
        return GITS_TYPER_PHYSICAL | (long) (ittEntrySize - 1) << GITS_TYPER_ITT_ENTRY_SIZE_SHIFT
                | (long) (eventIdBits - 1) << GITS_TYPER_IDBITS_SHIFT
                | (long) (deviceIdBits - 1) << GITS_TYPER_DEVBITS_SHIFT;
    }

    /** Number of mapped devices (a test and debugging view of the model state). */
    public synchronized int mappedDevices() {
        return devices.size();
    }

    /** True if {@code deviceId} is mapped (MAPD V=1). */
    public synchronized boolean deviceMapped(int deviceId) {
        return devices.containsKey(deviceId);
    }

    /* ---------------- MMIO ---------------- */

    @Override
    public long read(long offset, int size) {
        synchronized (this) {
            return frame.read(offset, size);
        }
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == GITS_TRANSLATER) {
            dropped(-1, (int) value, "CPU write to GITS_TRANSLATER carries no DeviceID");
            return;
        }
        synchronized (this) {
            frame.write(offset, size, value);
        }
        process();
    }

    /* ---------------- command queue ---------------- */

    /** Runs the commands between GITS_CREADR and GITS_CWRITER. */
    private void process() {
        while (true) {
            ItsCommand cmd;
            synchronized (this) {
                PhysicalAddressSpace s = space;
                if (s == null) {
                    return;
                }
                long at = frame.nextCommand();
                if (at == ItsControlFrame.BAD_CWRITER) {
                    error(-1, "GITS_CWRITER beyond a queue of " + Hex.of(frame.queueSize()) + " bytes");
                    return;
                }
                if (at == ItsControlFrame.NONE) {
                    return;
                }
                cmd = new ItsCommand(s.read(at, 8), s.read(at + 8, 8), s.read(at + 16, 8), s.read(at + 24, 8));
            }
            execute(cmd);
        }
    }

    private void execute(ItsCommand c) {
        int deliverTarget = -1;
        int deliverLpi = -1;
        int clearTarget = -1;
        synchronized (this) {
            int op = c.opcode();
            switch (op) {
                case GITS_CMD_MAPD:
                    if (!deviceInRange(c)) {
                        break;
                    }
                    if (!c.valid()) {
                        devices.remove(c.deviceId());
                    } else if (c.eventIdBits() > eventIdBits) {
                        error(op, "MAPD size " + c.eventIdBits() + " bits exceeds IDbits " + eventIdBits);
                    } else {
                        devices.put(c.deviceId(), new Device(c.eventIdBits(), c.ittAddress()));
                    }
                    break;
                case GITS_CMD_MAPC:
                    if (c.valid()) {
                        collections.put(c.icid(), (int) c.rdBase());
                    } else {
                        collections.remove(c.icid());
                    }
                    break;
                case GITS_CMD_MAPTI:
                case GITS_CMD_MAPI: {
                    Device d = mappedDevice(c);
                    int intid = op == GITS_CMD_MAPI ? c.eventId() : c.pIntId();
                    if (d == null || !eventInRange(c, d)) {
                        break;
                    }
                    if (intid < LPI_OFFSET || (eventIdBits < 32 && Integer.toUnsignedLong(intid) >= 1L << eventIdBits)) {
                        error(op, "pINTID " + intid + " is not an LPI this ITS supports");
                        break;
                    }
                    d.ites.put(c.eventId(), new int[] {intid, c.icid()});
                    break;
                }
                case GITS_CMD_MOVI: {
                    int[] ite = ite(c);
                    if (ite != null) {
                        ite[1] = c.icid();
                    }
                    break;
                }
                case GITS_CMD_DISCARD: {
                    int[] ite = ite(c);
                    if (ite != null) {
                        mappedDevice(c).ites.remove(c.eventId());
                    }
                    break;
                }
                case GITS_CMD_INT:
                case GITS_CMD_CLEAR: {
                    int[] ite = ite(c);
                    Integer target = ite == null ? null : collections.get(ite[1]);
                    if (ite != null && target == null) {
                        error(op, "collection " + ite[1] + " is not mapped");
                    } else if (target != null) {
                        if (op == GITS_CMD_INT) {
                            deliverTarget = target;
                        } else {
                            clearTarget = target;
                        }
                        deliverLpi = ite[0];
                    }
                    break;
                }
                case GITS_CMD_INV:
                    ite(c); // only validated: LPI configuration is not cached
                    break;
                case GITS_CMD_INVALL:
                case GITS_CMD_SYNC:
                case GITS_CMD_MOVALL:
                    break;
                default:
                    error(op, "unknown command opcode " + Hex.of(op));
            }
        }
        if (deliverTarget >= 0) {
            deliver(-1, -1, deliverLpi, deliverTarget);
        } else if (clearTarget >= 0) {
            sink.clear(clearTarget, deliverLpi);
        }
    }

    private boolean deviceInRange(ItsCommand c) {
        if (deviceIdBits < 32 && Integer.toUnsignedLong(c.deviceId()) >= 1L << deviceIdBits) {
            error(c.opcode(), "DeviceID " + Hex.of(c.deviceId() & 0xffffffffL) + " exceeds Devbits " + deviceIdBits);
            return false;
        }
        return true;
    }

    private Device mappedDevice(ItsCommand c) {
        Device d = devices.get(c.deviceId());
        if (d == null) {
            error(c.opcode(), "DeviceID " + Hex.of(c.deviceId() & 0xffffffffL) + " is not mapped");
        }
        return d;
    }

    private boolean eventInRange(ItsCommand c, Device d) {
        if (Integer.toUnsignedLong(c.eventId()) >= 1L << d.eventIdBits) {
            error(c.opcode(), "EventID " + c.eventId() + " exceeds the device's " + d.eventIdBits + " bits");
            return false;
        }
        return true;
    }

    private int[] ite(ItsCommand c) {
        Device d = mappedDevice(c);
        if (d == null || !eventInRange(c, d)) {
            return null;
        }
        int[] ite = d.ites.get(c.eventId());
        if (ite == null) {
            error(c.opcode(), "EventID " + c.eventId() + " of DeviceID " + Hex.of(c.deviceId()) + " is not mapped");
        }
        return ite;
    }

    /* ---------------- translation ---------------- */

    @Override
    public boolean isDoorbell(long maddr, int size) {
        return maddr == base + GITS_TRANSLATER && (size == 2 || size == 4);
    }

    @Override
    public void message(int deviceId, long maddr, int size, long value) {
        translate(deviceId, (int) value);
    }

    /**
     * A write of {@code eventId} to GITS_TRANSLATER tagged with {@code deviceId}: the LPI goes to
     * the collection's target, or the message is dropped and traced.
     */
    public void translate(int deviceId, int eventId) {
        int lpi;
        int target;
        synchronized (this) {
            String why = null;
            Device d = devices.get(deviceId);
            int[] ite = null;
            Integer t = null;
            if (!frame.enabled()) {
                why = "ITS disabled";
            } else if (d == null) {
                why = "DeviceID not mapped";
            } else if (Integer.toUnsignedLong(eventId) >= 1L << d.eventIdBits) {
                why = "EventID beyond the device's ITT";
            } else if ((ite = d.ites.get(eventId)) == null) {
                why = "EventID not mapped";
            } else if ((t = collections.get(ite[1])) == null) {
                why = "collection " + ite[1] + " not mapped";
            }
            if (why != null) {
                dropped(deviceId, eventId, why);
                return;
            }
            lpi = ite[0];
            target = t;
        }
        deliver(deviceId, eventId, lpi, target);
    }

    private void deliver(int deviceId, int eventId, int lpi, int target) {
        Trace tr = trace;
        if (tr != null && tr.enabled(TraceCategory.MSI)) {
            tr.emit(new ItsEvents.Translated(base, deviceId, eventId, lpi, target));
        }
        sink.lpi(target, lpi);
    }

    private void dropped(int deviceId, int eventId, String why) {
        LOG.debug("ITS {}: message dev {} event {} dropped: {}", Hex.of(base), Hex.of(deviceId & 0xffffffffL), eventId, why);
        Trace tr = trace;
        if (tr != null && tr.enabled(TraceCategory.IRQ)) {
            tr.emit(new ItsEvents.TranslationDropped(base, deviceId, eventId, why));
        }
    }

    private void error(int opcode, String why) {
        LOG.warn("ITS {}: command {} ignored: {}", Hex.of(base), Hex.of(opcode & 0xffffffffL), why);
        Trace tr = trace;
        if (tr != null && tr.enabled(TraceCategory.FAULT)) {
            tr.emit(new ItsEvents.CommandError(base, opcode, why));
        }
    }

    @Override
    public String toString() {
        return "ItsHardware[" + Hex.of(base) + "]";
    }
}
