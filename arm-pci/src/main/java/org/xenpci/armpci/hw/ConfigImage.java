package org.xenpci.armpci.hw;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.xenpci.core.Hex;
import org.xenpci.core.pci.PciRegs;

/**
 * A config-space image made in code: the 4096 bytes a function powers up with, plus the BAR and
 * ROM sizes the image alone cannot express. {@link #newFunction()} turns it into a
 * {@link PciFunction} through {@link PciFunction#fromConfig}, the same path dumps take.
 *
 * <pre>{@code
 * ConfigImage nvme = ConfigImage.endpoint(0x1b36, 0x0010).revision(2).classCode(0x010802)
 *         .bar(0, BarKind.MEM64, 0x4000, false)
 *         .msix(65, 0, 0x2000, 0, 0x3000).powerManagement().pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT)
 *         .build();
 * }</pre>
 *
 * <p>Legacy capabilities are placed from 0x40 upwards in call order (or where
 * {@link Builder#capabilityAt} says) and chained from 0x34 in call order, with STATUS.CAP_LIST
 * set; extended capabilities are chained from 0x100. Immutable.
 */
public final class ConfigImage {
    private final byte[] bytes;
    private final Map<Integer, Long> barSizes;
    private final long romSize;

    private ConfigImage(byte[] bytes, Map<Integer, Long> barSizes, long romSize) {
        this.bytes = bytes;
        this.barSizes = Collections.unmodifiableMap(new TreeMap<>(barSizes));
        this.romSize = romSize;
    }

    /**
     * An image from existing config bytes (a dump) and the sizes it cannot express.
     *
     * @throws HardwareConfigException unless 256 or 4096 bytes (a 256-byte image is zero-extended)
     */
    public static ConfigImage of(byte[] config, Map<Integer, Long> barSizes, long romSize) {
        if (config.length != 256 && config.length != ConfigSpace.SIZE) {
            throw new HardwareConfigException("config image must be 256 or 4096 bytes, not " + config.length);
        }
        return new ConfigImage(Arrays.copyOf(config, ConfigSpace.SIZE), barSizes, romSize);
    }

    /** A type 0 (endpoint) image builder. */
    public static Builder endpoint(int vendorId, int deviceId) {
        return new Builder(PciRegs.PCI_HEADER_TYPE_NORMAL, vendorId, deviceId);
    }

    /** A type 1 (PCI-to-PCI bridge) image builder: 32-bit I/O and 64-bit prefetchable windows. */
    public static Builder bridge(int vendorId, int deviceId) {
        return new Builder(PciRegs.PCI_HEADER_TYPE_BRIDGE, vendorId, deviceId);
    }

    /** A copy of the 4096 config bytes. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** BAR index to size in bytes, for {@link PciFunction#fromConfig}. */
    public Map<Integer, Long> barSizes() {
        return barSizes;
    }

    /** ROM size in bytes, 0 for none. */
    public long romSize() {
        return romSize;
    }

    /** A fresh function powered up from this image. */
    public PciFunction newFunction() {
        return PciFunction.fromConfig(bytes, barSizes, romSize);
    }

    /** Builds an image; every setter writes straight into the image. Not thread-safe. */
    public static final class Builder {
        private final byte[] cfg = new byte[ConfigSpace.SIZE];
        private final int headerType;
        private final Map<Integer, Long> sizes = new TreeMap<>();
        private long romSize;
        private final List<int[]> used = new ArrayList<>();
        private int nextCap = 0x40;
        private int lastCap = -1;
        private int nextExt = PciRegs.PCI_EXT_CAP_START;
        private int lastExt = -1;
        /** Offset of the PCI Express capability, -1 until {@link #pcie} placed one. */
        private int pcieCap = -1;

        private Builder(int headerType, int vendorId, int deviceId) {
            this.headerType = headerType;
            put(PciRegs.PCI_VENDOR_ID, 2, vendorId);
            put(PciRegs.PCI_DEVICE_ID, 2, deviceId);
            put(PciRegs.PCI_HEADER_TYPE, 1, headerType);
            if (headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE) {
                // 32-bit I/O addressing and 64-bit prefetchable window (PCI-to-PCI Bridge 1.2, 3.2.5.6/3.2.5.9).
                put(PciRegs.PCI_IO_BASE, 1, 0x01);
                put(PciRegs.PCI_IO_LIMIT, 1, 0x01);
                put(PciRegs.PCI_PREF_MEMORY_BASE, 2, 0x0001);
                put(PciRegs.PCI_PREF_MEMORY_LIMIT, 2, 0x0001);
            }
            used.add(new int[] {0, 0x40});
        }

