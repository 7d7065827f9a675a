package org.xenpci.armpci.hw;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.pci.PciRegs;

/**
 * One physical PCI function: its {@link ConfigSpace}, its BARs and the memory behind each BAR.
 * An endpoint has a type 0 header (up to 6 BARs), a PCI-to-PCI bridge a type 1 header (up to 2
 * BARs) and a secondary bus ({@link #secondaryBusSlots()}) once placed in a topology.
 *
 * <p>Memory decode: a memory BAR claims an address only while COMMAND.MEMORY is set and the
 * address lies in {@code [BAR address, BAR address + size)}; an I/O BAR only with COMMAND.IO;
 * the ROM only with both its enable bit and COMMAND.MEMORY (PCI Local Bus 3.0 6.2.2, 6.2.5.2).
 * Behind each BAR is a {@link SparseMemory} of the BAR's size, over which register regions can
 * be {@link #overlay overlaid} (an MSI-X table, a doorbell page).
 *
 * <p>Reset ({@link #functionLevelReset}): a Function Level Reset (PCIe Base 6.6.2, triggered
 * by software through Device Control, {@link PcieCapability}) or the soft reset of a D3hot to
 * D0 transition ({@link PowerManagementCapability}) returns the function to its power-on
 * state: every software-writable config bit takes its value in the image the function was
 * built from (HwInit and read-only bits keep theirs), the memory behind every BAR reads zero
 * again, and each installed {@link CapabilityBehaviour} resets its own state (MSI and MSI-X
 * disabled, every MSI-X entry masked with its message cleared, nothing pending). The reset
 * completes at once: the model has no Configuration Request Retry window.
 *
 * <p>Power state: outside D0 the function decodes no memory or I/O and issues no memory
 * requests, so no MSI (PCI PM 1.2, 5.3.1.4 and table 5-3); config accesses still work.
 *
 * <p>Thread-safety: config accesses are serialised by the config space, and a reset runs under
 * the same lock; BAR memory is as thread-safe as {@link SparseMemory}; overlays are published
 * copy-on-write through a volatile array, so a bus access sees the overlays before or after a
 * registration, never half of it.
 */
public final class PciFunction {
    private static final int SLOTS = 7;

    private final ConfigSpace config;
    private final int headerType;
    private final BarSpec[] bars = new BarSpec[SLOTS];
    private final SparseMemory[] memory = new SparseMemory[SLOTS];
    /** Per BAR, the overlays; replaced whole (copy-on-write) so readers need no lock. */
    private volatile Overlay[][] overlays = new Overlay[SLOTS][];
    /** Set once the function is placed in a topology (a function sits in one slot only). */
    private boolean placed;
    private final List<Capability> capabilities;
    private final int pcieType;
    /** The slots of the secondary bus (bridges placed in a topology only). */
    private volatile PciBus secondary;
    /** The host bridge above, once placed: where the function's memory writes (MSIs) go. */
    private volatile HostBridgeHardware upstream;
    /** The bus this function sits on, once placed (never for a VF): whose memory routes its decode changes move. */
    private volatile PciBus onBus;
    private volatile MsiCapability msi;
    private volatile MsixCapability msix;
    /** Config registers as the function powered up (before any behaviour's install). */
    private final int[][] powerOn;
    /** Installed behaviours, reset with the function; replaced whole (installs are rare). */
    private volatile CapabilityBehaviour[] behaviours = new CapabilityBehaviour[0];
    /** The SR-IOV capability's behaviour on a physical function, or null. */
    private volatile SriovCapability sriov;
    /** On a virtual function: the PF's SR-IOV capability and the VF's number; null otherwise. */
    private SriovCapability vfOf;
    private int vfNumber = -1;
    /** The model of the device behind the BARs, or null ({@link #installDeviceModel}). */
    private volatile DeviceModel deviceModel;
    /** PMCSR PowerState (0 = D0 .. 3 = D3hot), kept by {@link PowerManagementCapability}. */
    private volatile int powerState;

    /** A register region inside a BAR (offset and size in bytes, relative to the BAR start). */
    private record Overlay(long offset, long size, MmioDevice device) {
    }

    private PciFunction(ConfigSpace config, int headerType, BarSpec[] specs, List<Capability> capabilities) {
        this.config = config;
        config.owner(this);
        this.headerType = headerType;
        this.capabilities = capabilities;
        for (BarSpec b : specs) {
            if (b != null) {
                bars[b.index()] = b;
                memory[b.index()] = new SparseMemory(b.size());
                overlays[b.index()] = new Overlay[0];
            }
        }
        int exp = -1;
        for (Capability c : capabilities) {
            if (!c.extended() && c.id() == PciRegs.PCI_CAP_ID_EXP) {
                exp = (config.read(c.offset() + PciRegs.PCI_EXP_FLAGS, 2) & PciRegs.PCI_EXP_FLAGS_TYPE) >> 4;
                break;
            }
        }
        this.pcieType = exp;
        this.powerOn = config.dwords();
    }

    /**
     * Builds a function from config data: the header type, BAR types and prefetch bits, the
     * capabilities and all initial register values come from {@code config}; BAR sizes come
     * from {@code barSizes}.
     *
     * <p>A BAR index absent from {@code barSizes} is unimplemented: it reads 0 and ignores
     * writes. A MEM64 BAR's upper index must not be listed itself. Address bits below a BAR's
     * size are cleared whatever the image held; programmed addresses above it are kept (a dump
     * of a running system keeps its BAR assignment). The PCI Express capability (Device
     * Control's Initiate FLR when Device Capabilities advertises FLR) and the Power Management
     * capability (PMCSR PowerState) get their behaviour; other capabilities are read-only until
     * a {@link CapabilityBehaviour} is installed.
     *
     * @param config 256 or 4096 bytes of config space (a 256-byte image has no extended space)
     * @param barSizes BAR index (0..5 for type 0, 0..1 for type 1) to size in bytes
     * @param romSize expansion ROM size in bytes, 0 for none
     * @throws HardwareConfigException naming the bad BAR, size, header type or image length
     */
    public static PciFunction fromConfig(byte[] config, Map<Integer, Long> barSizes, long romSize) {
        return fromConfig(config, barSizes, romSize, true);
    }

