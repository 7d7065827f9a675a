package org.xenpci.armpci.hw.nvme;

/**
 * Completion Queue Entry Status Field values (NVMe Base 1.4, 4.6.1): bits 7:0 Status Code,
 * 10:8 Status Code Type, 14 Do Not Retry. A completion's DW3 carries the field in bits 31:17,
 * above the phase tag. The constants below are field values with DNR clear; the controller
 * sets {@link #DNR} on every error that a retry would repeat.
 */
public final class NvmeStatus {
    private NvmeStatus() {
    }

    /** Do Not Retry (bit 14 of the field). */
    public static final int DNR = 1 << 14;

    /* Generic Command Status, SCT 0 (1.4 figure 128). */
    /** Successful Completion. */
    public static final int SUCCESS = 0x00;
    /** Invalid Command Opcode. */
    public static final int INVALID_OPCODE = 0x01;
    /** Invalid Field in Command. */
    public static final int INVALID_FIELD = 0x02;
    /** Data Transfer Error: a PRP list or data DMA did not complete. */
    public static final int DATA_TRANSFER_ERROR = 0x04;
    /** Invalid Namespace or Format. */
    public static final int INVALID_NAMESPACE = 0x0b;
    /** Command Sequence Error. */
    public static final int COMMAND_SEQUENCE_ERROR = 0x0c;
    /** Invalid PRP Offset. */
    public static final int INVALID_PRP_OFFSET = 0x13;
    /** LBA Out of Range (NVM command set status, 0x80). */
    public static final int LBA_OUT_OF_RANGE = 0x80;

    /* Command Specific Status, SCT 1 (1.4 figure 129). */
    /** Completion Queue Invalid. */
    public static final int CQ_INVALID = 0x100;
    /** Invalid Queue Identifier. */
    public static final int INVALID_QUEUE_ID = 0x101;
    /** Invalid Queue Size. */
    public static final int INVALID_QUEUE_SIZE = 0x102;
    /** Asynchronous Event Request Limit Exceeded. */
    public static final int AER_LIMIT_EXCEEDED = 0x105;
    /** Invalid Interrupt Vector. */
    public static final int INVALID_INTERRUPT_VECTOR = 0x108;
    /** Invalid Log Page. */
    public static final int INVALID_LOG_PAGE = 0x109;
    /** Invalid Queue Deletion: the completion queue still has submission queues. */
    public static final int INVALID_QUEUE_DELETION = 0x10c;
    /** Feature Identifier Not Saveable. */
    public static final int FEATURE_NOT_SAVEABLE = 0x10d;

    /* Media and Data Integrity Errors, SCT 2 (1.4 figure 130). */
    /** Write Fault: the namespace's backing store failed a write or flush. */
    public static final int WRITE_FAULT = 0x280;
    /** Unrecovered Read Error: the backing store failed a read. */
    public static final int UNRECOVERED_READ_ERROR = 0x281;

    /** Status Code Type (bits 10:8) of a field value. */
    public static int type(int status) {
        return status >>> 8 & 0x7;
    }

    /** Status Code (bits 7:0) of a field value. */
    public static int code(int status) {
        return status & 0xff;
    }

    /** The field value without DNR, CRD and More. */
    public static int withoutFlags(int status) {
        return status & 0x7ff;
    }
}
