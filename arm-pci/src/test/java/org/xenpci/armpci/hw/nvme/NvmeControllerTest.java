package org.xenpci.armpci.hw.nvme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.xenpci.armpci.hw.nvme.HostNvmeDriver.command;
import static org.xenpci.armpci.hw.nvme.NvmeRegisters.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.armpci.hw.ApertureKind;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.nvme.HostNvmeDriver.Completion;
import org.xenpci.armpci.hw.nvme.HostNvmeDriver.Queue;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.pci.PciRegs;

@DisplayName("NVMe controller model: a host driver brings it up through BAR0 and moves blocks by DMA")
class NvmeControllerTest {
    private static final long ECAM = 0x40_1000_0000L;
    private static final long MMIO = 0x1000_0000L;
    private static final long RAM = 0x4000_0000L;
    private static final int RAM_SIZE = 16 << 20;
    /** Admin SQ and CQ, I/O SQ and CQ, identify buffer, PRP list pages, data. */
    private static final long ASQ_ADDR = RAM;
    private static final long ACQ_ADDR = RAM + 0x1000;
    private static final long IOSQ = RAM + 0x2000;
    private static final long IOCQ = RAM + 0x3000;
    private static final long IDENT = RAM + 0x4000;
    private static final long PRP_LIST = RAM + 0x8000;
    private static final long BUF_A = RAM + 0x10_0000;
    private static final long BUF_B = RAM + 0x20_0000;
    /** Nothing claims it: DMA there is an Unsupported Request. */
    private static final long NOWHERE = 0x7000_0000L;

    private final PhysicalAddressSpace space = new PhysicalAddressSpace();
    private final SparseMemory ram = new SparseMemory(RAM_SIZE);
    private PciFunction fn;
    private NvmeController nvme;
    private HostNvmeDriver host;
    private ExecutorService pool;