        /** Revision ID (8 bits). */
        public Builder revision(int revision) {
            put(PciRegs.PCI_REVISION_ID, 1, revision);
            return this;
        }

        /** The 24-bit class code: base class, subclass, programming interface (e.g. 0x010802). */
        public Builder classCode(int classCode) {
            put(PciRegs.PCI_CLASS_PROG, 1, classCode);
            put(PciRegs.PCI_CLASS_DEVICE, 2, classCode >>> 8);
            return this;
        }

        /** Subsystem vendor and ID (type 0 header at 0x2c; bridges use {@link #bridgeSubsystem}). */
        public Builder subsystem(int vendorId, int subsystemId) {
            requireType(PciRegs.PCI_HEADER_TYPE_NORMAL, "subsystem IDs in the header");
            put(PciRegs.PCI_SUBSYSTEM_VENDOR_ID, 2, vendorId);
            put(PciRegs.PCI_SUBSYSTEM_ID, 2, subsystemId);
            return this;
        }

        /** Interrupt pin: 0 none, 1..4 INTA..INTD. */
        public Builder interruptPin(int pin) {
            if (pin < 0 || pin > 4) {
                throw new HardwareConfigException("interrupt pin " + pin + " out of range 0..4");
            }
            put(PciRegs.PCI_INTERRUPT_PIN, 1, pin);
            return this;
        }

        /** Sets the multi-function bit (7) of the header type. */
        public Builder multiFunction() {
            put(PciRegs.PCI_HEADER_TYPE, 1, headerType | PciRegs.PCI_HEADER_TYPE_MFD);
            return this;
        }

        /** Writes an arbitrary initial register value (e.g. a programmed COMMAND), size 1, 2 or 4. */
        public Builder register(int offset, int size, int value) {
            put(offset, size, value);
            return this;
        }

        /**
         * Declares BAR {@code index}: its type bits go into the image, its size into
         * {@link #barSizes()}. Checked like {@link BarSpec}.
         */
        public Builder bar(int index, BarKind kind, long size, boolean prefetchable) {
            BarSpec spec = new BarSpec(index, kind, size, prefetchable);
            int max = headerType == PciRegs.PCI_HEADER_TYPE_NORMAL ? 5 : 1;
            if (kind == BarKind.ROM || index + (kind == BarKind.MEM64 ? 1 : 0) > max) {
                throw new HardwareConfigException("BAR " + index + " (" + kind + ") does not fit a type " + headerType + " header");
            }
            put(spec.registerOffset(headerType), 4, spec.flags());
            sizes.put(index, size);
            return this;
        }

        /** Declares an expansion ROM of {@code size} bytes. */
        public Builder rom(long size) {
            BarSpec.rom(size);
            romSize = size;
            return this;
        }

        /** Places the next legacy capability at {@code offset} (dword aligned, 0x40..0xfc). */
        public Builder capabilityAt(int offset) {
            if (offset < 0x40 || offset > 0xfc || (offset & 3) != 0) {
                throw new HardwareConfigException("capability offset " + Hex.of(offset) + " must be dword aligned in 0x40..0xfc");
            }
            nextCap = offset;
            return this;
        }

        /**
         * Power Management capability, version 3, D0 (PCI PM 1.2, chapter 3), 8 bytes, with
         * PMCSR No_Soft_Reset set: a D3hot to D0 transition keeps the function's state.
         */
        public Builder powerManagement() {
            return powerManagement(true);
        }

        /**
         * Power Management capability as {@link #powerManagement()}, choosing PMCSR No_Soft_Reset
         * (bit 3, HwInit): clear, a D3hot to D0 transition resets the function (PCI PM 1.2
         * 5.4.1), which is the PM reset Linux falls back to when a function has no FLR.
         */
        public Builder powerManagement(boolean noSoftReset) {
            int at = legacy(PciRegs.PCI_CAP_ID_PM, 8);
            put(at + 2, 2, 0x0003);
            put(at + 4, 2, noSoftReset ? PciRegs.PCI_PM_CTRL_NO_SOFT_RESET : 0);
            return this;
        }

