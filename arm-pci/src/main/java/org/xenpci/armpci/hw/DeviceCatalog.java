package org.xenpci.armpci.hw;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.armpci.hw.dump.LspciDump;
import org.xenpci.armpci.hw.nvme.NvmeController;

/**
 * Realistic power-on config images of well-known devices, stored as {@code lspci -xxxx} text
 * under {@code org/xenpci/armpci/hw/catalog/} (generated from {@link ConfigImage} builders and
 * committed), with the BAR and ROM sizes a dump cannot carry.
 *
 * <p>IDs, class codes, BAR layout and capability offsets follow the QEMU devices named; other
 * capability register contents are plausible defaults, not byte-exact copies. BARs are
 * unassigned (0) and COMMAND is 0, as at power-on. Thread-safe: each call parses afresh.
 */
public enum DeviceCatalog {
    /**
     * QEMU NVMe (1b36:0010, class 0x010802): BAR0 mem64 16 KiB, MSI-X 65 (table 0x2000, PBA
     * 0x3000 in BAR0), PM (No_Soft_Reset), PCIe endpoint with FLR. {@link #newFunction} installs
     * an {@link NvmeController} over BAR0 [0, 0x2000) with a 64 MiB RAM namespace
     * ({@link NvmeController#installDefault}); reach it with {@link NvmeController#of}.
     */
    QEMU_NVME("qemu-nvme.lspci", 0, Map.of(0, 0x4000L), 0, NvmeController::installDefault),
    /**
     * QEMU e1000e, an Intel 82574L (8086:10d3, class 0x020000): BAR0 mem32 128 KiB, BAR1 mem32
     * 128 KiB (flash), BAR2 I/O 32 bytes, BAR3 mem32 16 KiB (MSI-X 5 entries, table 0, PBA 0x2000),
     * MSI, PM without No_Soft_Reset (its reset is D3hot to D0), PCIe v1 endpoint without FLR,
     * AER, DSN, 256 KiB ROM.
     */
    E1000E("e1000e.lspci", 0, Map.of(0, 0x20000L, 1, 0x20000L, 2, 0x20L, 3, 0x4000L), 0x40000),
    /** QEMU PCIe root port (1b36:000c, class 0x060400, type 1): BAR0 mem32 4 KiB for MSI-X (1 entry), PCIe root port, AER, ACS. */
    QEMU_ROOT_PORT("qemu-pcie-root-port.lspci", 0, Map.of(0, 0x1000L), 0),
    /** Function 0 of a two-function device: ICH9 HD Audio (8086:293e, class 0x040300), header type 0x80, BAR0 mem32 16 KiB, MSI, PCIe. */
    ICH9_HDA_FN0("ich9-hda-plus-serial.lspci", 0, Map.of(0, 0x4000L), 0),
    /** Function 1 of that device: QEMU PCI 16550A serial (1b36:0002, class 0x070002), BAR0 I/O 8 bytes, conventional PCI. */
    PCI_SERIAL_FN1("ich9-hda-plus-serial.lspci", 1, Map.of(0, 0x8L), 0),
    /** QEMU ivshmem-plain (1af4:1110, class 0x050000) with 8 GiB of shared memory: BAR0 mem32 256 bytes, BAR2 mem64 prefetchable 8 GiB. */
    IVSHMEM_8G("ivshmem-plain-8g.lspci", 0, Map.of(0, 0x100L, 2, 8L << 30), 0),
    /**
     * An SR-IOV physical function shaped like QEMU's igb, an Intel 82576 (8086:10c9, class
     * 0x020000; QEMU {@code hw/net/igb.c}): BAR0 mem32 128 KiB, BAR1 mem32 128 KiB (flash), BAR2
     * I/O 32 bytes, BAR3 mem32 16 KiB (MSI-X 10 entries, table 0, PBA 0x2000), PM, MSI, PCIe
     * endpoint with FLR, AER, ARI and the SR-IOV capability: TotalVFs 8, First VF Offset 0x80,
     * VF Stride 2 ({@code IGB_VF_OFFSET}, {@code IGB_VF_STRIDE}), VF Device ID 0x10ca, VF BAR0
     * and VF BAR3 mem64 prefetchable 16 KiB per VF. The file's second entry is a VF's config
     * space as lspci shows it (Vendor/Device ID 0xffff, BARs 0): MSI-X 3 entries in VF BAR3
     * (table 0, PBA 0x2000), PCIe endpoint with FLR, AER, as QEMU's {@code hw/net/igbvf.c}.
     * {@link #newFunction} installs the {@link SriovCapability} with that VF image.
     */
    QEMU_IGB("igb.lspci", 0, Map.of(0, 0x20000L, 1, 0x20000L, 2, 0x20L, 3, 0x4000L), 0, 1, Map.of(0, 0x4000L, 3, 0x4000L));

