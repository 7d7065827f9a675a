package org.xenpci.armpci.hw.nvme;

import static org.assertj.core.api.Assertions.assertThat;

import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.SparseMemory;

/**
 * A minimal NVMe host driver for tests, programming the controller as U-Boot's
 * drivers/nvme/nvme.c and Linux's drivers/nvme/host/pci.c do: CPU loads and stores to BAR0
 * through the physical address space, queues and buffers in RAM. One driver drives one queue
 * pair per instance of {@link Queue}; queues are not shared between threads.
 */
final class HostNvmeDriver {
    final PhysicalAddressSpace space;
    final long bar;
    final SparseMemory ram;
    final long ramBase;

    HostNvmeDriver(PhysicalAddressSpace space, long bar, SparseMemory ram, long ramBase) {
        this.space = space;
        this.bar = bar;
        this.ram = ram;
        this.ramBase = ramBase;
    }

    long reg64(int off) {
        return space.read(bar + off, 8);
    }

    int reg(int off) {
        return (int) space.read(bar + off, 4);
    }

    void reg(int off, int v) {
        space.write(bar + off, 4, Integer.toUnsignedLong(v));
    }

    void reg64(int off, long v) {
        space.write(bar + off, 8, v);
    }

    /** CC as U-Boot's nvme_configure_admin_queue writes it: NVM, 4 KiB pages, RR, IOSQES 6, IOCQES 4. */
    static final int CC_DEFAULT = 6 << NvmeRegisters.CC_IOSQES_SHIFT | 4 << NvmeRegisters.CC_IOCQES_SHIFT;

    /** Disables, programs the admin queues at {@code asq}/{@code acq} (bus addresses) and enables. */
    Queue enable(long asq, long acq, int depth) {
        reg(NvmeRegisters.CC, 0);
        assertThat(reg(NvmeRegisters.CSTS) & NvmeRegisters.CSTS_RDY).isZero();
        reg(NvmeRegisters.AQA, (depth - 1) << 16 | (depth - 1));
        reg64(NvmeRegisters.ASQ, asq);
        reg64(NvmeRegisters.ACQ, acq);
        reg(NvmeRegisters.CC, CC_DEFAULT | NvmeRegisters.CC_EN);
        assertThat(reg(NvmeRegisters.CSTS) & 3).as("CSTS RDY, not CFS").isEqualTo(NvmeRegisters.CSTS_RDY);
        return new Queue(0, asq, acq, depth);
    }

    void ramWrite(long busAddr, byte[] data) {
        ram.writeBytes(busAddr - ramBase, data);
    }

    byte[] ramRead(long busAddr, int len) {
        return ram.readBytes(busAddr - ramBase, len);
    }

    /** One completion queue entry as the host reads it. */
    record Completion(int dw0, int sqHead, int sqId, int cid, int status) {
        boolean ok() {
            return status == 0;
        }

        /** Status without DNR/More/CRD: SCT << 8 | SC. */
        int code() {
            return status & 0x7ff;
        }
    }

    /** A 64-byte submission queue entry. */
    static byte[] command(int opcode, int nsid, long prp1, long prp2, int... cdw10to15) {
        byte[] c = new byte[64];
        c[0] = (byte) opcode;
        putInt(c, 4, nsid);
        putLong(c, 24, prp1);
        putLong(c, 32, prp2);
        for (int i = 0; i < cdw10to15.length; i++) {
            putInt(c, 40 + 4 * i, cdw10to15[i]);
        }
        return c;
    }

    /** A submission/completion queue pair with the host's view of head, tail and phase. */
    final class Queue {
        final int qid;
        final long sq;
        final long cq;
        final int depth;
        int sqTail;
        int cqHead;
        boolean phase = true;
        int nextCid = 1;

        Queue(int qid, long sq, long cq, int depth) {
            this.qid = qid;
            this.sq = sq;
            this.cq = cq;
            this.depth = depth;
        }

        /** Copies {@code cmd} into the SQ (with a fresh CID) and rings the tail doorbell. */
        int submit(byte[] cmd) {
            int cid = nextCid++ & 0xffff;
            cmd[2] = (byte) cid;
            cmd[3] = (byte) (cid >>> 8);
            ramWrite(sq + 64L * sqTail, cmd);
            sqTail = (sqTail + 1) % depth;
            reg(NvmeRegisters.DOORBELLS + 8 * qid, sqTail);
            return cid;
        }

        /** The next completion if its phase tag says it is new, consuming it and ringing the CQ head doorbell. */
        Completion poll() {
            // The phase tag first, the rest of the entry after it (the device writes it last), as
            // Linux's nvme_cqe_pending then nvme_handle_cqe do.
            long at = cq + 16L * cqHead - ramBase;
            if (((ram.read(at + 14, 1) & 1) == 1) != phase) {
                return null;
            }
            byte[] e = ram.readBytes(at, 16);
            int dw3 = getInt(e, 12);
            Completion c = new Completion(getInt(e, 0), getInt(e, 8) & 0xffff, getInt(e, 8) >>> 16, dw3 & 0xffff, dw3 >>> 17);
            cqHead = (cqHead + 1) % depth;
            if (cqHead == 0) {
                phase = !phase;
            }
            reg(NvmeRegisters.DOORBELLS + 8 * qid + 4, cqHead);
            return c;
        }

        /**
         * Submits and returns its completion. From a single thread the model has posted it when
         * the doorbell write returns; if another thread was processing the controller at that
         * moment, that thread posts it, so poll as a driver would (up to 10 s).
         */
        Completion run(byte[] cmd) {
            int cid = submit(cmd);
            Completion c = poll();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (c == null && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                c = poll();
            }
            assertThat(c).as("completion of CID %d on queue %d", cid, qid).isNotNull();
            assertThat(c.cid()).isEqualTo(cid);
            assertThat(c.sqId()).isEqualTo(qid);
            return c;
        }

        /** Create I/O CQ then SQ {@code id} (contiguous, interrupts enabled, vector {@code vector}). */
        Queue createIoPair(int id, long ioSq, long ioCq, int ioDepth, int vector) {
            Completion c = run(command(NvmeRegisters.ADMIN_CREATE_CQ, 0, ioCq, 0, (ioDepth - 1) << 16 | id, vector << 16 | 3));
            assertThat(c.status()).as("create CQ %d", id).isZero();
            c = run(command(NvmeRegisters.ADMIN_CREATE_SQ, 0, ioSq, 0, (ioDepth - 1) << 16 | id, id << 16 | 1));
            assertThat(c.status()).as("create SQ %d", id).isZero();
            return new Queue(id, ioSq, ioCq, ioDepth);
        }
    }

    static int getInt(byte[] b, int at) {
        return b[at] & 0xff | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static long getLong(byte[] b, int at) {
        return Integer.toUnsignedLong(getInt(b, at)) | (long) getInt(b, at + 4) << 32;
    }

    static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    static void putLong(byte[] b, int at, long v) {
        putInt(b, at, (int) v);
        putInt(b, at + 4, (int) (v >>> 32));
    }
}