    /**
     * {@link #fromConfig(byte[], Map, long)}, choosing whether the MSI and MSI-X capabilities
     * found in the data get their physical behaviour ({@code MsiCapability},
     * {@code MsixCapability}) installed. Pass false to install a custom behaviour instead.
     */
    public static PciFunction fromConfig(byte[] config, Map<Integer, Long> barSizes, long romSize,
            boolean messageBehaviours) {
        PciFunction f = build(config, barSizes, romSize);
        f.installStandardBehaviours(messageBehaviours);
        return f;
    }

    /**
     * A virtual function of {@code pf}, numbered {@code n}, powered up from {@code vfConfig}:
     * Vendor and Device ID read 0xFFFF, BAR registers read 0 and ignore writes, COMMAND.MEMORY
     * is hardwired to 0 (the PF's VF MSE decides), and the memory behind each VF BAR is the VF's
     * own. See {@link SriovCapability}.
     */
    static PciFunction virtualFunction(byte[] vfConfig, BarSpec[] vfBars, SriovCapability pf, int n,
            HostBridgeHardware upstream) {
        ConfigSpace cs = new ConfigSpace(vfConfig);
        if ((cs.read(PciRegs.PCI_HEADER_TYPE, 1) & PciRegs.PCI_HEADER_TYPE_MASK) != PciRegs.PCI_HEADER_TYPE_NORMAL) {
            throw new HardwareConfigException("a virtual function has a type 0 header");
        }
        cs.setInternal(PciRegs.PCI_VENDOR_ID, 2, 0xffff);
        cs.setInternal(PciRegs.PCI_DEVICE_ID, 2, 0xffff);
        for (int i = 0; i < 6; i++) {
            cs.setInternal(PciRegs.PCI_BASE_ADDRESS_0 + 4 * i, 4, 0);
        }
        cs.setInternal(PciRegs.PCI_ROM_ADDRESS, 4, 0);
        BarSpec[] specs = new BarSpec[SLOTS];
        System.arraycopy(vfBars, 0, specs, 0, Math.min(vfBars.length, 6));
        List<Capability> caps = findCapabilities(cs);
        boolean pcie = false;
        for (Capability c : caps) {
            pcie |= !c.extended() && c.id() == PciRegs.PCI_CAP_ID_EXP;
        }
        // No BAR declared: the VF's BAR registers are RO zero; no I/O or memory BAR: COMMAND.IO
        // and COMMAND.MEMORY are RO zero.
        StandardHeader.declare(new ConfigLayout(cs), PciRegs.PCI_HEADER_TYPE_NORMAL, new BarSpec[SLOTS], pcie, false, false);
        PciFunction f = new PciFunction(cs, PciRegs.PCI_HEADER_TYPE_NORMAL, specs, caps);
        f.vfOf = pf;
        f.vfNumber = n;
        f.placed = true;
        f.upstream = upstream;
        f.installStandardBehaviours(true);
        return f;
    }

    private void installStandardBehaviours(boolean messageBehaviours) {
        if (capability(PciRegs.PCI_CAP_ID_EXP, false).isPresent()) {
            installCapability(PciRegs.PCI_CAP_ID_EXP, false, new PcieCapability());
        }
        if (capability(PciRegs.PCI_CAP_ID_PM, false).isPresent()) {
            installCapability(PciRegs.PCI_CAP_ID_PM, false, new PowerManagementCapability());
        }
        if (messageBehaviours) {
            if (capability(PciRegs.PCI_CAP_ID_MSI, false).isPresent()) {
                installCapability(PciRegs.PCI_CAP_ID_MSI, false, new MsiCapability());
            }
            if (capability(PciRegs.PCI_CAP_ID_MSIX, false).isPresent()) {
                installCapability(PciRegs.PCI_CAP_ID_MSIX, false, new MsixCapability());
            }
        }
    }

