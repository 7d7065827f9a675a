package org.xenpci.core.pci;

/**
 * Config-space register offsets and bit definitions, named as in Linux/Xen {@code pci_regs.h}
 * (PCI Local Bus 3.0 chapter 6, PCIe Base 7.5). Offsets are bytes from the start of the
 * function's config space.
 */
public final class PciRegs {
    private PciRegs() {
    }

    /** Legacy config space size in bytes. */
    public static final int PCI_CFG_SPACE_SIZE = 256;
    /** PCIe extended config space size in bytes. */
    public static final int PCI_CFG_SPACE_EXP_SIZE = 4096;

    public static final int PCI_VENDOR_ID = 0x00;
    public static final int PCI_DEVICE_ID = 0x02;
    public static final int PCI_COMMAND = 0x04;
    public static final int PCI_COMMAND_IO = 0x1;
    public static final int PCI_COMMAND_MEMORY = 0x2;
    public static final int PCI_COMMAND_MASTER = 0x4;
    public static final int PCI_COMMAND_SPECIAL = 0x8;
    public static final int PCI_COMMAND_INVALIDATE = 0x10;
    public static final int PCI_COMMAND_VGA_PALETTE = 0x20;
    public static final int PCI_COMMAND_PARITY = 0x40;
    public static final int PCI_COMMAND_WAIT = 0x80;
    public static final int PCI_COMMAND_SERR = 0x100;
    public static final int PCI_COMMAND_FAST_BACK = 0x200;
    public static final int PCI_COMMAND_INTX_DISABLE = 0x400;

    public static final int PCI_STATUS = 0x06;
    public static final int PCI_STATUS_IMM_READY = 0x01;
    public static final int PCI_STATUS_INTERRUPT = 0x08;
    public static final int PCI_STATUS_CAP_LIST = 0x10;
    public static final int PCI_STATUS_66MHZ = 0x20;
    public static final int PCI_STATUS_FAST_BACK = 0x80;
    public static final int PCI_STATUS_PARITY = 0x100;
    public static final int PCI_STATUS_DEVSEL_MASK = 0x600;
    public static final int PCI_STATUS_SIG_TARGET_ABORT = 0x800;
    public static final int PCI_STATUS_REC_TARGET_ABORT = 0x1000;
    public static final int PCI_STATUS_REC_MASTER_ABORT = 0x2000;
    public static final int PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
    public static final int PCI_STATUS_DETECTED_PARITY = 0x8000;
    /** The RW1C error bits of STATUS: 0xF900. */
    public static final int PCI_STATUS_RW1C_MASK = 0xF900;
    /** Reserved-zero bits of STATUS as Xen masks them for a domU: 0x0046. */
    public static final int PCI_STATUS_RSVDZ_MASK = 0x0046;

    public static final int PCI_CLASS_REVISION = 0x08;
    public static final int PCI_REVISION_ID = 0x08;
    public static final int PCI_CLASS_PROG = 0x09;
    public static final int PCI_CLASS_DEVICE = 0x0a;
    public static final int PCI_CACHE_LINE_SIZE = 0x0c;
    public static final int PCI_LATENCY_TIMER = 0x0d;
    public static final int PCI_HEADER_TYPE = 0x0e;
    public static final int PCI_HEADER_TYPE_MASK = 0x7f;
    public static final int PCI_HEADER_TYPE_NORMAL = 0;
    public static final int PCI_HEADER_TYPE_BRIDGE = 1;
    public static final int PCI_HEADER_TYPE_CARDBUS = 2;
    public static final int PCI_HEADER_TYPE_MFD = 0x80;
    public static final int PCI_BIST = 0x0f;

    public static final int PCI_BASE_ADDRESS_0 = 0x10;
    public static final int PCI_BASE_ADDRESS_5 = 0x24;
    public static final int PCI_BASE_ADDRESS_SPACE_IO = 0x01;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_MASK = 0x06;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_32 = 0x00;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_1M = 0x02;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
    public static final int PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
    public static final int PCI_BASE_ADDRESS_MEM_MASK = ~0x0f;
    public static final int PCI_BASE_ADDRESS_IO_MASK = ~0x03;