    private void platform(PciFunction function) {
        fn = function;
        nvme = NvmeController.of(fn).orElseThrow();
        space.register("ram", RAM, RAM_SIZE, ram);
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L)
                .aperture(MMIO, MMIO, 0x1000_0000L, ApertureKind.MEM32, false).slot(1, 0, fn).build();
        hb.attach(space);
        fn.config().write(PciRegs.PCI_BASE_ADDRESS_0, 4, (int) MMIO);
        fn.config().write(PciRegs.PCI_BASE_ADDRESS_0 + 4, 4, 0);
        fn.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);
        host = new HostNvmeDriver(space, MMIO, ram, RAM);
    }

    private void platform() {
        platform(DeviceCatalog.QEMU_NVME.newFunction());
    }

    @AfterEach
    void stopPool() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    private Queue ioQueue() {
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        return admin.createIoPair(1, IOSQ, IOCQ, 2, 0);
    }

    private static byte[] pattern(long seed, int len) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] rw(int opcode, long slba, int blocks, long prp1, long prp2) {
        return command(opcode, 1, prp1, prp2, (int) slba, (int) (slba >>> 32), blocks - 1);
    }

    @Test
    @DisplayName("CAP, VS and the CC.EN / CSTS.RDY handshake as U-Boot reads them; CC.SHN completes at once; CC.EN 0 clears RDY")
    void registersAndHandshake() {
        platform();
        long cap = host.reg64(CAP);
        assertThat(cap & 0xffff).as("MQES").isEqualTo(0x7ff);
        assertThat(cap >>> 16 & 1).as("CQR").isEqualTo(1);
        assertThat(cap >>> 24 & 0xff).as("TO").isEqualTo(15);
        assertThat(cap >>> 32 & 0xf).as("DSTRD").isZero();
        assertThat(cap >>> 37 & 0xff).as("CSS: NVM").isEqualTo(1);
        assertThat(cap >>> 48 & 0xf).as("MPSMIN").isZero();
        assertThat(cap >>> 52 & 0xf).as("MPSMAX").isEqualTo(4);
        assertThat(host.reg(VS)).isEqualTo(0x0001_0400);
        assertThat(host.reg(CSTS)).isZero();

        host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_RDY);
        assertThat(host.reg64(ASQ)).isEqualTo(ASQ_ADDR);
        assertThat(host.reg(AQA)).isEqualTo(0x0001_0001);
        host.reg(CC, HostNvmeDriver.CC_DEFAULT | CC_EN | 1 << CC_SHN_SHIFT);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_RDY | CSTS_SHST_COMPLETE);
        host.reg(CC, HostNvmeDriver.CC_DEFAULT);
        assertThat(host.reg(CSTS)).isZero();
        assertThat(host.reg64(ASQ)).as("a controller reset keeps AQA, ASQ, ACQ").isEqualTo(ASQ_ADDR);
        assertThat(host.reg(CC)).isEqualTo(HostNvmeDriver.CC_DEFAULT);
    }

    @Test
    @DisplayName("CC.EN with no admin queue, or a page size above MPSMAX, sets CSTS.CFS and never RDY")
    void unusableEnableIsFatal() {
        platform();
        host.reg(AQA, 0x0001_0001);
        host.reg(CC, CC_EN);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_CFS);
        host.reg(CC, 0);
        host.reg64(ASQ, ASQ_ADDR);
        host.reg64(ACQ, ACQ_ADDR);
        host.reg(CC, 5 << CC_MPS_SHIFT | CC_EN);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_CFS);
        host.reg(CC, 0);
        assertThat(host.reg(CSTS)).as("reset clears CFS").isZero();
        host.reg(CC, CC_EN);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_RDY);
    }

    @Test
    @DisplayName("Identify controller, namespace and active namespace list carry the fields U-Boot and Linux read")
    void identify() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);

        assertThat(admin.run(command(ADMIN_IDENTIFY, 0, IDENT, 0, CNS_CONTROLLER)).status()).isZero();
        byte[] id = host.ramRead(IDENT, 4096);
        assertThat(id[0] & 0xff | (id[1] & 0xff) << 8).as("VID").isEqualTo(0x1b36);
        assertThat(new String(id, 4, 20, StandardCharsets.US_ASCII)).isEqualTo("XENPCI0001          ");
        assertThat(new String(id, 24, 40, StandardCharsets.US_ASCII).trim()).isEqualTo("QEMU NVMe Ctrl");
        assertThat(new String(id, 64, 8, StandardCharsets.US_ASCII)).isEqualTo("1.0     ");
        assertThat(id[77]).as("MDTS").isEqualTo((byte) NvmeController.MDTS);
        assertThat(HostNvmeDriver.getInt(id, 80)).as("VER").isEqualTo(0x0001_0400);
        assertThat(id[512]).as("SQES").isEqualTo((byte) 0x66);
        assertThat(id[513]).as("CQES").isEqualTo((byte) 0x44);
        assertThat(HostNvmeDriver.getInt(id, 516)).as("NN").isEqualTo(1);
        assertThat(id[525]).as("VWC").isEqualTo((byte) 1);

        assertThat(admin.run(command(ADMIN_IDENTIFY, 1, IDENT, 0, CNS_NAMESPACE)).status()).isZero();
        byte[] ns = host.ramRead(IDENT, 4096);
        long blocks = (64L << 20) / 512;
        assertThat(HostNvmeDriver.getLong(ns, 0)).as("NSZE").isEqualTo(blocks);
        assertThat(HostNvmeDriver.getLong(ns, 8)).as("NCAP").isEqualTo(blocks);
        assertThat(ns[26]).as("FLBAS").isZero();
        assertThat(ns[128 + 2]).as("LBAF0.LBADS").isEqualTo((byte) 9);

        assertThat(admin.run(command(ADMIN_IDENTIFY, 0, IDENT, 0, CNS_ACTIVE_NAMESPACES)).status()).isZero();
        byte[] list = host.ramRead(IDENT, 4096);
        assertThat(HostNvmeDriver.getInt(list, 0)).isEqualTo(1);
        assertThat(Arrays.copyOfRange(list, 4, 4096)).containsOnly(0);
        assertThat(admin.run(command(ADMIN_IDENTIFY, 1, IDENT, 0, CNS_ACTIVE_NAMESPACES)).status()).isZero();
        assertThat(host.ramRead(IDENT, 4096)).as("no active NSID above 1").containsOnly(0);

        assertThat(admin.run(command(ADMIN_IDENTIFY, 1, IDENT, 0, CNS_NS_DESCRIPTORS)).status()).isZero();
        byte[] desc = host.ramRead(IDENT, 4096);
        assertThat(desc[0]).as("NIDT NGUID").isEqualTo((byte) 2);
        assertThat(desc[1]).as("NIDL").isEqualTo((byte) 16);
        assertThat(Arrays.copyOfRange(desc, 4, 20)).as("the NGUID Identify Namespace reports").isEqualTo(Arrays.copyOfRange(ns, 104, 120));
        assertThat(admin.run(command(ADMIN_GET_FEATURES, 0, 0, 0, 3 << 8 | FEAT_NUM_QUEUES)).dw0()).as("SEL 3: changeable")
                .isEqualTo(4);
        assertThat(admin.run(command(ADMIN_GET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES)).dw0()).as("64 of each by default")
                .isEqualTo(63 << 16 | 63);
        assertThat(admin.run(command(ADMIN_IDENTIFY, 2, IDENT, 0, CNS_NAMESPACE)).code()).isEqualTo(NvmeStatus.INVALID_NAMESPACE);
        assertThat(admin.run(command(ADMIN_IDENTIFY, 0, IDENT, 0, 0x10)).code()).isEqualTo(NvmeStatus.INVALID_FIELD);
    }

    @Test
    @DisplayName("Identify into a buffer at an offset splits across PRP1 and PRP2 as U-Boot's nvme_identify sets them")
    void identifyAcrossTwoPages() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        long buf = IDENT + 0x800;
        assertThat(admin.run(command(ADMIN_IDENTIFY, 0, buf, IDENT + 0x1000, CNS_CONTROLLER)).status()).isZero();
        byte[] id = host.ramRead(buf, 4096);
        assertThat(HostNvmeDriver.getInt(id, 516)).as("NN, in the second page").isEqualTo(1);
        assertThat(admin.run(command(ADMIN_IDENTIFY, 0, buf, IDENT + 0x1008, CNS_CONTROLLER)).code())
                .as("PRP2 with an offset").isEqualTo(NvmeStatus.INVALID_PRP_OFFSET);
    }

    @Test
    @DisplayName("Number of Queues, I/O queue pair, write a block, read it back into another buffer")
    void writeAndReadBack() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        Completion nq = admin.run(command(ADMIN_SET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES, 3 << 16 | 3));
        assertThat(nq.status()).isZero();
        assertThat(nq.dw0()).as("NSQA, NCQA 0's based").isEqualTo(3 << 16 | 3);
        assertThat(admin.run(command(ADMIN_GET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES)).dw0()).isEqualTo(3 << 16 | 3);
        Queue io = admin.createIoPair(1, IOSQ, IOCQ, 2, 0);

        byte[] block = pattern(11, 512);
        host.ramWrite(BUF_A, block);
        assertThat(io.run(rw(NVM_WRITE, 42, 1, BUF_A, 0)).status()).isZero();
        assertThat(nvme.namespace().readBlocks(42, 1)).isEqualTo(block);
        assertThat(io.run(rw(NVM_READ, 42, 1, BUF_B, 0)).status()).isZero();
        assertThat(host.ramRead(BUF_B, 512)).isEqualTo(block);
        assertThat(io.run(command(NVM_FLUSH, 1, 0, 0)).status()).isZero();
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ + 0x1000, 0, 1 << 16 | 5, 3)).code())
                .as("QID 5 above the 4 allocated").isEqualTo(NvmeStatus.INVALID_QUEUE_ID);
        assertThat(admin.run(command(ADMIN_SET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES, 0)).code())
                .as("after I/O queues exist").isEqualTo(NvmeStatus.COMMAND_SEQUENCE_ERROR);
    }

    @Test
    @DisplayName("a 5-page transfer at an offset goes through a PRP list; a list pointer at a page's end chains to the next list page")
    void prpLists() {
        platform();
        Queue io = ioQueue();
        int len = 5 * 4096; // 40 blocks: PRP1 at +0x200 then 5 more pages
        byte[] data = pattern(5, len);
        long start = BUF_A + 0x200;
        host.ramWrite(start, data);
        byte[] list = new byte[5 * 8];
        for (int i = 0; i < 5; i++) {
            HostNvmeDriver.putLong(list, 8 * i, BUF_A + 0x1000L * (i + 1));
        }
        host.ramWrite(PRP_LIST, list);
        assertThat(io.run(rw(NVM_WRITE, 100, 40, start, PRP_LIST)).status()).isZero();
        assertThat(nvme.namespace().readBlocks(100, 40)).isEqualTo(data);

        // Read back into scattered pages: the list pointer sits 16 bytes before its page's end,
        // so its second entry is a pointer to the rest of the list (NVMe Base 1.4, 4.3).
        long[] pages = {BUF_B + 0x5000, BUF_B + 0x3000, BUF_B + 0x9000, BUF_B + 0x1000, BUF_B + 0x7000};
        long listPtr = PRP_LIST + 0x1000 - 16;
        byte[] first = new byte[16];
        HostNvmeDriver.putLong(first, 0, pages[1]);
        HostNvmeDriver.putLong(first, 8, PRP_LIST + 0x2000);
        host.ramWrite(listPtr, first);
        byte[] rest = new byte[24];
        for (int i = 0; i < 3; i++) {
            HostNvmeDriver.putLong(rest, 8 * i, pages[i + 2]);
        }
        host.ramWrite(PRP_LIST + 0x2000, rest);
        assertThat(io.run(rw(NVM_READ, 100, 32, pages[0], listPtr)).status()).isZero();
        for (int i = 0; i < 4; i++) {
            assertThat(host.ramRead(pages[i], 4096)).as("page %d", i).isEqualTo(Arrays.copyOfRange(data, 4096 * i, 4096 * (i + 1)));
        }
        assertThat(host.ramRead(pages[4], 8)).as("32 blocks end at page 3").containsOnly(0);
    }

    @Test
    @DisplayName("unknown opcodes, bad namespaces, LBA out of range, transfers above MDTS and bad queue commands complete with the spec's statuses and change nothing")
    void statuses() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        Completion c = admin.run(command(0x7f, 0, 0, 0));
        assertThat(c.code()).as("Invalid Command Opcode, SCT 0").isEqualTo(0x001);
        assertThat(c.status() & NvmeStatus.DNR).isNotZero();
        assertThat(admin.run(command(ADMIN_GET_FEATURES, 0, 0, 0, 0x06)).code()).isEqualTo(NvmeStatus.INVALID_FIELD);
        assertThat(admin.run(command(ADMIN_SET_FEATURES, 0, 0, 0, 0x0b, 0)).code()).isEqualTo(NvmeStatus.INVALID_FIELD);
        assertThat(admin.run(command(ADMIN_GET_LOG_PAGE, 0, IDENT, 0, 0x02)).code()).isEqualTo(NvmeStatus.INVALID_LOG_PAGE);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 1 << 16, 3)).code()).as("QID 0")
                .isEqualTo(NvmeStatus.INVALID_QUEUE_ID);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 1, 3)).code()).as("QSIZE 0")
                .isEqualTo(NvmeStatus.INVALID_QUEUE_SIZE);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 0x800 << 16 | 1, 3)).code()).as("above MQES")
                .isEqualTo(NvmeStatus.INVALID_QUEUE_SIZE);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 1 << 16 | 1, 2)).code()).as("not contiguous")
                .isEqualTo(NvmeStatus.INVALID_FIELD);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ + 8, 0, 1 << 16 | 1, 3)).code())
                .isEqualTo(NvmeStatus.INVALID_PRP_OFFSET);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 1 << 16 | 1, 65 << 16 | 3)).code())
                .as("vector 65 of 65 MSI-X entries").isEqualTo(NvmeStatus.INVALID_INTERRUPT_VECTOR);
        assertThat(admin.run(command(ADMIN_CREATE_SQ, 0, IOSQ, 0, 1 << 16 | 1, 1 << 16 | 1)).code())
                .isEqualTo(NvmeStatus.CQ_INVALID);
        assertThat(admin.run(command(ADMIN_DELETE_SQ, 0, 0, 0, 1)).code()).isEqualTo(NvmeStatus.INVALID_QUEUE_ID);
        Queue io = admin.createIoPair(1, IOSQ, IOCQ, 2, 0);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ, 0, 1 << 16 | 1, 3)).code()).as("CQ 1 exists")
                .isEqualTo(NvmeStatus.INVALID_QUEUE_ID);
        assertThat(admin.run(command(ADMIN_DELETE_CQ, 0, 0, 0, 1)).code()).isEqualTo(NvmeStatus.INVALID_QUEUE_DELETION);

        byte[] before = nvme.namespace().readBlocks(0, 1);
        host.ramWrite(BUF_A, pattern(1, 512));
        long last = nvme.namespace().blocks() - 1;
        assertThat(io.run(command(0x7e, 1, 0, 0)).code()).isEqualTo(NvmeStatus.INVALID_OPCODE);
        assertThat(io.run(rw(NVM_WRITE, last, 2, BUF_A, BUF_A + 0x1000)).code()).isEqualTo(NvmeStatus.LBA_OUT_OF_RANGE);
        assertThat(io.run(rw(NVM_WRITE, -1L, 1, BUF_A, 0)).code()).as("SLBA 2^64-1").isEqualTo(NvmeStatus.LBA_OUT_OF_RANGE);
        assertThat(io.run(command(NVM_WRITE, 2, BUF_A, 0, 0, 0, 0)).code()).isEqualTo(NvmeStatus.INVALID_NAMESPACE);
        assertThat(io.run(rw(NVM_READ, 0, 257, BUF_A, PRP_LIST)).code()).as("above MDTS").isEqualTo(NvmeStatus.INVALID_FIELD);
        assertThat(io.run(rw(NVM_WRITE, 0, 1, BUF_A + 2, 0)).code()).as("PRP1 not dword aligned")
                .isEqualTo(NvmeStatus.INVALID_PRP_OFFSET);
        assertThat(nvme.namespace().readBlocks(0, 1)).isEqualTo(before);
        assertThat(nvme.namespace().readBlocks(last, 1)).containsOnly(0);

        assertThat(admin.run(command(ADMIN_DELETE_SQ, 0, 0, 0, 1)).status()).isZero();
        assertThat(admin.run(command(ADMIN_DELETE_CQ, 0, 0, 0, 1)).status()).isZero();
        assertThat(admin.run(command(ADMIN_ABORT, 0, 0, 0, 1)).dw0() & 1).as("nothing to abort").isEqualTo(1);
    }

    @Test
    @DisplayName("a data DMA that faults completes with Data Transfer Error, leaves the namespace alone and the controller running")
    void dataFaultIsDataTransferError() {
        platform();
        Queue io = ioQueue();
        Completion c = io.run(rw(NVM_WRITE, 7, 1, NOWHERE, 0));
        assertThat(c.code()).isEqualTo(NvmeStatus.DATA_TRANSFER_ERROR);
        assertThat(nvme.lastFault()).get().extracting(DmaResult.Fault::reason).isEqualTo(DmaResult.Reason.UNSUPPORTED_REQUEST);
        assertThat(nvme.namespace().readBlocks(7, 1)).containsOnly(0);
        assertThat(io.run(rw(NVM_READ, 7, 16, BUF_A, NOWHERE)).code()).as("PRP list fetch faults")
                .isEqualTo(NvmeStatus.DATA_TRANSFER_ERROR);
        assertThat(nvme.ready()).isTrue();
        assertThat(nvme.fatal()).isFalse();
        host.ramWrite(BUF_A, pattern(3, 512));
        assertThat(io.run(rw(NVM_WRITE, 7, 1, BUF_A, 0)).status()).isZero();
    }

    @Test
    @DisplayName("a submission-entry fetch that faults cannot be reported in a CQ: CSTS.CFS, processing stops until a reset")
    void queueFetchFaultIsFatal() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        admin.createIoPair(1, IOSQ, IOCQ, 2, 0);
        assertThat(admin.run(command(ADMIN_CREATE_CQ, 0, IOCQ + 0x1000, 0, 1 << 16 | 2, 3)).status()).isZero();
        assertThat(admin.run(command(ADMIN_CREATE_SQ, 0, NOWHERE, 0, 1 << 16 | 2, 2 << 16 | 1)).status()).isZero();
        host.reg(DOORBELLS + 8 * 2, 1);
        assertThat(host.reg(CSTS)).isEqualTo(CSTS_RDY | CSTS_CFS);
        assertThat(nvme.lastFault()).get().extracting(DmaResult.Fault::address).isEqualTo(NOWHERE);
        admin.submit(command(ADMIN_IDENTIFY, 0, IDENT, 0, CNS_CONTROLLER));
        assertThat(admin.poll()).as("a fatal controller processes nothing").isNull();

        Queue again = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        assertThat(again.run(command(ADMIN_IDENTIFY, 0, IDENT, 0, CNS_CONTROLLER)).status()).isZero();
    }

    @Test
    @DisplayName("with COMMAND.MASTER clear nothing leaves the device: the admin fetch faults (CFS)")
    void busMasterOff() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        fn.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        admin.submit(command(ADMIN_IDENTIFY, 0, IDENT, 0, CNS_CONTROLLER));
        assertThat(nvme.fatal()).isTrue();
        assertThat(nvme.lastFault()).get().extracting(DmaResult.Fault::reason).isEqualTo(DmaResult.Reason.BUS_MASTER_OFF);
        assertThat(host.ramRead(IDENT, 16)).containsOnly(0);
    }

    @Test
    @DisplayName("a full completion queue holds the submission queue until the host moves the CQ head")
    void fullCqWaitsForHeadDoorbell() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 4);
        admin.createIoPair(1, IOSQ, IOCQ, 2, 0); // CQ of 2 entries holds 1
        // Fill the admin CQ (4 entries, 3 usable) without consuming: 4 commands, 3 complete.
        for (int i = 0; i < 3; i++) {
            admin.submit(command(ADMIN_GET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES));
        }
        long done = nvme.commandsProcessed();
        // The SQ has 4 entries, so only 3 can be outstanding: consume one, then submit.
        assertThat(admin.poll()).isNotNull();
        admin.submit(command(ADMIN_GET_FEATURES, 0, 0, 0, FEAT_NUM_QUEUES));
        assertThat(nvme.commandsProcessed()).isEqualTo(done + 1);
        assertThat(admin.poll()).isNotNull();
        assertThat(admin.poll()).isNotNull();
        assertThat(admin.poll()).isNotNull();
        assertThat(admin.poll()).isNull();
    }

    @Test
    @DisplayName("a completion stalls while its CQ is full and is posted when the head doorbell frees an entry")
    void stallAndResume() {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        Queue io = admin.createIoPair(1, IOSQ, IOCQ, 2, 0);
        Queue io2 = new HostNvmeDriver(space, MMIO, ram, RAM).new Queue(1, IOSQ, IOCQ, 2);
        host.ramWrite(BUF_A, pattern(9, 512));
        io.submit(rw(NVM_WRITE, 1, 1, BUF_A, 0)); // completes into the CQ's only usable slot
        io.submit(rw(NVM_WRITE, 2, 1, BUF_A, 0)); // waits: the CQ is full
        assertThat(nvme.namespace().readBlocks(2, 1)).containsOnly(0);
        assertThat(io2).isNotNull();
        assertThat(io.poll()).isNotNull(); // head doorbell: the second command runs
        assertThat(nvme.namespace().readBlocks(2, 1)).isEqualTo(host.ramRead(BUF_A, 512));
        assertThat(io.poll()).isNotNull();
    }

    @Test
    @DisplayName("with MSI-X enabled a completion writes its vector's message; a masked vector pends")
    void msixMessagePerCompletion() {
        platform();
        int msix = fn.capability(PciRegs.PCI_CAP_ID_MSIX, false).orElseThrow().offset();
        long mailbox = RAM + 0x7000;
        fn.barWrite(0, 0x2000 + 16, 8, mailbox);
        fn.barWrite(0, 0x2000 + 16 + 8, 4, 0x55);
        fn.barWrite(0, 0x2000 + 16 + 12, 4, 0);
        fn.config().write(msix + PciRegs.PCI_MSIX_FLAGS, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        Queue io = admin.createIoPair(1, IOSQ, IOCQ, 2, 1);
        long before = nvme.interruptsSignalled();
        assertThat(io.run(command(NVM_FLUSH, 1, 0, 0)).status()).isZero();
        assertThat(ram.read(mailbox - RAM, 4)).isEqualTo(0x55);
        assertThat(nvme.interruptsSignalled()).isEqualTo(before + 1);
        assertThat(nvme.intxAsserted()).isFalse();

        ram.write(mailbox - RAM, 4, 0);
        fn.barWrite(0, 0x2000 + 16 + 12, 4, 1);
        assertThat(io.run(command(NVM_FLUSH, 1, 0, 0)).status()).isZero();
        assertThat(ram.read(mailbox - RAM, 4)).isZero();
        assertThat(fn.msixPending(1)).isTrue();
    }

    @Test
    @DisplayName("without MSI-X the pin-based interrupt is asserted while a completion is unconsumed, masked by INTMS, unmasked by INTMC")
    void intxWithoutMessages() {
        platform();
        Queue io = ioQueue();
        assertThat(nvme.intxAsserted()).isFalse();
        io.submit(command(NVM_FLUSH, 1, 0, 0));
        assertThat(nvme.intxAsserted()).isTrue();
        assertThat(fn.config().read(PciRegs.PCI_STATUS, 2) & PciRegs.PCI_STATUS_INTERRUPT).isNotZero();
        host.reg(INTMS, 1);
        assertThat(host.reg(INTMS)).isEqualTo(1);
        assertThat(nvme.intxAsserted()).isFalse();
        host.reg(INTMC, 1);
        assertThat(nvme.intxAsserted()).isTrue();
        assertThat(io.poll()).isNotNull();
        assertThat(nvme.intxAsserted()).as("consumed").isFalse();
        assertThat(fn.config().read(PciRegs.PCI_STATUS, 2) & PciRegs.PCI_STATUS_INTERRUPT).isZero();
        assertThat(nvme.interruptsSignalled()).isZero();
    }

    @Test
    @DisplayName("a Function Level Reset returns the controller to power-on: CC, CSTS, admin queue registers 0")
    void flrResetsTheController() {
        platform();
        ioQueue();
        fn.functionLevelReset();
        fn.config().write(PciRegs.PCI_BASE_ADDRESS_0, 4, (int) MMIO);
        fn.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);
        assertThat(host.reg(CC)).isZero();
        assertThat(host.reg(CSTS)).isZero();
        assertThat(host.reg64(ASQ)).isZero();
        assertThat(host.reg(AQA)).isZero();
        Queue io = ioQueue();
        assertThat(io.run(command(NVM_FLUSH, 1, 0, 0)).status()).isZero();
    }

    @Test
    @DisplayName("a file-backed namespace holds what the host wrote; Flush forces it")
    void fileNamespace(@TempDir Path dir) throws Exception {
        Path disk = dir.resolve("disk.img");
        PciFunction f = DeviceCatalog.QEMU_NVME.image().newFunction();
        NvmeController.install(f, NvmeNamespace.file(disk, 2048), new NvmeIdentity("SN-FILE", "xenpci file disk", "2"));
        platform(f);
        assertThat(Files.size(disk)).isEqualTo(2048 * 512L);
        Queue io = ioQueue();
        byte[] data = pattern(21, 1024);
        host.ramWrite(BUF_A, data);
        assertThat(io.run(rw(NVM_WRITE, 2046, 2, BUF_A, 0)).status()).isZero();
        assertThat(io.run(command(NVM_FLUSH, 0xffff_ffff, 0, 0)).status()).isZero();
        assertThat(Arrays.copyOfRange(Files.readAllBytes(disk), 2046 * 512, 2048 * 512)).isEqualTo(data);
        assertThat(io.run(rw(NVM_READ, 2047, 2, BUF_B, 0)).code()).isEqualTo(NvmeStatus.LBA_OUT_OF_RANGE);
    }

    @Test
    @DisplayName("misuse at build time is a typed error: no BAR0 room, a second model, bad identity strings or sizes")
    void buildErrors() {
        PciFunction f = DeviceCatalog.QEMU_NVME.newFunction();
        assertThatThrownBy(() -> NvmeController.install(f, NvmeNamespace.ram(8), NvmeIdentity.defaults()))
                .isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> NvmeController.install(DeviceCatalog.PCI_SERIAL_FN1.newFunction(), NvmeNamespace.ram(8),
                NvmeIdentity.defaults())).isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> new NvmeIdentity("x".repeat(21), "m", "f")).isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> new NvmeIdentity("s", "m\u00e9", "f")).isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> NvmeNamespace.ram(0)).isInstanceOf(HardwareConfigException.class);
        assertThatThrownBy(() -> NvmeNamespace.ram(8).writeBlocks(7, new byte[1024])).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(NvmeController.of(DeviceCatalog.E1000E.newFunction())).isEmpty();
        assertThat(DeviceCatalog.installDeviceModel(DeviceCatalog.E1000E.newFunction())).as("not an NVMe").isFalse();
        assertThat(DeviceCatalog.installDeviceModel(f)).as("already has one").isFalse();
        PciFunction fromDump = PciFunction.fromConfig(DeviceCatalog.QEMU_NVME.dump().config(), DeviceCatalog.QEMU_NVME.barSizes(), 0);
        assertThat(NvmeController.of(fromDump)).isEmpty();
        assertThat(DeviceCatalog.installDeviceModel(fromDump)).as("a platform file's QEMU NVMe").isTrue();
        assertThat(NvmeController.of(fromDump)).get().extracting(c -> c.namespace().blocks()).isEqualTo(131072L);
    }

    @Test
    @DisplayName("four vCPU threads, each with its own I/O queue pair, write and read back 200 blocks each concurrently (seed 1234)")
    void concurrentQueues() throws Exception {
        platform();
        Queue admin = host.enable(ASQ_ADDR, ACQ_ADDR, 2);
        int threads = 4;
        List<Queue> queues = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = RAM + 0x40_0000L + 0x10_0000L * t;
            queues.add(admin.createIoPair(t + 1, base, base + 0x1000, 4, 0));
        }
        pool = Executors.newFixedThreadPool(threads);
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            results.add(pool.submit(() -> {
                Queue q = queues.get(id);
                long base = RAM + 0x40_0000L + 0x10_0000L * id;
                Random r = new Random(1234 + id);
                start.await();
                int ok = 0;
                for (int i = 0; i < 200; i++) {
                    long lba = id * 1000L + i;
                    byte[] block = new byte[512];
                    r.nextBytes(block);
                    host.ramWrite(base + 0x2000, block);
                    if (q.run(rw(NVM_WRITE, lba, 1, base + 0x2000, 0)).ok()
                            && q.run(rw(NVM_READ, lba, 1, base + 0x3000, 0)).ok()
                            && Arrays.equals(host.ramRead(base + 0x3000, 512), block)) {
                        ok++;
                    }
                }
                return ok;
            }));
        }
        for (Future<Integer> f : results) {
            assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(200);
        }
        assertThat(nvme.fatal()).isFalse();
    }

}