        /**
         * MSI capability (PCI Local Bus 3.0 6.8.1).
         *
         * @param address64 64-bit message address
         * @param multipleMessageCapable log2 of the vectors requested (0..5)
         * @param perVectorMasking mask and pending registers present
         */
        public Builder msi(boolean address64, int multipleMessageCapable, boolean perVectorMasking) {
            if (multipleMessageCapable < 0 || multipleMessageCapable > 5) {
                throw new HardwareConfigException("MSI multiple message capable " + multipleMessageCapable + " out of range 0..5");
            }
            int size = (address64 ? 0x0e : 0x0a) + (perVectorMasking ? 0x0a : 0);
            int at = legacy(PciRegs.PCI_CAP_ID_MSI, (size + 3) & ~3);
            put(at + PciRegs.PCI_MSI_FLAGS, 2, multipleMessageCapable << 1
                    | (address64 ? PciRegs.PCI_MSI_FLAGS_64BIT : 0)
                    | (perVectorMasking ? PciRegs.PCI_MSI_FLAGS_MASKBIT : 0));
            return this;
        }

        /**
         * MSI-X capability (PCIe Base 7.7.2), 12 bytes.
         *
         * @param tableSize entries (1..2048)
         * @param tableBir BAR index holding the table
         * @param tableOffset byte offset of the table in that BAR (8-byte aligned)
         * @param pbaBir BAR index holding the PBA
         * @param pbaOffset byte offset of the PBA in that BAR (8-byte aligned)
         */
        public Builder msix(int tableSize, int tableBir, int tableOffset, int pbaBir, int pbaOffset) {
            if (tableSize < 1 || tableSize > 2048) {
                throw new HardwareConfigException("MSI-X table size " + tableSize + " out of range 1..2048");
            }
            if (tableBir < 0 || tableBir > 5 || pbaBir < 0 || pbaBir > 5 || (tableOffset & 7) != 0 || (pbaOffset & 7) != 0) {
                throw new HardwareConfigException("MSI-X table " + tableBir + "/" + Hex.of(tableOffset) + " or PBA " + pbaBir
                        + "/" + Hex.of(pbaOffset) + ": BIR must be 0..5 and offsets 8-byte aligned");
            }
            int at = legacy(PciRegs.PCI_CAP_ID_MSIX, 12);
            put(at + PciRegs.PCI_MSIX_FLAGS, 2, tableSize - 1);
            put(at + PciRegs.PCI_MSIX_TABLE, 4, tableOffset | tableBir);
            put(at + PciRegs.PCI_MSIX_PBA, 4, pbaOffset | pbaBir);
            return this;
        }

        /**
         * PCI Express capability, version 2 (PCIe Base 7.5.3), 0x3c bytes: 2.5 GT/s x1 link,
         * 128-byte max payload; a root or downstream port also reports a slot.
         *
         * @param type device/port type ({@code PciRegs.PCI_EXP_TYPE_*})
         */
        public Builder pcie(int type) {
            return pcie(type, 2);
        }

        /**
         * PCI Express capability version 1 (PCIe Base 1.1 7.8), 0x14 bytes: no LNKCAP2 and later
         * registers (QEMU's e1000e uses it).
         */
        public Builder pcieV1(int type) {
            return pcie(type, 1);
        }

