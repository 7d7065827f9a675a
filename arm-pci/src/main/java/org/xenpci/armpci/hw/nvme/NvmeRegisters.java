package org.xenpci.armpci.hw.nvme;

/**
 * Controller register offsets in BAR0 and their fields (NVMe Base 1.4, 3.1), and the command
 * opcodes the model knows (5.1 admin, 6.1 NVM). Names follow the specification (and Linux's
 * {@code include/linux/nvme.h}).
 */
public final class NvmeRegisters {
    private NvmeRegisters() {
    }

    /** Controller Capabilities (64-bit, RO). */
    public static final int CAP = 0x00;
    /** Version (RO). */
    public static final int VS = 0x08;
    /** Interrupt Mask Set (RW1S). */
    public static final int INTMS = 0x0c;
    /** Interrupt Mask Clear (RW1C). */
    public static final int INTMC = 0x10;
    /** Controller Configuration. */
    public static final int CC = 0x14;
    /** Controller Status (RO). */
    public static final int CSTS = 0x1c;
    /** NVM Subsystem Reset (not supported: CAP.NSSRS is 0, reads 0, writes ignored). */
    public static final int NSSR = 0x20;
    /** Admin Queue Attributes. */
    public static final int AQA = 0x24;
    /** Admin Submission Queue Base Address (64-bit). */
    public static final int ASQ = 0x28;
    /** Admin Completion Queue Base Address (64-bit). */
    public static final int ACQ = 0x30;
    /** First doorbell: SQ y Tail at {@code 0x1000 + (2y)(4 << CAP.DSTRD)}, CQ y Head at {@code 0x1000 + (2y+1)(4 << DSTRD)}. */
    public static final int DOORBELLS = 0x1000;

    public static final int CC_EN = 1;
    public static final int CC_CSS_SHIFT = 4;
    public static final int CC_MPS_SHIFT = 7;
    public static final int CC_AMS_SHIFT = 11;
    public static final int CC_SHN_SHIFT = 14;
    public static final int CC_IOSQES_SHIFT = 16;
    public static final int CC_IOCQES_SHIFT = 20;

    public static final int CSTS_RDY = 1;
    public static final int CSTS_CFS = 1 << 1;
    /** CSTS.SHST = 10b, shutdown processing complete. */
    public static final int CSTS_SHST_COMPLETE = 2 << 2;

    /* Admin command set. */
    public static final int ADMIN_DELETE_SQ = 0x00;
    public static final int ADMIN_CREATE_SQ = 0x01;
    public static final int ADMIN_GET_LOG_PAGE = 0x02;
    public static final int ADMIN_DELETE_CQ = 0x04;
    public static final int ADMIN_CREATE_CQ = 0x05;
    public static final int ADMIN_IDENTIFY = 0x06;
    public static final int ADMIN_ABORT = 0x08;
    public static final int ADMIN_SET_FEATURES = 0x09;
    public static final int ADMIN_GET_FEATURES = 0x0a;
    public static final int ADMIN_ASYNC_EVENT = 0x0c;

    /* NVM command set. */
    public static final int NVM_FLUSH = 0x00;
    public static final int NVM_WRITE = 0x01;
    public static final int NVM_READ = 0x02;

    /** Identify CNS values. */
    public static final int CNS_NAMESPACE = 0x00;
    public static final int CNS_CONTROLLER = 0x01;
    public static final int CNS_ACTIVE_NAMESPACES = 0x02;
    public static final int CNS_NS_DESCRIPTORS = 0x03;

    /** Feature Identifier: Number of Queues. */
    public static final int FEAT_NUM_QUEUES = 0x07;
}