    /** Resource folder of the catalog texts. */
    public static final String RESOURCE_DIR = "catalog/";

    private final String resource;
    private final int deviceInFile;
    private final Map<Integer, Long> barSizes;
    private final long romSize;

    /** For an SR-IOV PF: the entry of the VF image in the same file, and each VF BAR's per-VF size. */
    private final int vfInFile;
    private final Map<Integer, Long> vfBarSizes;
    /** Installs the model behind the BARs on a new function (an NVMe controller), or null. */
    private Consumer<PciFunction> deviceModel;

    DeviceCatalog(String resource, int deviceInFile, Map<Integer, Long> barSizes, long romSize) {
        this(resource, deviceInFile, barSizes, romSize, -1, Map.of());
    }

    DeviceCatalog(String resource, int deviceInFile, Map<Integer, Long> barSizes, long romSize,
            Consumer<PciFunction> deviceModel) {
        this(resource, deviceInFile, barSizes, romSize, -1, Map.of());
        this.deviceModel = deviceModel;
    }

    DeviceCatalog(String resource, int deviceInFile, Map<Integer, Long> barSizes, long romSize, int vfInFile,
            Map<Integer, Long> vfBarSizes) {
        this.resource = resource;
        this.deviceInFile = deviceInFile;
        this.barSizes = barSizes;
        this.romSize = romSize;
        this.vfInFile = vfInFile;
        this.vfBarSizes = vfBarSizes;
    }

    /** The resource file name (relative to {@link #RESOURCE_DIR}). */
    public String resource() {
        return resource;
    }

    /** BAR index to size in bytes. */
    public Map<Integer, Long> barSizes() {
        return barSizes;
    }

    /** ROM size in bytes, 0 for none. */
    public long romSize() {
        return romSize;
    }

    /** The parsed dump entry (header line, address, 4096 config bytes). */
    public LspciDump dump() {
        List<LspciDump> all = ConfigDumps.parseLspciAll(text());
        return all.get(deviceInFile);
    }

    /** The image: config bytes plus sizes. */
    public ConfigImage image() {
        return ConfigImage.of(dump().config(), barSizes, romSize);
    }

    /**
     * A fresh function powered up from the image (an SR-IOV PF with its {@link SriovCapability}
     * installed, the NVMe entry with its {@link NvmeController}).
     */
    public PciFunction newFunction() {
        PciFunction f = image().newFunction();
        if (vfInFile >= 0) {
            byte[] vf = ConfigDumps.parseLspciAll(text()).get(vfInFile).config();
            f.installCapability(org.xenpci.core.pci.PciRegs.PCI_EXT_CAP_ID_SRIOV, true, new SriovCapability(vf, vfBarSizes));
        }
        if (deviceModel != null) {
            deviceModel.accept(f);
        }
        return f;
    }

    /**
     * Gives a function built from config data elsewhere (a platform file, a test board) the
     * device model of the catalog entry it is: a function with the QEMU NVMe's Vendor ID, Device
     * ID and class code (1b36:0010, 0x010802), a BAR0 of at least 16 KiB and nothing yet over
     * BAR0 [0, 0x2000) gets {@link NvmeController#installDefault}. Call while building, before
     * the function is reachable on a bus.
     *
     * @return true if a model was installed; false for any other function (left as it was)
     */
    public static boolean installDeviceModel(PciFunction f) {
        if (f.vendorId() != 0x1b36 || f.deviceId() != 0x0010 || f.classCode() != 0x010802
                || f.deviceModel(Object.class).isPresent()) {
            return false;
        }
        if (f.bar(0).map(b -> b.kind() == BarKind.IO || b.size() < 0x4000).orElse(true)) {
            return false;
        }
        try {
            NvmeController.installDefault(f);
            return true;
        } catch (HardwareConfigException e) {
            return false; // an MSI-X table over the register page: the dump is not QEMU's layout
        }
    }

    /** The whole resource text. */
    public String text() {
        try (InputStream in = DeviceCatalog.class.getResourceAsStream(RESOURCE_DIR + resource)) {
            if (in == null) {
                throw new IllegalStateException("catalog resource " + RESOURCE_DIR + resource + " missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("reading catalog resource " + resource, e);
        }
    }
}