        private Builder pcie(int type, int version) {
            if (type < 0 || type > 0xa) {
                throw new HardwareConfigException("PCIe device/port type " + Hex.of(type) + " out of range");
            }
            int at = legacy(PciRegs.PCI_CAP_ID_EXP, version == 1 ? 0x14 : 0x3c);
            pcieCap = at;
            boolean port = type == PciRegs.PCI_EXP_TYPE_ROOT_PORT || type == PciRegs.PCI_EXP_TYPE_DOWNSTREAM;
            put(at + PciRegs.PCI_EXP_FLAGS, 2, version | type << 4 | (port ? 0x100 : 0));
            put(at + PciRegs.PCI_EXP_DEVCAP, 4, 0x00008000); // role-based error reporting, 128B payload
            if (type != PciRegs.PCI_EXP_TYPE_RC_END) {
                put(at + PciRegs.PCI_EXP_LNKCAP, 4, 0x00000011 | (port ? 0x00100000 : 0)); // 2.5 GT/s x1 (+DLLLA reporting)
                put(at + PciRegs.PCI_EXP_LNKSTA, 2, 0x0011);
                if (version == 2) {
                    put(at + 0x2c, 4, 0x00000002); // LNKCAP2: 2.5 GT/s supported
                    put(at + 0x30, 2, 0x0001); // LNKCTL2: target 2.5 GT/s
                }
            }
            return this;
        }

        /**
         * Sets Device Capabilities bit 28, Function Level Reset Capability (PCIe Base 7.5.3.3),
         * in the PCI Express capability placed before: software may then reset the function
         * through Device Control's Initiate FLR (6.6.2).
         *
         * @throws HardwareConfigException if no PCI Express capability was placed yet
         */
        public Builder flr() {
            if (pcieCap < 0) {
                throw new HardwareConfigException("flr() needs a PCI Express capability: call pcie(type) first");
            }
            put(pcieCap + PciRegs.PCI_EXP_DEVCAP, 4, get4(pcieCap + PciRegs.PCI_EXP_DEVCAP) | PciRegs.PCI_EXP_DEVCAP_FLR);
            return this;
        }

        /** Bridge Subsystem Vendor ID capability (ID 0x0d, PCI Code and ID Assignment 1.11), 8 bytes. */
        public Builder bridgeSubsystem(int vendorId, int subsystemId) {
            int at = legacy(0x0d, 8);
            put(at + 4, 2, vendorId);
            put(at + 6, 2, subsystemId);
            return this;
        }

        /** Vendor-specific capability (ID 0x09) with {@code body} after its 3-byte header. */
        public Builder vendorCapability(byte[] body) {
            int at = legacy(PciRegs.PCI_CAP_ID_VNDR, (3 + body.length + 3) & ~3);
            put(at + 2, 1, 3 + body.length);
            System.arraycopy(body, 0, cfg, at + 3, body.length);
            return this;
        }

        /** A raw legacy capability: ID, then {@code body} after the 2-byte header. */
        public Builder capability(int id, byte[] body) {
            int at = legacy(id, (2 + body.length + 3) & ~3);
            System.arraycopy(body, 0, cfg, at + 2, body.length);
            return this;
        }

        /**
         * Advanced Error Reporting extended capability, version 2 (PCIe Base 7.8.4), 0x48 bytes,
         * with the spec's default uncorrectable severity 0x00462030.
         */
        public Builder aer() {
            int at = extended(PciRegs.PCI_EXT_CAP_ID_ERR, 2, 0x48);
            put(at + 0x0c, 4, 0x00462030);
            return this;
        }

        /** Device Serial Number extended capability (ID 0x03), 12 bytes. */
        public Builder serialNumber(long serial) {
            int at = extended(0x03, 1, 12);
            put(at + 4, 4, (int) serial);
            put(at + 8, 4, (int) (serial >>> 32));
            return this;
        }

        /**
         * Vendor-Specific Extended Capability (ID 0x0b, PCIe Base 7.9.5): VSEC ID, revision and
         * {@code body} after the 8-byte header.
         */
        public Builder vendorSpecificExtended(int vsecId, int vsecRevision, byte[] body) {
            int length = 8 + body.length;
            int at = extended(0x0b, 1, (length + 3) & ~3);
            put(at + 4, 4, (vsecId & 0xffff) | (vsecRevision & 0xf) << 16 | length << 20);
            System.arraycopy(body, 0, cfg, at + 8, body.length);
            return this;
        }