    private static PciFunction build(byte[] config, Map<Integer, Long> barSizes, long romSize) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(barSizes, "barSizes");
        ConfigSpace cs = new ConfigSpace(config);
        int headerType = cs.read(PciRegs.PCI_HEADER_TYPE, 1) & PciRegs.PCI_HEADER_TYPE_MASK;
        if (headerType != PciRegs.PCI_HEADER_TYPE_NORMAL && headerType != PciRegs.PCI_HEADER_TYPE_BRIDGE) {
            throw new HardwareConfigException("header type " + Hex.of(headerType) + " is not modelled (only 0 and 1)");
        }
        int maxBars = headerType == PciRegs.PCI_HEADER_TYPE_NORMAL ? 6 : 2;
        BarSpec[] specs = new BarSpec[SLOTS];
        for (Map.Entry<Integer, Long> e : barSizes.entrySet()) {
            Integer index = e.getKey();
            if (index == null || index < 0 || index >= maxBars) {
                throw new HardwareConfigException("BAR " + index + ": a type " + headerType + " header has BARs 0.."
                        + (maxBars - 1));
            }
            if (e.getValue() == null) {
                throw new HardwareConfigException("BAR " + index + ": size is null");
            }
        }
        for (int i = 0; i < maxBars; i++) {
            Long size = barSizes.get(i);
            if (size == null) {
                continue;
            }
            int reg = cs.read(PciRegs.PCI_BASE_ADDRESS_0 + 4 * i, 4);
            BarKind kind = kindOf(i, reg);
            boolean prefetch = kind != BarKind.IO && (reg & PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
            if (kind == BarKind.MEM64) {
                if (i + 1 >= maxBars) {
                    throw new HardwareConfigException("BAR " + i + ": a 64-bit BAR needs index " + (i + 1)
                            + " for its upper half, beyond the header's last BAR " + (maxBars - 1));
                }
                if (barSizes.containsKey(i + 1)) {
                    throw new HardwareConfigException("BAR " + (i + 1) + " is the upper half of 64-bit BAR " + i
                            + " and cannot be listed by itself");
                }
            }
            specs[i] = new BarSpec(i, kind, size, prefetch);
            if (kind == BarKind.MEM64) {
                i++;
            }
        }
        if (romSize < 0) {
            throw new HardwareConfigException("ROM size " + romSize + " is negative");
        }
        if (romSize > 0) {
            specs[BarSpec.ROM_INDEX] = BarSpec.rom(romSize);
        }
        resetBarRegisters(cs, headerType, maxBars, specs);
        List<Capability> caps = findCapabilities(cs);
        boolean pcie = false;
        boolean hasIo = false;
        boolean hasMem = false;
        for (Capability c : caps) {
            pcie |= !c.extended() && c.id() == PciRegs.PCI_CAP_ID_EXP;
        }
        for (BarSpec b : specs) {
            if (b != null) {
                hasIo |= b.kind() == BarKind.IO;
                hasMem |= b.kind() != BarKind.IO;
            }
        }
        StandardHeader.declare(new ConfigLayout(cs), headerType, specs, pcie, hasIo, hasMem);
        return new PciFunction(cs, headerType, specs, caps);
    }

    private static BarKind kindOf(int index, int reg) {
        if ((reg & PciRegs.PCI_BASE_ADDRESS_SPACE_IO) != 0) {
            return BarKind.IO;
        }
        int type = reg & PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_MASK;
        if (type == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_32) {
            return BarKind.MEM32;
        }
        if (type == PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64) {
            return BarKind.MEM64;
        }
        throw new HardwareConfigException("BAR " + index + ": reserved memory type bits " + Hex.of(type)
                + " in config value " + Hex.of(reg));
    }

    /** Unimplemented BARs read 0; implemented ones keep address bits at or above their size. */
    private static void resetBarRegisters(ConfigSpace cs, int headerType, int maxBars, BarSpec[] specs) {
        for (int i = 0; i < maxBars; i++) {
            int off = PciRegs.PCI_BASE_ADDRESS_0 + 4 * i;
            BarSpec b = specs[i];
            if (b == null) {
                cs.setInternal(off, 4, 0);
                continue;
            }
            cs.setInternal(off, 4, cs.read(off, 4) & b.lowWritableMask() | b.flags());
            if (b.kind() == BarKind.MEM64) {
                cs.setInternal(off + 4, 4, cs.read(off + 4, 4) & b.highWritableMask());
                i++;
            }
        }
        int romOff = headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE ? PciRegs.PCI_ROM_ADDRESS1 : PciRegs.PCI_ROM_ADDRESS;
        BarSpec rom = specs[BarSpec.ROM_INDEX];
        cs.setInternal(romOff, 4, rom == null ? 0 : cs.read(romOff, 4) & rom.lowWritableMask());
    }

    /**
     * Walks the legacy list (if STATUS.CAP_LIST) from 0x34 and the extended list from 0x100.
     * Like Linux's {@code pci_find_capability}, a malformed chain (pointer into the header,
     * loop) ends the walk after at most 48 legacy / 480 extended entries instead of failing.
     */
    private static List<Capability> findCapabilities(ConfigSpace cs) {
        List<Capability> caps = new ArrayList<>();
        if ((cs.read(PciRegs.PCI_STATUS, 2) & PciRegs.PCI_STATUS_CAP_LIST) != 0) {
            int pos = cs.read(PciRegs.PCI_CAPABILITY_LIST, 1) & 0xfc;
            for (int ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
                int id = cs.read(pos, 1);
                if (id == 0xff) {
                    break;
                }
                caps.add(new Capability(id, pos, false));
                pos = cs.read(pos + PciRegs.PCI_CAP_LIST_NEXT, 1) & 0xfc;
            }
        }
        int pos = PciRegs.PCI_EXT_CAP_START;
        for (int ttl = (ConfigSpace.SIZE - PciRegs.PCI_CFG_SPACE_SIZE) / 8; ttl > 0; ttl--) {
            int header = cs.read(pos, 4);
            if (header == 0 || header == -1) {
                break;
            }
            caps.add(new Capability(PciRegs.extCapId(header), pos, true));
            pos = PciRegs.extCapNext(header);
            if (pos < PciRegs.PCI_EXT_CAP_START) {
                break;
            }
        }
        return Collections.unmodifiableList(caps);
    }

    /* ---------------- identity ---------------- */

    /**
     * Heap bytes held by the function's config registers: the live {@link ConfigSpace}
     * ({@link ConfigSpace#storageBytes}) plus the power-on image kept for resets. A structural
     * estimate (deterministic), for the per-function memory figures in docs/performance.md.
     */
    public long configStorageBytes() {
        return config.storageBytes() + ConfigSpace.imageBytes(powerOn);
    }

    /** The function's config space (software and internal access paths). */
    public ConfigSpace config() {
        return config;
    }

