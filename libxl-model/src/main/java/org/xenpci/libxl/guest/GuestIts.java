package org.xenpci.libxl.guest;

import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Vcpu;

/**
 * A guest's driver for one GICv3 ITS of its device tree, doing what Linux's
 * {@code irq-gic-v3-its.c} does, through MMIO loads and stores and its own RAM only:
 * <ol>
 * <li>{@link #init}: checks GITS_TYPER answers, points GITS_CBASER at a one-page command queue
 *     in guest RAM, enables the ITS (GITS_CTLR.Enabled), and maps one collection per vCPU
 *     (MAPC collection {@code c} to vCPU {@code c}, RDbase = processor number because
 *     GITS_TYPER.PTA = 0), then SYNC.</li>
 * <li>{@link #mapDevice}: allocates LPIs (from 8192 upward, never reused), MAPD with an ITT in
 *     guest RAM, MAPTI of event {@code k} to LPI {@code first + k} in collection
 *     {@code k % vcpus}, then SYNC.</li>
 * </ol>
 * Every command is posted on its own (write it at GITS_CWRITER's offset in the queue, advance
 * GITS_CWRITER) and the driver then reads GITS_CREADR back, as {@code its_send_single_command}
 * waits for the ITS to consume it; the vITS processes synchronously, so one read suffices.
 *
 * <p>Guest memory used (documented in docs/cli-toolstack.md): the command queue is the page at
 * {@code ram0 + 0x100000} (the first page above the guest's first megabyte of RAM bank 0; the
 * hypercall scratch page {@code HardwareDomainGuest.scratchPage} is the LAST page of that bank,
 * so they cannot meet in any bank of at least 2 MiB), and ITTs follow it, 256-byte aligned, 8
 * bytes per event (GITS_TYPER.ITT_entry_size + 1). GITS_BASER tables are not allocated: the
 * modelled ITS keeps its tables as state (docs/msi.md section 3).
 *
 * <p>Not thread-safe: one guest vCPU drives it during the reference guest's probe.
 */
public final class GuestIts {
    /** Offset of the command queue page from the base of RAM bank 0 (bytes). */
    public static final long QUEUE_OFFSET = 0x100000;
    /** Command queue size in bytes (one page: GITS_CBASER.Size = 0). */
    public static final int QUEUE_SIZE = 4096;
    /** First LPI INTID a guest hands out (GICv3: LPIs start at 8192). */
    public static final int FIRST_LPI = ItsRegs.LPI_OFFSET;
    private static final int ITT_ENTRY_SIZE = 8;
    private static final int ITT_ALIGN = 256;

    private final Vcpu vcpu;
    private final long base;
    private final long queue;
    private final int vcpus;
    private long writer;
    private long nextItt;
    private int nextLpi = FIRST_LPI;
    private boolean broken;

    /**
     * @param vcpu the vCPU whose loads and stores drive the ITS
     * @param base guest-physical base of the ITS (its DT {@code reg})
     * @param ram0 guest-physical base of RAM bank 0
     */
    GuestIts(Vcpu vcpu, long base, long ram0) {
        this.vcpu = vcpu;
        this.base = base;
        this.queue = ram0 + QUEUE_OFFSET;
        this.vcpus = vcpu.domain().vcpus().size();
        this.nextItt = queue + QUEUE_SIZE;
    }

    /** The ITS doorbell a device must write: base + GITS_TRANSLATER. */
    public long doorbell() {
        return base + ItsRegs.GITS_TRANSLATER;
    }

    /**
     * Brings the ITS up and maps a collection per vCPU.
     *
     * @return false if the ITS does not answer (a register access aborted or reads all-ones, or
     *         it does not report itself enabled): the guest then uses no MSIs through it
     */
    boolean init() {
        long typer = read(ItsRegs.GITS_TYPER, 8);
        if (broken || typer == -1L || (typer & ItsRegs.GITS_TYPER_PHYSICAL) == 0) {
            return false;
        }
        // Linux its_probe_one: disable, program CBASER (queue base, Size = pages - 1), CWRITER 0, enable.
        write(ItsRegs.GITS_CTLR, 4, 0);
        write(ItsRegs.GITS_CBASER, 8, ItsRegs.GITS_CBASER_VALID | queue);
        write(ItsRegs.GITS_CWRITER, 8, 0);
        writer = 0;
        write(ItsRegs.GITS_CTLR, 4, ItsRegs.GITS_CTLR_ENABLED);
        if (broken || (read(ItsRegs.GITS_CTLR, 4) & ItsRegs.GITS_CTLR_ENABLED) == 0) {
            broken = true;
            return false;
        }
        for (int c = 0; c < vcpus; c++) {
            send(ItsCommand.mapc(c, c, true));
        }
        send(ItsCommand.sync(0));
        return !broken;
    }

    /**
     * Maps {@code deviceId} with {@code events} events, event {@code k} to a fresh LPI in
     * collection {@code k % vcpus}.
     *
     * @return the first LPI (event k has LPI first + k), or -1 if the ITS failed
     */
    int mapDevice(int deviceId, int events) {
        return mapDevice(deviceId, events, events);
    }

    /**
     * Maps {@code deviceId} with an ITT for {@code ittEvents} events and maps (MAPTI) only the
     * first {@code mapped} of them, event {@code k} to a fresh LPI in collection {@code k % vcpus}:
     * Linux sizes a device's ITT for every vector it could use ({@code its_pci_msi_prepare}:
     * {@code pci_msi_vec_count}) and maps the vectors the driver enables.
     *
     * @return the first LPI (event k has LPI first + k), or -1 if the ITS failed
     */
    int mapDevice(int deviceId, int ittEvents, int mapped) {
        int events = mapped;
        int bits = Math.max(1, 32 - Integer.numberOfLeadingZeros(Math.max(ittEvents, mapped) - 1));
        long itt = nextItt;
        nextItt = align(itt + ((long) ITT_ENTRY_SIZE << bits), ITT_ALIGN);
        int first = nextLpi;
        nextLpi += events;
        send(ItsCommand.mapd(deviceId, bits, itt, true));
        for (int k = 0; k < events; k++) {
            send(ItsCommand.mapti(deviceId, k, first + k, k % vcpus));
        }
        send(ItsCommand.sync(0));
        return broken ? -1 : first;
    }

    /** Number of vCPUs (= collections) the driver mapped. */
    int vcpus() {
        return vcpus;
    }

    private void send(ItsCommand c) {
        if (broken || !vcpu.domain().p2m().copyToGuest(queue + writer, c.toBytes())) {
            broken = true;
            return;
        }
        writer = (writer + ItsRegs.ITS_CMD_SIZE) % QUEUE_SIZE;
        write(ItsRegs.GITS_CWRITER, 8, writer);
        if (read(ItsRegs.GITS_CREADR, 8) != writer) {
            broken = true; // the ITS did not consume the command (stalled or absent)
        }
    }

    private long read(int reg, int size) {
        long v = vcpu.mmioRead(base + reg, size);
        if (vcpu.takeDataAbort() != null) {
            broken = true;
            return -1L;
        }
        return v;
    }

    private void write(int reg, int size, long value) {
        vcpu.mmioWrite(base + reg, size, value);
        if (vcpu.takeDataAbort() != null) {
            broken = true;
        }
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }
}