        /**
         * The SR-IOV extended capability (ID 0x0010, version 1; see {@link SriovCapability} for
         * the registers), 0x40 bytes: InitialVFs = TotalVFs, NumVFs 0, VF Enable clear,
         * Supported Page Sizes 4 KiB to 4 MiB (0x553, as Linux's {@code PCI_SRIOV_SUP_PGSIZE}
         * examples), System Page Size 4 KiB. Each {@code vfBars} entry writes that VF BAR's type
         * and prefetch bits (memory only; its size is the {@link SriovCapability}'s to know).
         */
        public Builder sriov(int totalVfs, int firstVfOffset, int vfStride, int vfDeviceId, BarSpec... vfBars) {
            if (totalVfs < 0 || totalVfs > 0xffff || firstVfOffset < 0 || firstVfOffset > 0xffff
                    || vfStride < 0 || vfStride > 0xffff) {
                throw new HardwareConfigException("SR-IOV TotalVFs, First VF Offset and VF Stride are 16-bit values");
            }
            int at = extended(PciRegs.PCI_EXT_CAP_ID_SRIOV, 1, 0x40);
            put(at + SriovCapability.INITIAL_VF, 2, totalVfs);
            put(at + SriovCapability.TOTAL_VF, 2, totalVfs);
            put(at + SriovCapability.VF_OFFSET, 2, firstVfOffset);
            put(at + SriovCapability.VF_STRIDE, 2, vfStride);
            put(at + SriovCapability.VF_DID, 2, vfDeviceId);
            put(at + SriovCapability.SUP_PGSIZE, 4, 0x553);
            put(at + SriovCapability.SYS_PGSIZE, 4, 0x1);
            for (BarSpec b : vfBars) {
                if (b.kind() != BarKind.MEM32 && b.kind() != BarKind.MEM64) {
                    throw new HardwareConfigException("SR-IOV VF BAR " + b.index() + ": VF BARs are memory BARs");
                }
                put(at + SriovCapability.BAR + 4 * b.index(), 4, b.flags());
            }
            return this;
        }

        /** A raw extended capability: ID, version, then {@code body} after the 4-byte header. */
        public Builder extendedCapability(int id, int version, byte[] body) {
            int at = extended(id, version, (4 + body.length + 3) & ~3);
            System.arraycopy(body, 0, cfg, at + 4, body.length);
            return this;
        }

        /** The image. */
        public ConfigImage build() {
            return new ConfigImage(cfg.clone(), sizes, romSize);
        }

        private int legacy(int id, int size) {
            int at = nextCap;
            claim(at, size, 0x100, "capability " + Hex.of(id));
            cfg[at] = (byte) id;
            if (lastCap < 0) {
                put(PciRegs.PCI_CAPABILITY_LIST, 1, at);
                put(PciRegs.PCI_STATUS, 2, get(PciRegs.PCI_STATUS) | PciRegs.PCI_STATUS_CAP_LIST);
            } else {
                cfg[lastCap + 1] = (byte) at;
            }
            lastCap = at;
            nextCap = at + size;
            return at;
        }

        private int extended(int id, int version, int size) {
            int at = nextExt;
            claim(at, size, ConfigSpace.SIZE, "extended capability " + Hex.of(id));
            put(at, 4, id | version << 16);
            if (lastExt >= 0) {
                put(lastExt, 4, get4(lastExt) | at << 20);
            }
            lastExt = at;
            nextExt = at + size;
            return at;
        }

        private void claim(int at, int size, int end, String what) {
            if (at + size > end) {
                throw new HardwareConfigException(what + " at " + Hex.of(at) + " (" + size + " bytes) does not fit below " + Hex.of(end));
            }
            for (int[] r : used) {
                if (at < r[0] + r[1] && r[0] < at + size) {
                    throw new HardwareConfigException(what + " at " + Hex.of(at) + " overlaps " + Hex.of(r[0]) + "+" + Hex.of(r[1]));
                }
            }
            used.add(new int[] {at, size});
        }

        private void requireType(int type, String what) {
            if (headerType != type) {
                throw new HardwareConfigException(what + " needs a type " + type + " header");
            }
        }

        private int get(int offset) {
            return cfg[offset] & 0xff | (cfg[offset + 1] & 0xff) << 8;
        }

        private int get4(int offset) {
            return get(offset) | get(offset + 2) << 16;
        }

        private void put(int offset, int size, int value) {
            Objects.checkFromIndexSize(offset, size, cfg.length);
            for (int i = 0; i < size; i++) {
                cfg[offset + i] = (byte) (value >>> (8 * i));
            }
        }
    }
}