    /** Header layout: 0 (endpoint) or 1 (PCI-to-PCI bridge); bit 7 (multi-function) excluded. */
    public int headerType() {
        return headerType;
    }

    /** True for a type 1 header. */
    public boolean isBridge() {
        return headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE;
    }

    /** Vendor ID (config 0x00, 16 bits). */
    public int vendorId() {
        return config.read(PciRegs.PCI_VENDOR_ID, 2);
    }

    /** Device ID (config 0x02, 16 bits). */
    public int deviceId() {
        return config.read(PciRegs.PCI_DEVICE_ID, 2);
    }

    /** The 24-bit class code (base class, subclass, programming interface). */
    public int classCode() {
        return config.read(PciRegs.PCI_CLASS_REVISION, 4) >>> 8;
    }

    /** Capabilities found in the config data, legacy ones first, in chain order. */
    public List<Capability> capabilities() {
        return capabilities;
    }

    /** The first legacy ({@code extended} false) or extended capability with {@code id}. */
    public Optional<Capability> capability(int id, boolean extended) {
        for (Capability c : capabilities) {
            if (c.id() == id && c.extended() == extended) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** The PCIe device/port type from the PCI Express capability, or -1 for conventional PCI. */
    public int pcieType() {
        return pcieType;
    }

    /** The SR-IOV capability's behaviour if this is a physical function with one installed. */
    public Optional<SriovCapability> sriov() {
        return Optional.ofNullable(sriov);
    }

    void sriov(SriovCapability c) {
        sriov = c;
    }

    /** The SR-IOV behaviour or null, without allocating (bus walks). */
    SriovCapability sriovOrNull() {
        return sriov;
    }

    /** The PF's SR-IOV behaviour of a VF or null, without allocating. */
    SriovCapability vfOfOrNull() {
        return vfOf;
    }

    /** The PF's SR-IOV capability if this is a virtual function, or empty. */
    public Optional<SriovCapability> physicalFunctionOf() {
        return Optional.ofNullable(vfOf);
    }

    /** True for an SR-IOV virtual function. */
    public boolean isVirtualFunction() {
        return vfOf != null;
    }

    /** This VF's number (0 for the first VF), or -1 for a function that is not a VF. */
    public int vfNumber() {
        return vfNumber;
    }

    HostBridgeHardware upstreamBridge() {
        return upstream;
    }

    /**
     * Gives the capability {@code id} its behaviour (see {@link CapabilityBehaviour}).
     * Call while building, before the function is reachable on a bus.
     *
     * @throws HardwareConfigException if the function has no such capability
     */
    public void installCapability(int id, boolean extended, CapabilityBehaviour behaviour) {
        Capability cap = capability(id, extended).orElseThrow(() -> new HardwareConfigException(
                (extended ? "extended capability " : "capability ") + Hex.of(id) + " not present"));
        behaviour.install(this, cap, new ConfigLayout(config).at(cap.offset()));
        synchronized (this) {
            CapabilityBehaviour[] old = behaviours;
            CapabilityBehaviour[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = behaviour;
            behaviours = grown;
        }
    }

    /* ---------------- reset and power state ---------------- */

    /**
     * Resets the function to its power-on state (see the class comment), as a Function Level
     * Reset does. Software triggers it through config space (Device Control's Initiate FLR,
     * or PMCSR D3hot to D0 without No_Soft_Reset); this entry point is the hardware's own
     * (and tests'). Safe from any thread: it runs under the config-space lock, so a concurrent
     * config access sees the function wholly before or wholly after the reset.
     */
    public void functionLevelReset() {
        synchronized (config) {
            // One mutation for config reads, which do not take the lock (ConfigSpace#read).
            config.beginWrite();
            try {
                config.restoreWritable(powerOn);
                powerState = PciRegs.PCI_D0;
                for (SparseMemory m : memory) {
                    if (m != null) {
                        m.clear();
                    }
                }
                for (CapabilityBehaviour b : behaviours) {
                    b.reset();
                }
            } finally {
                config.endWrite();
            }
        }
    }

    /**
     * Installs the model of the device behind the function's BARs (an NVMe controller), which
     * the function resets with itself ({@link DeviceModel#functionReset}) and hands out through
     * {@link #deviceModel(Class)}. Call while building, before the function is reachable on a bus.
     *
     * @throws HardwareConfigException if a device model is already installed
     */
    public void installDeviceModel(DeviceModel model) {
        Objects.requireNonNull(model, "model");
        synchronized (this) {
            if (deviceModel != null) {
                throw new HardwareConfigException(this + " already has a device model (" + deviceModel + ")");
            }
            deviceModel = model;
        }
        installResetHook(model);
    }

    /** The installed device model if it is a {@code type}, else empty. */
    public <T> Optional<T> deviceModel(Class<T> type) {
        DeviceModel m = deviceModel;
        return type.isInstance(m) ? Optional.of(type.cast(m)) : Optional.empty();
    }

    private void installResetHook(DeviceModel model) {
        CapabilityBehaviour hook = new CapabilityBehaviour() {
            @Override
            public void install(PciFunction function, Capability capability, ConfigLayout layout) {
            }

            @Override
            public void reset() {
                model.functionReset();
            }
        };
        synchronized (this) {
            CapabilityBehaviour[] old = behaviours;
            CapabilityBehaviour[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = hook;
            behaviours = grown;
        }
    }

    /** The PMCSR PowerState: 0 (D0) unless software moved the function to D1..D3hot. */
    public int powerState() {
        return powerState;
    }

    void powerState(int state) {
        powerState = state;
    }

    /* ---------------- message signalled interrupts ---------------- */

    void msi(MsiCapability c) {
        msi = c;
    }

    void msix(MsixCapability c) {
        msix = c;
    }

    /** COMMAND.MASTER: the function may issue memory requests (MSIs are memory writes). */
    boolean busMaster() {
        return powerState == PciRegs.PCI_D0 && (config.read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER) != 0;
    }

    /**
     * Makes the function signal message vector {@code vector}, as the device does when it has
     * an interrupt to raise: MSI-X entry {@code vector} if MSI-X is enabled, else MSI message
     * {@code vector} if MSI is enabled. Masks, enables and COMMAND.MASTER are honoured (see
     * {@link SignalResult}); the write itself goes upstream through the host bridge
     * ({@link HostBridgeHardware#dmaWrite}) tagged with this function's requester ID.
     *
     * <p>Never throws; safe from any thread.
     */
    public SignalResult signal(int vector) {
        MsixCapability x = msix;
        MsiCapability m = msi;
        if (x != null && x.enabled()) {
            return x.signal(vector);
        }
        if (m != null && m.enabled()) {
            return m.signal(vector);
        }
        return x == null && m == null ? SignalResult.NO_CAPABILITY : SignalResult.DISABLED;
    }

    /** The MSI-X pending bit of {@code entry} (false without MSI-X behaviour or out of range). */
    public boolean msixPending(int entry) {
        MsixCapability x = msix;
        return x != null && entry >= 0 && entry < x.entries() && x.pending(entry);
    }

    /**
     * The requester ID ({@code bus << 8 | device << 3 | function}) this function puts on its
     * requests, with the bus number as config cycles reach it NOW (a PCIe function captures its
     * bus number from the type 0 config requests it receives, so reprogramming bridges moves it);
     * -1 if the function is not placed behind a host bridge.
     */
    public int requesterId() {
        HostBridgeHardware hb = upstream;
        return hb == null ? -1 : hb.requesterIdOf(this);
    }

    void upstream(HostBridgeHardware hb) {
        upstream = hb;
    }

    /** Issues the 4-byte message write upstream. */
    SignalResult sendMessage(long address, int data) {
        HostBridgeHardware hb = upstream;
        if (hb == null) {
            return SignalResult.NOT_CONNECTED;
        }
        int rid = hb.requesterIdOf(this);
        if (rid < 0) {
            return SignalResult.NOT_CONNECTED;
        }
        hb.dmaWrite(rid, address, 4, Integer.toUnsignedLong(data));
        return SignalResult.SENT;
    }

    /* ---------------- device-initiated memory requests (DMA) ---------------- */

    /**
     * Makes the function read {@code size} bytes (1, 2, 4 or 8) at bus address
     * {@code pciAddress}, as its DMA engine would: nothing leaves the function unless
     * COMMAND.MASTER is set; then the request goes upstream tagged with the function's current
     * requester ID, through the host bridge's IOMMU (if its {@code iommu-map} covers the RID) to
     * RAM or a peer ({@link HostBridgeHardware#inboundRead}). For tests and device simulators.
     *
     * <p>Never throws for any address; safe from any thread.
     *
     * @return {@link DmaResult.Completed} with the data, or the {@link DmaResult.Fault}
     * @throws IllegalArgumentException if {@code size} is not 1, 2, 4 or 8 (a programming error)
     */
    public DmaResult dmaRead(long pciAddress, int size) {
        checkSize(size);
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, false);
        return refused != null ? refused : hb.inboundRead(rid, pciAddress, size);
    }

    /**
     * Makes the function write {@code size} bytes (1, 2, 4 or 8) of {@code value} at bus address
     * {@code pciAddress}; the path of {@link #dmaRead} (an MSI doorbell write is a message, as
     * for {@link #signal}).
     *
     * @return {@link DmaResult#DONE}, or the fault
     * @throws IllegalArgumentException if {@code size} is not 1, 2, 4 or 8 (a programming error)
     */
    public DmaResult dmaWrite(long pciAddress, int size, long value) {
        checkSize(size);
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, true);
        return refused != null ? refused : hb.inboundWrite(rid, pciAddress, size, value);
    }

    /**
     * A bulk read of {@code into.length} bytes from {@code pciAddress} (naturally aligned beats of
     * up to 8 bytes); stops at the first failing beat and returns its fault. Allocation-free when
     * it completes.
     *
     * @return {@link DmaResult#DONE}, or the fault of the first beat that failed
     */
    public DmaResult dmaRead(long pciAddress, byte[] into) {
        Objects.requireNonNull(into, "into");
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, false);
        return refused != null ? refused : hb.inboundRead(rid, pciAddress, into);
    }

    /** A bulk write of {@code data} to {@code pciAddress}; the counterpart of {@link #dmaRead(long, byte[])}. */
    public DmaResult dmaWrite(long pciAddress, byte[] data) {
        Objects.requireNonNull(data, "data");
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, true);
        return refused != null ? refused : hb.inboundWrite(rid, pciAddress, data);
    }