    public static final int PCI_CARDBUS_CIS = 0x28;
    public static final int PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int PCI_SUBSYSTEM_ID = 0x2e;
    public static final int PCI_ROM_ADDRESS = 0x30;
    public static final int PCI_ROM_ADDRESS_ENABLE = 0x01;
    public static final int PCI_ROM_ADDRESS_MASK = ~0x7ff;
    public static final int PCI_CAPABILITY_LIST = 0x34;
    public static final int PCI_INTERRUPT_LINE = 0x3c;
    public static final int PCI_INTERRUPT_PIN = 0x3d;
    public static final int PCI_MIN_GNT = 0x3e;
    public static final int PCI_MAX_LAT = 0x3f;

    /* Type 1 (bridge) header. */
    public static final int PCI_PRIMARY_BUS = 0x18;
    public static final int PCI_SECONDARY_BUS = 0x19;
    public static final int PCI_SUBORDINATE_BUS = 0x1a;
    public static final int PCI_SEC_LATENCY_TIMER = 0x1b;
    public static final int PCI_IO_BASE = 0x1c;
    public static final int PCI_IO_LIMIT = 0x1d;
    public static final int PCI_SEC_STATUS = 0x1e;
    public static final int PCI_MEMORY_BASE = 0x20;
    public static final int PCI_MEMORY_LIMIT = 0x22;
    public static final int PCI_PREF_MEMORY_BASE = 0x24;
    public static final int PCI_PREF_MEMORY_LIMIT = 0x26;
    public static final int PCI_PREF_BASE_UPPER32 = 0x28;
    public static final int PCI_PREF_LIMIT_UPPER32 = 0x2c;
    public static final int PCI_IO_BASE_UPPER16 = 0x30;
    public static final int PCI_IO_LIMIT_UPPER16 = 0x32;
    public static final int PCI_ROM_ADDRESS1 = 0x38;
    public static final int PCI_BRIDGE_CONTROL = 0x3e;

    /* Capability IDs (PCI Code and ID Assignment 1.11, chapter 2). */
    public static final int PCI_CAP_LIST_ID = 0;
    public static final int PCI_CAP_LIST_NEXT = 1;
    public static final int PCI_CAP_ID_PM = 0x01;
    public static final int PCI_CAP_ID_MSI = 0x05;
    public static final int PCI_CAP_ID_VNDR = 0x09;
    public static final int PCI_CAP_ID_EXP = 0x10;
    public static final int PCI_CAP_ID_MSIX = 0x11;

    /* Power Management capability (PCI Bus Power Management 1.2, chapter 3). Offsets from the capability. */
    public static final int PCI_PM_PMC = 0x02;
    public static final int PCI_PM_CAP_D1 = 0x0200;
    public static final int PCI_PM_CAP_D2 = 0x0400;
    public static final int PCI_PM_CTRL = 0x04;
    /** PMCSR bits 1:0, PowerState: 0 D0, 1 D1, 2 D2, 3 D3hot. */
    public static final int PCI_PM_CTRL_STATE_MASK = 0x0003;
    /** PMCSR bit 3: No_Soft_Reset (no internal reset on D3hot to D0). */
    public static final int PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;
    public static final int PCI_D0 = 0;
    public static final int PCI_D3HOT = 3;

    /* MSI capability (PCI Local Bus 3.0, 6.8.1). Offsets from the capability. */
    public static final int PCI_MSI_FLAGS = 0x02;
    public static final int PCI_MSI_FLAGS_ENABLE = 0x0001;
    public static final int PCI_MSI_FLAGS_QMASK = 0x000e;
    public static final int PCI_MSI_FLAGS_QSIZE = 0x0070;
    public static final int PCI_MSI_FLAGS_64BIT = 0x0080;
    public static final int PCI_MSI_FLAGS_MASKBIT = 0x0100;
    public static final int PCI_MSI_ADDRESS_LO = 0x04;
    public static final int PCI_MSI_ADDRESS_HI = 0x08;
    public static final int PCI_MSI_DATA_32 = 0x08;
    public static final int PCI_MSI_MASK_32 = 0x0c;
    public static final int PCI_MSI_PENDING_32 = 0x10;
    public static final int PCI_MSI_DATA_64 = 0x0c;
    public static final int PCI_MSI_MASK_64 = 0x10;
    public static final int PCI_MSI_PENDING_64 = 0x14;