    /**
     * A bulk read into {@code into[off, off+len)}: {@link #dmaRead(long, byte[])} for part of an
     * array, so a device model can reuse one buffer. Allocation-free when it completes.
     *
     * @throws IndexOutOfBoundsException if the range is outside {@code into} (a programming error)
     */
    public DmaResult dmaRead(long pciAddress, byte[] into, int off, int len) {
        Objects.checkFromIndexSize(off, len, into.length);
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, false);
        return refused != null ? refused : hb.inboundRead(rid, pciAddress, into, off, len);
    }

    /** A bulk write of {@code data[off, off+len)}; the counterpart of {@link #dmaRead(long, byte[], int, int)}. */
    public DmaResult dmaWrite(long pciAddress, byte[] data, int off, int len) {
        Objects.checkFromIndexSize(off, len, data.length);
        HostBridgeHardware hb = upstream;
        int rid = hb == null ? -1 : hb.requesterIdOf(this);
        DmaResult refused = refused(rid, pciAddress, true);
        return refused != null ? refused : hb.inboundWrite(rid, pciAddress, data, off, len);
    }

    /** Why no request leaves the function, or null if it may issue one. */
    private DmaResult refused(int rid, long pciAddress, boolean write) {
        if (!busMaster()) {
            return new DmaResult.Fault(DmaResult.Reason.BUS_MASTER_OFF, null, -1, pciAddress, write);
        }
        if (rid < 0) {
            return new DmaResult.Fault(DmaResult.Reason.NOT_CONNECTED, null, -1, pciAddress, write);
        }
        return null;
    }

    private static void checkSize(int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("DMA size " + size + " is not 1, 2, 4 or 8");
        }
    }

    /* ---------------- BARs ---------------- */

    /** The implemented BARs and the ROM, by index. */
    public List<BarSpec> bars() {
        List<BarSpec> out = new ArrayList<>();
        for (BarSpec b : bars) {
            if (b != null) {
                out.add(b);
            }
        }
        return out;
    }

    /** The BAR at {@code index} (0..5, or {@link BarSpec#ROM_INDEX}), if implemented. */
    public Optional<BarSpec> bar(int index) {
        return index >= 0 && index < SLOTS ? Optional.ofNullable(bars[index]) : Optional.empty();
    }

    /**
     * The address currently programmed in BAR {@code index}: a PCI bus address in bytes, flag
     * bits removed, both halves for MEM64. Unimplemented BARs give 0. For a virtual function:
     * the PF's VF BAR {@code index} plus this VF's number times the VF BAR size.
     */
    public long barAddress(int index) {
        BarSpec b = index >= 0 && index < SLOTS ? bars[index] : null;
        if (b == null) {
            return 0;
        }
        SriovCapability pf = vfOf;
        if (pf != null) {
            return pf.vfBarAddress(index, vfNumber);
        }
        int off = b.registerOffset(headerType);
        int low = config.read(off, 4);
        switch (b.kind()) {
            case IO:
                return Integer.toUnsignedLong(low & PciRegs.PCI_BASE_ADDRESS_IO_MASK);
            case ROM:
                return Integer.toUnsignedLong(low & PciRegs.PCI_ROM_ADDRESS_MASK);
            case MEM64:
                return Integer.toUnsignedLong(low & PciRegs.PCI_BASE_ADDRESS_MEM_MASK)
                        | (long) config.read(off + 4, 4) << 32;
            default:
                return Integer.toUnsignedLong(low & PciRegs.PCI_BASE_ADDRESS_MEM_MASK);
        }
    }

    /**
     * True if some BAR of this function (decode state aside) overlaps {@code [lo, hi]} of the
     * memory ({@code io} false) or I/O space: the function may claim an access there. Used to
     * narrow a bus's memory routing to the functions that can matter ({@link PciBus}).
     */
    boolean mayDecodeIn(long lo, long hi, boolean io) {
        for (int i = 0; i < SLOTS; i++) {
            BarSpec b = bars[i];
            if (b == null || (b.kind() == BarKind.IO) != io) {
                continue;
            }
            long base = barAddress(i);
            long last = lastByte(base, b.size());
            if (Long.compareUnsigned(base, hi) <= 0 && Long.compareUnsigned(lo, last) <= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The BARs of this function (decode state aside) overlapping {@code [lo, hi]} of the memory
     * ({@code io} false) or I/O space, as {first byte, last byte} pairs in {@code out} (room for
     * 7 pairs); returns how many. What {@link PciBus} indexes a block's BARs by.
     */
    int rangesIn(long lo, long hi, boolean io, long[] out) {
        int n = 0;
        for (int i = 0; i < SLOTS; i++) {
            BarSpec b = bars[i];
            if (b == null || (b.kind() == BarKind.IO) != io) {
                continue;
            }
            long base = barAddress(i);
            long last = lastByte(base, b.size());
            if (Long.compareUnsigned(base, hi) <= 0 && Long.compareUnsigned(lo, last) <= 0) {
                out[2 * n] = base;
                out[2 * n + 1] = last;
                n++;
            }
        }
        return n;
    }

    /**
     * The last byte of a BAR at {@code base}: a BAR the model placed off its size alignment
     * near the top of the space ends at the top, as {@link #decodeBar} decodes it (no wrap to 0).
     */
    private static long lastByte(long base, long size) {
        long last = base + size - 1;
        return Long.compareUnsigned(last, base) < 0 ? -1L : last;
    }

    /**
     * The BAR that claims a bus access at {@code pciAddress}, or -1: memory BARs with
     * COMMAND.MEMORY, I/O BARs with COMMAND.IO, the ROM with its enable bit and COMMAND.MEMORY;
     * nothing outside power state D0.
     *
     * @param io true for an I/O space access, false for memory space
     */
    public int decodeBar(long pciAddress, boolean io) {
        if (powerState != PciRegs.PCI_D0) {
            return -1;
        }
        SriovCapability pf = vfOf;
        if (pf != null) {
            // A VF's memory decode is the PF's VF MSE, not its own COMMAND.MEMORY (hardwired 0).
            if (io || !pf.vfMemoryEnabled()) {
                return -1;
            }
        } else {
            int cmd = config.read(PciRegs.PCI_COMMAND, 2);
            if ((cmd & (io ? PciRegs.PCI_COMMAND_IO : PciRegs.PCI_COMMAND_MEMORY)) == 0) {
                return -1;
            }
        }
        for (int i = 0; i < SLOTS; i++) {
            BarSpec b = bars[i];
            if (b == null || (b.kind() == BarKind.IO) != io) {
                continue;
            }
            if (b.kind() == BarKind.ROM
                    && (config.read(b.registerOffset(headerType), 4) & PciRegs.PCI_ROM_ADDRESS_ENABLE) == 0) {
                continue;
            }
            long base = barAddress(i);
            if (Long.compareUnsigned(pciAddress, base) >= 0 && Long.compareUnsigned(pciAddress - base, b.size()) < 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Reads {@code size} bytes at {@code offset} bytes into BAR {@code index}, whatever the
     * decode state (the device's own view). An overlay covering the first byte serves it; an
     * access running past the BAR or an overlay end, or to an unimplemented BAR, reads all-ones.
     */
    public long barRead(int index, long offset, int size) {
        SparseMemory mem = index >= 0 && index < SLOTS ? memory[index] : null;
        if (mem == null || !mem.contains(offset, size)) {
            return ones(size);
        }
        Overlay[] ovs = overlays[index];
        for (int k = 0; k < ovs.length; k++) {
            Overlay o = ovs[k];
            if (offset >= o.offset && offset < o.offset + o.size) {
                return offset + size <= o.offset + o.size ? o.device.read(offset - o.offset, size) : ones(size);
            }
        }
        return mem.read(offset, size);
    }

    /** Writes into BAR {@code index}; the counterpart of {@link #barRead} (bad accesses dropped). */
    public void barWrite(int index, long offset, int size, long value) {
        SparseMemory mem = index >= 0 && index < SLOTS ? memory[index] : null;
        if (mem == null || !mem.contains(offset, size)) {
            return;
        }
        Overlay[] ovs = overlays[index];
        for (int k = 0; k < ovs.length; k++) {
            Overlay o = ovs[k];
            if (offset >= o.offset && offset < o.offset + o.size) {
                if (offset + size <= o.offset + o.size) {
                    o.device.write(offset - o.offset, size, value);
                }
                return;
            }
        }
        mem.write(offset, size, value);
    }

    /** The plain memory behind BAR {@code index} (without overlays). */
    public SparseMemory memory(int index) {
        SparseMemory mem = index >= 0 && index < SLOTS ? memory[index] : null;
        if (mem == null) {
            throw new IllegalArgumentException("BAR " + index + " is not implemented");
        }
        return mem;
    }

    /**
     * Places {@code device} over {@code [offset, offset+size)} bytes of BAR {@code index}; the
     * device sees offsets relative to {@code offset}. Overlays of one BAR must not overlap.
     *
     * @throws HardwareConfigException if the BAR is unimplemented, the region leaves it or overlaps an overlay
     */
    public synchronized void overlay(int index, long offset, long size, MmioDevice device) {
        Objects.requireNonNull(device, "device");
        SparseMemory mem = index >= 0 && index < SLOTS ? memory[index] : null;
        if (mem == null) {
            throw new HardwareConfigException("overlay on BAR " + index + ": BAR not implemented");
        }
        if (size <= 0 || !mem.contains(offset, size)) {
            throw new HardwareConfigException("overlay " + Hex.of(offset) + "+" + Hex.of(size) + " outside BAR " + index
                    + " of size " + Hex.of(mem.size()));
        }
        Overlay[] old = overlays[index];
        for (Overlay o : old) {
            if (offset < o.offset + o.size && o.offset < offset + size) {
                throw new HardwareConfigException("overlay " + Hex.of(offset) + "+" + Hex.of(size) + " in BAR " + index
                        + " overlaps " + Hex.of(o.offset) + "+" + Hex.of(o.size));
            }
        }
        Overlay[] grown = Arrays.copyOf(old, old.length + 1);
        grown[old.length] = new Overlay(offset, size, device);
        Overlay[][] all = overlays.clone();
        all[index] = grown;
        overlays = all;
    }

    /* ---------------- bridge windows ---------------- */

    /* ---------------- what config changes move routes ---------------- */

    void onBus(PciBus bus) {
        onBus = bus;
    }

    /** Dword of a type 1 header's I/O base and limit (its high half is Secondary Status). */
    private static final int IO_WINDOW_DWORD = PciRegs.PCI_IO_BASE >> 2;
    /** Dword of a type 1 header's primary, secondary and subordinate bus numbers (byte 3: latency timer). */
    private static final int BUS_NUMBERS_DWORD = PciRegs.PCI_PRIMARY_BUS >> 2;

    /**
     * Config dword {@code idx} of this function changed from {@code old} to {@code now} (any
     * path: software, the model, a reset; under the config-space lock). Routes cached from the
     * old value are dropped, and only those: a bus's memory routes
     * ({@link PciBus#routeMemory}) depend on where its functions' BARs sit and, for bridges,
     * on the windows and COMMAND.MEMORY/IO (PCI-to-PCI Bridge 1.2, 3.2.5.6-3.2.5.9); a host
     * bridge's config routes on the bridges' bus numbers (3.2.5.3). Every other register
     * (status, MSI/MSI-X, an endpoint's COMMAND, power state) is read live at each access, so
     * dom0 and Xen writing it between two table accesses keep the cache warm.
     */
    void configChanged(int idx, int old, int now) {
        int diff = old ^ now;
        boolean moved;
        if (headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE) {
            if (idx == BUS_NUMBERS_DWORD && (diff & 0x00ffffff) != 0) {
                HostBridgeHardware hb = upstream;
                if (hb != null) {
                    hb.busNumbersChanged();
                }
            }
            moved = idx == PciRegs.PCI_BASE_ADDRESS_0 >> 2 || idx == (PciRegs.PCI_BASE_ADDRESS_0 >> 2) + 1
                    || idx == PciRegs.PCI_ROM_ADDRESS1 >> 2
                    || (idx == PciRegs.PCI_COMMAND >> 2 && (diff & (PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_IO)) != 0)
                    || (idx == IO_WINDOW_DWORD && (diff & 0xffff) != 0)
                    || (idx > IO_WINDOW_DWORD && idx <= PciRegs.PCI_IO_BASE_UPPER16 >> 2);
        } else {
            moved = (idx >= PciRegs.PCI_BASE_ADDRESS_0 >> 2 && idx <= PciRegs.PCI_BASE_ADDRESS_5 >> 2)
                    || idx == PciRegs.PCI_ROM_ADDRESS >> 2;
        }
        if (moved) {
            PciBus bus = onBus;
            if (bus != null) {
                bus.decodeChanged();
            }
        }
    }

    /** Primary bus number register (type 1 only; 0 for endpoints). */
    public int primaryBus() {
        return isBridge() ? config.read(PciRegs.PCI_PRIMARY_BUS, 1) : 0;
    }

    /** Secondary bus number register (type 1 only; 0 for endpoints). */
    public int secondaryBus() {
        return isBridge() ? config.read(PciRegs.PCI_SECONDARY_BUS, 1) : 0;
    }

    /** Subordinate bus number register (type 1 only; 0 for endpoints). */
    public int subordinateBus() {
        return isBridge() ? config.read(PciRegs.PCI_SUBORDINATE_BUS, 1) : 0;
    }

    /**
     * True if this bridge forwards a memory (or I/O) access at {@code pciAddress} to its
     * secondary bus: COMMAND.MEMORY (IO) set and the address inside the memory window or the
     * prefetchable window (I/O window). PCI-to-PCI Bridge 1.2, 3.2.5.6 (I/O: 4 KiB
     * granularity), 3.2.5.8 (memory: 1 MiB), 3.2.5.9 (prefetchable, with upper 32 bits).
     * A window whose base is above its limit is closed.
     */
    public boolean forwards(long pciAddress, boolean io) {
        if (!isBridge()) {
            return false;
        }
        int cmd = config.read(PciRegs.PCI_COMMAND, 2);
        if (io) {
            if ((cmd & PciRegs.PCI_COMMAND_IO) == 0) {
                return false;
            }
            long base = (long) (config.read(PciRegs.PCI_IO_BASE, 1) & 0xf0) << 8
                    | (long) config.read(PciRegs.PCI_IO_BASE_UPPER16, 2) << 16;
            long limit = (long) (config.read(PciRegs.PCI_IO_LIMIT, 1) & 0xf0) << 8 | 0xfff
                    | (long) config.read(PciRegs.PCI_IO_LIMIT_UPPER16, 2) << 16;
            return inWindow(pciAddress, base, limit);
        }
        if ((cmd & PciRegs.PCI_COMMAND_MEMORY) == 0) {
            return false;
        }
        long memBase = (long) (config.read(PciRegs.PCI_MEMORY_BASE, 2) & 0xfff0) << 16;
        long memLimit = (long) (config.read(PciRegs.PCI_MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xfffff;
        if (inWindow(pciAddress, memBase, memLimit)) {
            return true;
        }
        long prefBase = (long) (config.read(PciRegs.PCI_PREF_MEMORY_BASE, 2) & 0xfff0) << 16
                | (long) config.read(PciRegs.PCI_PREF_BASE_UPPER32, 4) << 32;
        long prefLimit = (long) (config.read(PciRegs.PCI_PREF_MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xfffff
                | (long) config.read(PciRegs.PCI_PREF_LIMIT_UPPER32, 4) << 32;
        return inWindow(pciAddress, prefBase, prefLimit);
    }

    private static boolean inWindow(long addr, long base, long limit) {
        return Long.compareUnsigned(base, limit) <= 0
                && Long.compareUnsigned(addr, base) >= 0 && Long.compareUnsigned(addr, limit) <= 0;
    }

    /**
     * True if this bridge is a PCIe root port or switch downstream port: its link has a single
     * device, so a type 0 config request to a device number other than 0 on its secondary bus
     * completes as Unsupported Request (PCIe Base 5.0 7.3.1, no ARI forwarding modelled).
     */
    public boolean isPcieDownstreamPort() {
        return isBridge() && (pcieType == PciRegs.PCI_EXP_TYPE_ROOT_PORT || pcieType == PciRegs.PCI_EXP_TYPE_DOWNSTREAM);
    }

    /** The bus behind this bridge, or null for an endpoint or a bridge not yet placed. */
    PciBus secondaryBusSlots() {
        return secondary;
    }

    synchronized boolean isPlaced() {
        return placed;
    }

    synchronized void markPlaced() {
        if (placed) {
            throw new HardwareConfigException(this + " is already placed in a topology");
        }
        placed = true;
    }

    void attachSecondary(PciBus bus) {
        if (!isBridge()) {
            throw new HardwareConfigException("only a type 1 function can have a subtree");
        }
        if (secondary != null) {
            throw new HardwareConfigException("bridge function already placed in a topology");
        }
        secondary = bus;
    }

    static long ones(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    @Override
    public String toString() {
        if (vfOf != null) {
            return String.format("PciFunction[VF %d of %04x:%04x, VF device %04x]", vfNumber, vfOf.physicalFunction().vendorId(),
                    vfOf.physicalFunction().deviceId(), vfOf.vfDeviceId());
        }
        return String.format("PciFunction[%04x:%04x class %06x type %d]", vendorId(), deviceId(), classCode(), headerType);
    }
}