    /* MSI-X capability (PCIe Base 7.7.2). Offsets from the capability. */
    public static final int PCI_MSIX_FLAGS = 0x02;
    public static final int PCI_MSIX_FLAGS_QSIZE = 0x07ff;
    public static final int PCI_MSIX_FLAGS_MASKALL = 0x4000;
    public static final int PCI_MSIX_FLAGS_ENABLE = 0x8000;
    public static final int PCI_MSIX_TABLE = 0x04;
    public static final int PCI_MSIX_PBA = 0x08;
    public static final int PCI_MSIX_BIR_MASK = 0x7;
    /** MSI-X table entry size in bytes. */
    public static final int PCI_MSIX_ENTRY_SIZE = 16;
    public static final int PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
    public static final int PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
    public static final int PCI_MSIX_ENTRY_DATA = 0x8;
    public static final int PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
    public static final int PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1;

    /* PCI Express capability (PCIe Base 7.5.3). Offsets from the capability. */
    public static final int PCI_EXP_FLAGS = 0x02;
    public static final int PCI_EXP_FLAGS_TYPE = 0x00f0;
    public static final int PCI_EXP_TYPE_ENDPOINT = 0x0;
    public static final int PCI_EXP_TYPE_LEG_END = 0x1;
    public static final int PCI_EXP_TYPE_ROOT_PORT = 0x4;
    public static final int PCI_EXP_TYPE_UPSTREAM = 0x5;
    public static final int PCI_EXP_TYPE_DOWNSTREAM = 0x6;
    public static final int PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
    public static final int PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
    public static final int PCI_EXP_TYPE_RC_END = 0x9;
    public static final int PCI_EXP_DEVCAP = 0x04;
    /** Device Capabilities bit 28: Function Level Reset Capability (PCIe Base 7.5.3.3). */
    public static final int PCI_EXP_DEVCAP_FLR = 0x10000000;
    public static final int PCI_EXP_DEVCTL = 0x08;
    /** Device Control bit 15: Initiate Function Level Reset (reads 0; PCIe Base 7.5.3.4, 6.6.2). */
    public static final int PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
    public static final int PCI_EXP_DEVSTA = 0x0a;
    /** Device Status bit 5: Transactions Pending. */
    public static final int PCI_EXP_DEVSTA_TRPND = 0x0020;
    public static final int PCI_EXP_LNKCAP = 0x0c;
    public static final int PCI_EXP_LNKCTL = 0x10;
    public static final int PCI_EXP_LNKSTA = 0x12;

    /* Extended capabilities (PCIe Base 7.6). */
    public static final int PCI_EXT_CAP_START = 0x100;
    public static final int PCI_EXT_CAP_ID_ERR = 0x01;
    public static final int PCI_EXT_CAP_ID_ACS = 0x0d;
    public static final int PCI_EXT_CAP_ID_ARI = 0x0e;
    public static final int PCI_EXT_CAP_ID_SRIOV = 0x10;
    public static final int PCI_EXT_CAP_ID_REBAR = 0x15;

    /** Extended capability header: ID in bits 15:0. */
    public static int extCapId(int header) {
        return header & 0xffff;
    }

    /** Extended capability header: next pointer in bits 31:20, dword aligned. */
    public static int extCapNext(int header) {
        return (header >>> 20) & 0xffc;
    }

    /** Class codes ({@code base class << 8 | subclass}) used by the model. */
    public static final int PCI_CLASS_BRIDGE_HOST = 0x0600;
    public static final int PCI_CLASS_BRIDGE_PCI = 0x0604;
}
