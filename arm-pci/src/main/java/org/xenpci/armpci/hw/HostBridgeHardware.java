package org.xenpci.armpci.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioBinding;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.EcamAddress;

/**
 * One PCIe host controller as the hardware sees it: an ECAM config window, a root bus of device
 * slots (with bridges and their subtrees) and outbound apertures. Knows nothing of Xen: software
 * reaches it only through the {@link PhysicalAddressSpace} after {@link #attach}.
 *
 * <p>ECAM window (PCIe Base 7.2.2): window offset 0 is bus {@link #firstBus()}; the bus of an
 * access is {@code firstBus + EcamAddress.bus(offset)}. Access widths at the window:
 * <ul>
 * <li>1, 2 or 4 bytes within one dword: one config access (unaligned inside the dword is allowed);</li>
 * <li>8 bytes at a 4-byte aligned offset: two 4-byte config accesses, low dword first;</li>
 * <li>anything else that crosses a dword boundary: split into single bytes, each decoded on its
 *     own (so the bytes past 0xfff belong to the next function);</li>
 * <li>other sizes: read all-ones, writes dropped.</li>
 * </ul>
 * Nothing at (bus, device, function): reads all-ones (master abort), writes dropped.
 *
 * <p>Apertures translate a CPU address to a PCI address and hand it to the function whose enabled
 * BAR claims it, descending through bridge windows; unclaimed: all-ones / dropped. An access is
 * routed by its first byte; one that runs past the claiming BAR's end reads all-ones.
 *
 * <p>Inbound (device-initiated) requests: {@link #inboundRead} / {@link #inboundWrite} (MSI
 * doorbells, then the {@code iommu-map}'s {@link InboundTranslator}, then RAM or the physical
 * address space); see docs/architecture.md, "The DMA path".
 *
 * <p>Thread-safety: the topology is immutable after {@link Builder#build()}; concurrent accesses
 * are serialised per function by its config space. Bus accesses never throw and allocate nothing.
 */
public final class HostBridgeHardware {
    private static final Logger LOG = LoggerFactory.getLogger(HostBridgeHardware.class);

    private final String name;
    private final long ecamBase;
    private final long ecamSize;
    private final int firstBus;
    private final PciBus rootBus;
    private final List<Aperture> apertures;
    private final MsiMap msiMap;
    private final Map<Integer, MsiController> msiControllers;
    private final MsiController[] controllers;
    /** {@link #msiControllers} as parallel arrays: the message path looks up without boxing. */
    private final int[] controllerPhandles;
    private final MsiController[] controllersByPhandle;
    /** Raw {@code iommu-map} cells, or null: no IOMMU in the inbound path. */
    private final int[] iommuMap;
    private final int iommuMapMask;
    /** Per {@code iommu-map} entry, the IOMMU its phandle names (null: none connected). */
    private final InboundTranslator[] iommuByEntry;
    private volatile PhysicalAddressSpace space;
    private final MmioDevice ecamDevice = new EcamWindowDevice();
    /** The DesignWare config side, or null for an ECAM bridge. */
    private final DesignWareRootComplex designWare;

    private HostBridgeHardware(Builder b) {
        this.name = b.name;
        this.ecamBase = b.ecamBase;
        this.ecamSize = b.ecamSize;
        this.firstBus = b.firstBus;
        this.apertures = List.copyOf(b.apertures);
        this.rootBus = b.root.build();
        this.msiMap = b.msiMap;
        this.msiControllers = Map.copyOf(b.msiControllers);
        this.controllers = msiControllers.values().toArray(new MsiController[0]);
        this.controllerPhandles = new int[msiControllers.size()];
        this.controllersByPhandle = new MsiController[msiControllers.size()];
        int k = 0;
        for (Map.Entry<Integer, MsiController> e : msiControllers.entrySet()) {
            controllerPhandles[k] = e.getKey();
            controllersByPhandle[k++] = e.getValue();
        }
        this.iommuMap = b.iommuMap;
        this.iommuMapMask = b.iommuMapMask;
        this.iommuByEntry = new InboundTranslator[iommuMap == null ? 0 : iommuMap.length / 4];
        for (int i = 0; i < iommuByEntry.length; i++) {
            iommuByEntry[i] = b.iommus.get(iommuMap[i * 4 + 1]);
        }
        this.designWare = b.designWare == null ? null : new DesignWareRootComplex(this, b.designWare);
        if (designWare != null) {
            for (int d = 1; d < 32; d++) {
                if (rootBus.device(d) != null) {
                    throw new HardwareConfigException("DesignWare host bridge " + name
                            + ": the root bus holds only the root port (device 0), not device " + d);
                }
            }
        }
        rootBus.connect(this);
    }

    /**
     * The DesignWare root complex registers and config window, for a bridge built with
     * {@link Builder#designWare}; empty for an ECAM bridge.
     */
    public java.util.Optional<DesignWareRootComplex> designWare() {
        return java.util.Optional.ofNullable(designWare);
    }

    /** A builder; {@link Builder#ecam} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** Name used for the regions registered on the address space. */
    public String name() {
        return name;
    }

    /** ECAM window base (CPU physical address, bytes). */
    public long ecamBase() {
        return ecamBase;
    }

    /** ECAM window size in bytes (1 MiB per bus). */
    public long ecamSize() {
        return ecamSize;
    }

    /** Bus number of window offset 0 (the start of the DT {@code bus-range}); the root bus. */
    public int firstBus() {
        return firstBus;
    }

    /** Last bus the window reaches: {@code firstBus + ecamSize / 1 MiB - 1}, at most 255. */
    public int lastBus() {
        return (int) Math.min(255, firstBus + (ecamSize >>> 20) - 1);
    }

    /** The outbound apertures in the order given. */
    public List<Aperture> apertures() {
        return apertures;
    }

    /** The root bus's slots. */
    public PciBus rootBus() {
        return rootBus;
    }

    /** The ECAM window as a bus target (offsets relative to {@link #ecamBase()}). */
    public MmioDevice ecamWindow() {
        return ecamDevice;
    }

    /**
     * Registers the ECAM window ({@code <name>-ecam}) and every aperture
     * ({@code <name>-<kind>@<cpuAddress>}) on {@code space}.
     *
     * @throws IllegalArgumentException if a region overlaps one already registered
     */
    public void attach(PhysicalAddressSpace space) {
        if (designWare == null) {
            space.register(name + "-ecam", ecamBase, ecamSize, ecamDevice);
        } else {
            DesignWareRootComplex dw = designWare;
            space.register(name + "-dbi", dw.dbiBase(), dw.dbiSize(), dw.dbiDevice());
            space.register(name + "-atu", dw.atuBase(), dw.atuSize(), dw.atuDevice());
            space.register(name + "-app", dw.appBase(), dw.appSize(), dw.appDevice());
            space.register(name + "-config", dw.configBase(), dw.configSize(), dw.configDevice());
        }
        this.space = space;
        for (Aperture a : apertures) {
            space.register(name + "-" + a.kind().name().toLowerCase(Locale.ROOT) + "@" + Hex.of(a.cpuAddress()),
                    a.cpuAddress(), a.size(), new ApertureDevice(a));
        }
    }

    /**
     * The function at absolute bus number {@code bus}, device, function as config cycles reach it
     * now (through the bridges' current bus registers), or null (master abort).
     */
    public PciFunction functionAt(int bus, int device, int function) {
        if (bus < firstBus || bus > 255 || device < 0 || device > 31 || function < 0 || function > 7) {
            return null;
        }
        RouteCache c = routes;
        long epoch = configEpoch.get();
        if (c.epoch != epoch) {
            c = new RouteCache(epoch);
            routes = c;
        }
        PciBus.Route r = c.routes[bus];
        if (r == null) {
            // Found by walking the bridges (PCI-to-PCI Bridge 1.2, 3.2.5.3), kept until one of
            // this host bridge's bridges changes its bus numbers: a walk per access costs
            // O(bridges on the path).
            r = rootBus.route(firstBus, bus);
            c.routes[bus] = r;
        }
        return PciBus.functionOn(r, device, function);
    }

    /**
     * Routes per absolute bus number, valid for one config epoch. Racing fillers store the
     * same route; a {@link PciBus.Route} has only final fields, so a racy read sees it whole.
     */
    private static final class RouteCache {
        final long epoch;
        final PciBus.Route[] routes = new PciBus.Route[256];

        RouteCache(long epoch) {
            this.epoch = epoch;
        }
    }

    private volatile RouteCache routes = new RouteCache(-1);

    /**
     * Counts changes to what answers a config request behind this host bridge, at every point
     * where that can change: the bus number registers (dword 0x18 of a type 1 header, by any
     * path: software, the model, a reset) of the bridges behind it, and the set of SR-IOV
     * virtual functions of a PF behind it (VF Enable set or cleared, a PF reset). Nothing else
     * moves a config target: slots and bridges are fixed once built (no hot-plug is modelled),
     * First VF Offset and VF Stride are read-only (ARI does not change them in the model), and
     * the root bus number is the window's. Routes ({@link #functionAt}) and function ports
     * ({@link #ecamWindow()}'s bindings) found under an older count are found again. Bridges
     * behind another host bridge leave it alone. The count is bumped after the change is
     * visible, and readers load it before they walk, so a walk racing a change is filed under
     * the older count.
     */
    private final java.util.concurrent.atomic.AtomicLong configEpoch = new java.util.concurrent.atomic.AtomicLong();

    /** Called by a bridge behind this host bridge when its bus numbers change. */
    void busNumbersChanged() {
        configEpoch.incrementAndGet();
    }

    /** Called by an SR-IOV PF behind this host bridge when its set of VFs changes (after publishing it). */
    void virtualFunctionsChanged() {
        configEpoch.incrementAndGet();
    }

    /** A config read at absolute {@code bus}: all-ones when nothing answers. Size 1, 2 or 4. */
    public int configRead(int bus, int device, int function, int reg, int size) {
        PciFunction f = functionAt(bus, device, function);
        if (f == null || reg < 0 || reg + size > ConfigSpace.SIZE || (size != 1 && size != 2 && size != 4)) {
            return (int) PciFunction.ones(size);
        }
        return f.config().read(reg, size);
    }

    /** A config write at absolute {@code bus}: dropped when nothing answers. Size 1, 2 or 4. */
    public void configWrite(int bus, int device, int function, int reg, int size, int value) {
        PciFunction f = functionAt(bus, device, function);
        if (f == null || reg < 0 || reg + size > ConfigSpace.SIZE || (size != 1 && size != 2 && size != 4)) {
            masterAbortWrite(bus, device, function, reg);
            return;
        }
        f.config().write(reg, size, value);
    }

    private void masterAbortWrite(int bus, int device, int function, int reg) {
        if (LOG.isTraceEnabled()) {
            LOG.trace("{}: config write to {}:{}.{} reg {} dropped (master abort)", name,
                    Hex.of(bus), Hex.of(device), function, Hex.of(reg));
        }
    }

    /** The function claiming a PCI memory/I/O address now, or null. */
    public PciFunction memoryTarget(long pciAddress, boolean io) {
        return rootBus.routeMemory(pciAddress, io);
    }

    /** The bridge's requester-ID to MSI-controller mapping (its DT {@code msi-map}). */
    public MsiMap msiMap() {
        return msiMap;
    }

    /**
     * The requester ID of {@code function} as currently routed ({@code bus << 8 | devfn}, bus
     * from the bridges' current secondary bus registers), or -1 if it is not behind this bridge.
     */
    public int requesterIdOf(PciFunction function) {
        return rootBus.locate(function, firstBus);
    }

    /**
     * An inbound memory write by requester {@code requesterId}, result discarded: the MSI path
     * ({@link PciFunction#signal}). Same path as {@link #inboundWrite}.
     *
     * @param size bytes: 1, 2, 4 or 8
     */
    public void dmaWrite(int requesterId, long pciAddress, int size, long value) {
        DmaResult r = inboundWrite(requesterId, pciAddress, size, value);
        if (r instanceof DmaResult.Fault f && LOG.isDebugEnabled()) {
            LOG.debug("{}: inbound write from RID {} to {} failed: {}", name, Hex.of(requesterId), Hex.of(pciAddress), f);
        }
    }

    /** The MSI controller wired under {@code phandle}, or null; allocation-free (a short scan). */
    private MsiController controllerByPhandle(int phandle) {
        for (int i = 0; i < controllerPhandles.length; i++) {
            if (controllerPhandles[i] == phandle) {
                return controllersByPhandle[i];
            }
        }
        return null;
    }

    /**
     * True if the bridge's {@code iommu-map} puts requester {@code requesterId} behind an IOMMU
     * (an entry covers it); false means its DMA reaches the physical address space 1:1.
     */
    public boolean behindIommu(int requesterId) {
        return iommuMap != null && StreamMap.lookup(requesterId, iommuMap, iommuMapMask) != StreamMap.NO_MATCH;
    }

    /**
     * Where the bridge sends requester {@code requesterId}'s DMA as the hardware is wired now:
     * the IOMMU and stream ID its {@code iommu-map} entry gives, or empty if no entry covers it
     * (1:1 to the physical address space). An entry naming an IOMMU the bridge is not wired to
     * gives a route with a null {@code iommu} (such requests are refused). For auditors.
     */
    public java.util.Optional<IommuRoute> iommuRoute(int requesterId) {
        if (iommuMap == null) {
            return java.util.Optional.empty();
        }
        long m = StreamMap.lookup(requesterId, iommuMap, iommuMapMask);
        if (m == StreamMap.NO_MATCH) {
            return java.util.Optional.empty();
        }
        InboundTranslator iommu = m >= 0 ? iommuByEntry[StreamMap.entry(m)] : null;
        return java.util.Optional.of(new IommuRoute(iommu, m >= 0 ? StreamMap.streamId(m) : -1));
    }

    /**
     * One requester's way through an IOMMU.
     *
     * @param iommu the IOMMU hardware, or null if the {@code iommu-map} entry names none this bridge has
     * @param streamId the stream ID the request carries into it (-1 for a malformed entry)
     */
    public record IommuRoute(InboundTranslator iommu, long streamId) {
    }

    /**
     * An inbound memory write (DMA) of {@code size} bytes by the function with requester ID
     * {@code requesterId} at bus address {@code pciAddress}. The path, in order:
     * <ol>
     * <li>MSI: if the bridge's {@link #msiMap()} maps the requester to a connected MSI controller
     *     and the address is that controller's doorbell, the controller receives the write with
     *     the mapped DeviceID (the ITS sideband). This happens before the IOMMU: see docs/msi.md,
     *     "MSI writes and the SMMU".</li>
     * <li>IOMMU: if the bridge's {@code iommu-map} has an entry for the requester, the named
     *     IOMMU translates stream {@code iommu-base + (rid - rid-base)}; a fault ends the request
     *     ({@link DmaResult.Reason#IOMMU_FAULT}); an entry naming no connected IOMMU, or a
     *     malformed entry, gives {@link DmaResult.Reason#UNSUPPORTED_REQUEST}. A requester the map
     *     does not cover (or a bridge without {@code iommu-map}) is not behind an IOMMU: its
     *     address is a machine address, 1:1, as on real hardware without an SMMU.</li>
     * <li>Target: RAM the translation names, or the physical address space; an address nothing
     *     claims (no region; an aperture no enabled BAR decodes) is an Unsupported Request.</li>
     * </ol>
     * Never throws for any address; allocation-free when it completes (given an IOMMU that
     * caches its windows).
     *
     * @param size bytes: 1, 2, 4 or 8 (others: {@link DmaResult.Reason#UNSUPPORTED_REQUEST})
     */
    public DmaResult inboundWrite(int requesterId, long pciAddress, int size, long value) {
        if (!validSize(size)) {
            return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, true);
        }
        // Only a write that hits some controller's doorbell needs the msi-map; allocation-free.
        if (!msiMap.isEmpty() && anyDoorbell(pciAddress, size)) {
            long t = msiMap.translate(requesterId);
            if (t != MsiMap.NO_TRANSLATION) {
                MsiController c = controllerByPhandle((int) (t >>> 32));
                if (c != null && c.isDoorbell(pciAddress, size)) {
                    c.message((int) t, pciAddress, size, value);
                    return DmaResult.DONE;
                }
            }
        }
        InboundTranslation t = translate(requesterId, pciAddress, true);
        if (!(t instanceof InboundTranslation.Window w)) {
            return fault(t, requesterId, pciAddress, true);
        }
        if (!w.contains(pciAddress, size)) {
            // A single byte outside its own window is the unreachable top of the 64-bit space.
            return size == 1 ? new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, true)
                    : splitWrite(requesterId, pciAddress, size, value);
        }
        if (w.memory() != null) {
            w.memory().write(w.memOffset() + (pciAddress - w.inputBase()), size, value);
            return DmaResult.DONE;
        }
        long maddr = w.outputBase() + (pciAddress - w.inputBase());
        PhysicalAddressSpace.Region r = claimant(maddr, size);
        if (r == null) {
            return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, true);
        }
        r.device().write(maddr - r.base(), size, value);
        return DmaResult.DONE;
    }

    /**
     * An inbound memory read (DMA); the path is {@link #inboundWrite}'s without the MSI step.
     * A read that completes returns {@link DmaResult.Completed} with the data.
     *
     * @param size bytes: 1, 2, 4 or 8 (others: {@link DmaResult.Reason#UNSUPPORTED_REQUEST})
     */
    public DmaResult inboundRead(int requesterId, long pciAddress, int size) {
        return read(requesterId, pciAddress, size, null, 0);
    }

    /**
     * One read beat: with {@code into} null the data comes back in a {@link DmaResult.Completed};
     * otherwise it is stored little-endian at {@code into[off..]} and {@link DmaResult#DONE}
     * returned, so bulk reads allocate nothing.
     */
    private DmaResult read(int requesterId, long pciAddress, int size, byte[] into, int off) {
        if (!validSize(size)) {
            return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, false);
        }
        InboundTranslation t = translate(requesterId, pciAddress, false);
        if (!(t instanceof InboundTranslation.Window w)) {
            return fault(t, requesterId, pciAddress, false);
        }
        long v;
        if (!w.contains(pciAddress, size)) {
            if (size == 1) {
                return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, false);
            }
            DmaResult r = splitRead(requesterId, pciAddress, size);
            if (!(r instanceof DmaResult.Completed c)) {
                return r;
            }
            v = c.value();
        } else if (w.memory() != null) {
            v = w.memory().read(w.memOffset() + (pciAddress - w.inputBase()), size);
        } else {
            long maddr = w.outputBase() + (pciAddress - w.inputBase());
            PhysicalAddressSpace.Region r = claimant(maddr, size);
            if (r == null) {
                return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, requesterId, pciAddress, false);
            }
            v = r.device().read(maddr - r.base(), size);
        }
        if (into == null) {
            return new DmaResult.Completed(v);
        }
        for (int k = 0; k < size; k++) {
            into[off + k] = (byte) (v >>> (8 * k));
        }
        return DmaResult.DONE;
    }

    /**
     * A bulk inbound write: {@code data} to consecutive bus addresses from {@code pciAddress},
     * as a device's DMA engine issues it (8-byte beats where aligned, then smaller ones). Stops
     * at the first beat that fails and returns that fault; beats before it have landed, as on
     * real hardware. Returns {@link DmaResult#DONE} when all landed.
     */
    public DmaResult inboundWrite(int requesterId, long pciAddress, byte[] data) {
        return inboundWrite(requesterId, pciAddress, data, 0, data.length);
    }

    /**
     * A bulk inbound write of {@code data[off, off+len)}; {@link #inboundWrite(int, long, byte[])}
     * for part of an array, so a device model can reuse one buffer. Allocation-free when it completes.
     *
     * @throws IndexOutOfBoundsException if the range is outside {@code data} (a programming error)
     */
    public DmaResult inboundWrite(int requesterId, long pciAddress, byte[] data, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, data.length);
        int i = 0;
        while (i < len) {
            int beat = beat(pciAddress + i, len - i);
            long v = 0;
            for (int k = 0; k < beat; k++) {
                v |= (data[off + i + k] & 0xffL) << (8 * k);
            }
            DmaResult r = inboundWrite(requesterId, pciAddress + i, beat, v);
            if (r instanceof DmaResult.Fault) {
                return r;
            }
            i += beat;
        }
        return DmaResult.DONE;
    }

    /**
     * A bulk inbound read into {@code into}, beat by beat like {@link #inboundWrite(int, long,
     * byte[])}; stops at the first fault (bytes read so far are in {@code into}).
     */
    public DmaResult inboundRead(int requesterId, long pciAddress, byte[] into) {
        return inboundRead(requesterId, pciAddress, into, 0, into.length);
    }

    /**
     * A bulk inbound read into {@code into[off, off+len)}; {@link #inboundRead(int, long, byte[])}
     * for part of an array. Allocation-free when it completes.
     *
     * @throws IndexOutOfBoundsException if the range is outside {@code into} (a programming error)
     */
    public DmaResult inboundRead(int requesterId, long pciAddress, byte[] into, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, into.length);
        int i = 0;
        while (i < len) {
            int beat = beat(pciAddress + i, len - i);
            DmaResult r = read(requesterId, pciAddress + i, beat, into, off + i);
            if (r instanceof DmaResult.Fault) {
                return r;
            }
            i += beat;
        }
        return DmaResult.DONE;
    }

    /** The largest naturally aligned beat (8, 4, 2, 1) at {@code address} within {@code left} bytes. */
    private static int beat(long address, int left) {
        for (int b = 8; b > 1; b >>= 1) {
            if ((address & (b - 1)) == 0 && left >= b) {
                return b;
            }
        }
        return 1;
    }

    private boolean anyDoorbell(long address, int size) {
        for (MsiController c : controllers) {
            if (c.isDoorbell(address, size)) {
                return true;
            }
        }
        return false;
    }

    private static boolean validSize(int size) {
        return size == 1 || size == 2 || size == 4 || size == 8;
    }

    /** An access that runs past its window's end goes byte by byte, each translated (rare). */
    private DmaResult splitWrite(int rid, long pciAddress, int size, long value) {
        for (int k = 0; k < size; k++) {
            DmaResult r = inboundWrite(rid, pciAddress + k, 1, (value >>> (8 * k)) & 0xff);
            if (r instanceof DmaResult.Fault) {
                return r;
            }
        }
        return DmaResult.DONE;
    }

    private DmaResult splitRead(int rid, long pciAddress, int size) {
        long v = 0;
        for (int k = 0; k < size; k++) {
            DmaResult r = inboundRead(rid, pciAddress + k, 1);
            if (!(r instanceof DmaResult.Completed c)) {
                return r;
            }
            v |= c.value() << (8 * k);
        }
        return new DmaResult.Completed(v);
    }

    /** The IOMMU step: the window for (requester, address), or why not. */
    private InboundTranslation translate(int requesterId, long pciAddress, boolean write) {
        if (iommuMap == null) {
            return InboundTranslation.Window.IDENTITY;
        }
        long m = StreamMap.lookup(requesterId, iommuMap, iommuMapMask);
        if (m == StreamMap.NO_MATCH) {
            return InboundTranslation.Window.IDENTITY;
        }
        InboundTranslator iommu = m >= 0 ? iommuByEntry[StreamMap.entry(m)] : null;
        if (iommu == null) {
            return null; // a malformed entry, or a phandle naming no IOMMU this bridge is wired to
        }
        long sid = StreamMap.streamId(m);
        if (sid > Integer.MAX_VALUE) {
            return new InboundTranslation.Fault(IommuFault.BAD_STREAMID);
        }
        return iommu.translate((int) sid, pciAddress, write);
    }

    private static DmaResult fault(InboundTranslation t, int rid, long pciAddress, boolean write) {
        if (t instanceof InboundTranslation.Fault f) {
            return new DmaResult.Fault(DmaResult.Reason.IOMMU_FAULT, f.reason(), rid, pciAddress, write);
        }
        return new DmaResult.Fault(DmaResult.Reason.UNSUPPORTED_REQUEST, null, rid, pciAddress, write);
    }

    /**
     * The region that claims {@code [maddr, maddr + size)} on the physical address space, or null
     * (Unsupported Request): no region, the access runs past the region, or a host bridge
     * aperture where no enabled BAR decodes the address (peer-to-peer to a BAR whose decoding is
     * off).
     */
    private PhysicalAddressSpace.Region claimant(long maddr, int size) {
        PhysicalAddressSpace s = space;
        PhysicalAddressSpace.Region r = s == null ? null : s.find(maddr);
        if (r == null || Long.compareUnsigned(maddr + size - 1, r.last()) > 0) {
            return null;
        }
        if (r.device() instanceof ApertureDevice a && !a.claims(maddr - r.base())) {
            return null;
        }
        return r;
    }

    /** The ECAM window: decodes with core's {@link EcamAddress}, the one decoder. */
    private final class EcamWindowDevice implements MmioDevice {
        @Override
        public long read(long offset, int size) {
            if (size == 8 && (offset & 3) == 0) {
                return Integer.toUnsignedLong(readAt(offset, 4)) | (long) readAt(offset + 4, 4) << 32;
            }
            if ((size == 1 || size == 2 || size == 4) && (offset & 3) + size <= 4) {
                return Integer.toUnsignedLong(readAt(offset, size));
            }
            if (size == 2 || size == 4 || size == 8) {
                long value = 0;
                for (int i = 0; i < size; i++) {
                    value |= (long) readAt(offset + i, 1) << (8 * i);
                }
                return value;
            }
            return PciFunction.ones(size);
        }

        @Override
        public void write(long offset, int size, long value) {
            if (size == 8 && (offset & 3) == 0) {
                writeAt(offset, 4, (int) value);
                writeAt(offset + 4, 4, (int) (value >>> 32));
            } else if ((size == 1 || size == 2 || size == 4) && (offset & 3) + size <= 4) {
                writeAt(offset, size, (int) value);
            } else if (size == 2 || size == 4 || size == 8) {
                for (int i = 0; i < size; i++) {
                    writeAt(offset + i, 1, (int) (value >>> (8 * i)));
                }
            }
        }

        /**
         * One function's 4 KiB ({@code offset} a multiple of 4 KiB inside the window, {@code
         * size} 4 KiB) binds to a {@link FunctionPort}; any other range offers none.
         */
        @Override
        public MmioBinding bind(long offset, long size) {
            if (size != ConfigSpace.SIZE || (offset & (ConfigSpace.SIZE - 1)) != 0 || offset < 0 || offset + size > ecamSize) {
                return null;
            }
            int bits = EcamAddress.ECAM_REGISTER_BITS;
            return new FunctionPort(firstBus + EcamAddress.bus(offset, bits), EcamAddress.device(offset, bits),
                    EcamAddress.function(offset, bits));
        }

        private int readAt(long offset, int size) {
            if (offset < 0 || offset + size > ecamSize) {
                return (int) PciFunction.ones(size);
            }
            int bits = EcamAddress.ECAM_REGISTER_BITS;
            return configRead(firstBus + EcamAddress.bus(offset, bits), EcamAddress.device(offset, bits),
                    EcamAddress.function(offset, bits), EcamAddress.register(offset, bits), size);
        }

        private void writeAt(long offset, int size, int value) {
            if (offset < 0 || offset + size > ecamSize) {
                return;
            }
            int bits = EcamAddress.ECAM_REGISTER_BITS;
            configWrite(firstBus + EcamAddress.bus(offset, bits), EcamAddress.device(offset, bits),
                    EcamAddress.function(offset, bits), EcamAddress.register(offset, bits), size, value);
        }
    }

    /**
     * The 4 KiB of one (bus, device, function) in the ECAM window, bound: the function that
     * answers there, found by the same route as {@link #functionAt} and kept for one
     * {@link #configEpoch}, so an access is a count check and the config-space access. It serves
     * the accesses the window makes as one config access (1, 2 or 4 bytes inside one dword) and
     * declines the rest (an access crossing a dword is split byte by byte by the window, an
     * 8-byte one into two dwords), which then take the window's own decode. While nothing
     * answers (a master abort), reads give all-ones and writes are dropped, as the window does.
     * A stale port would let a function answer config cycles at an address it no longer decodes
     * (a bridge renumbered, a VF gone): the count is what prevents it.
     */
    private final class FunctionPort implements MmioBinding {
        private final int bus;
        private final int device;
        private final int function;
        private volatile Target target = Target.NONE;

        FunctionPort(int bus, int device, int function) {
            this.bus = bus;
            this.device = device;
            this.function = function;
        }

        @Override
        public long read(long offset, int size) {
            if (!oneConfigAccess(offset, size)) {
                return UNSERVED;
            }
            PciFunction f = answering();
            return f == null ? PciFunction.ones(size) : Integer.toUnsignedLong(f.config().readChecked((int) offset, size));
        }

        @Override
        public boolean write(long offset, int size, long value) {
            if (!oneConfigAccess(offset, size)) {
                return false;
            }
            PciFunction f = answering();
            if (f == null) {
                masterAbortWrite(bus, device, function, (int) offset);
            } else {
                f.config().write((int) offset, size, (int) value);
            }
            return true;
        }

        private boolean oneConfigAccess(long offset, int size) {
            return (size == 1 || size == 2 || size == 4) && offset >= 0 && (offset & 3) + size <= 4
                    && offset + size <= ConfigSpace.SIZE;
        }

        /** The function answering now, or null; found again when the config epoch moved. */
        private PciFunction answering() {
            Target t = target;
            long epoch = configEpoch.get();
            if (t.epoch != epoch) {
                // The count first, then the walk: a change racing the walk leaves this filed
                // under the older count, so the next access walks again.
                t = new Target(epoch, functionAt(bus, device, function));
                target = t;
            }
            return t.function;
        }
    }

    /** A port's answer under one config epoch; final fields, so a racy read sees it whole. */
    private static final class Target {
        /** Before the first access: no epoch matches it. */
        static final Target NONE = new Target(-1, null);
        final long epoch;
        final PciFunction function;

        Target(long epoch, PciFunction function) {
            this.epoch = epoch;
            this.function = function;
        }
    }

    /** One outbound aperture: CPU offset -> PCI address -> claiming BAR. */
    private final class ApertureDevice implements MmioDevice {
        private final long pciBase;
        private final boolean io;

        ApertureDevice(Aperture aperture) {
            this.pciBase = aperture.pciAddress();
            this.io = aperture.kind() == ApertureKind.IO;
        }

        /** True if an enabled BAR below the bridge decodes aperture offset {@code offset}. */
        boolean claims(long offset) {
            long pci = pciBase + offset;
            PciFunction f = rootBus.routeMemory(pci, io);
            return f != null && f.decodeBar(pci, io) >= 0;
        }

        @Override
        public long read(long offset, int size) {
            long pci = pciBase + offset;
            PciFunction f = rootBus.routeMemory(pci, io);
            int bar = f == null ? -1 : f.decodeBar(pci, io);
            if (bar < 0) {
                return PciFunction.ones(size);
            }
            return f.barRead(bar, pci - f.barAddress(bar), size);
        }

        @Override
        public void write(long offset, int size, long value) {
            long pci = pciBase + offset;
            PciFunction f = rootBus.routeMemory(pci, io);
            int bar = f == null ? -1 : f.decodeBar(pci, io);
            if (bar < 0) {
                if (LOG.isTraceEnabled()) {
                    LOG.trace("{}: {} write at PCI {} dropped (master abort)", name, io ? "I/O" : "memory", Hex.of(pci));
                }
                return;
            }
            f.barWrite(bar, pci - f.barAddress(bar), size, value);
        }
    }

    /**
     * Assembles a host bridge. Topology methods mirror {@link PciBus.Builder} for the root bus.
     * Not thread-safe; build once.
     */
    public static final class Builder {
        private String name = "pcie";
        private long ecamBase = -1;
        private long ecamSize;
        private int firstBus;
        private final List<Aperture> apertures = new ArrayList<>();
        private MsiMap msiMap = MsiMap.NONE;
        private final Map<Integer, MsiController> msiControllers = new java.util.HashMap<>();
        private int[] iommuMap;
        private int iommuMapMask = -1;
        private final Map<Integer, InboundTranslator> iommus = new java.util.HashMap<>();
        private final PciBus.Builder root = PciBus.builder();
        private DesignWareRootComplex.Regions designWare;

        private Builder() {
        }

        /**
         * Makes this a DesignWare root complex reached through its {@code dbi}, {@code atu},
         * {@code app} and {@code config} regions instead of an ECAM window (see
         * {@link DesignWareRootComplex}); the root bus then holds only the root port, at device 0.
         */
        public Builder designWare(DesignWareRootComplex.Regions regions) {
            this.designWare = Objects.requireNonNull(regions, "regions");
            return this;
        }

        /** Region name prefix (default {@code pcie}). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * The ECAM window: CPU base and size in bytes (a positive multiple of 1 MiB, at most 256 MiB).
         *
         * @throws HardwareConfigException for a bad size or a base that is not 1 MiB aligned
         */
        public Builder ecam(long base, long size) {
            if (size <= 0 || (size & 0xfffff) != 0 || size > 256L << 20 || (base & 0xfffff) != 0) {
                throw new HardwareConfigException("ECAM window " + Hex.of(base) + "+" + Hex.of(size)
                        + " must be 1 MiB aligned, a multiple of 1 MiB and at most 256 MiB");
            }
            this.ecamBase = base;
            this.ecamSize = size;
            return this;
        }

        /** The bus number of ECAM offset 0 (the DT bus-range start, default 0). */
        public Builder firstBus(int bus) {
            if (bus < 0 || bus > 255) {
                throw new HardwareConfigException("first bus " + Hex.of(bus) + " out of range 0..0xff");
            }
            this.firstBus = bus;
            return this;
        }

        /** The requester-ID to MSI-controller mapping (as the bridge's DT {@code msi-map} says). */
        public Builder msiMap(MsiMap map) {
            this.msiMap = Objects.requireNonNull(map, "map");
            return this;
        }

        /** Connects MSI controller {@code controller} (an ITS) as DT phandle {@code phandle}. */
        public Builder msiController(int phandle, MsiController controller) {
            msiControllers.put(phandle, Objects.requireNonNull(controller, "controller"));
            return this;
        }

        /**
         * The requester-ID to stream-ID mapping of the bridge's DT {@code iommu-map} /
         * {@code iommu-map-mask} (raw cells; {@code mask} null for all-ones). Without it (the
         * default) the bridge has no IOMMU in its inbound path.
         *
         * @throws HardwareConfigException if {@code map} is empty or not a multiple of 4 cells, or
         *         {@code mask} is not one cell
         */
        public Builder iommuMap(int[] map, int[] mask) {
            Objects.requireNonNull(map, "map");
            if (map.length == 0 || map.length % 4 != 0) {
                throw new HardwareConfigException("iommu-map has " + map.length + " cells, not a non-zero multiple of 4");
            }
            if (mask != null && mask.length != 1) {
                throw new HardwareConfigException("iommu-map-mask has " + mask.length + " cells, not 1");
            }
            this.iommuMap = map.clone();
            this.iommuMapMask = mask == null ? -1 : mask[0];
            return this;
        }

        /** Connects IOMMU {@code iommu} as DT phandle {@code phandle} (what {@code iommu-map} entries name). */
        public Builder iommu(int phandle, InboundTranslator iommu) {
            iommus.put(phandle, Objects.requireNonNull(iommu, "iommu"));
            return this;
        }

        /** Adds an outbound aperture. */
        public Builder aperture(Aperture aperture) {
            apertures.add(Objects.requireNonNull(aperture, "aperture"));
            return this;
        }

        /** Adds an outbound aperture (see {@link Aperture}). */
        public Builder aperture(long cpuAddress, long pciAddress, long size, ApertureKind kind, boolean prefetchable) {
            return aperture(new Aperture(cpuAddress, pciAddress, size, kind, prefetchable));
        }

        /** Places {@code function} on the root bus at {@code dev.fn}. */
        public Builder slot(int dev, int fn, PciFunction function) {
            root.slot(dev, fn, function);
            return this;
        }

        /** Places a type 1 {@code bridge} on the root bus at {@code dev.fn} with {@code subtree} behind it. */
        public Builder bridge(int dev, int fn, PciFunction bridge, PciBus.Builder subtree) {
            root.bridge(dev, fn, bridge, subtree);
            return this;
        }

        /**
         * @throws HardwareConfigException without an ECAM window, or for a bad topology
         */
        public HostBridgeHardware build() {
            if (ecamBase < 0 && designWare == null) {
                throw new HardwareConfigException("host bridge " + name + " needs an ECAM window");
            }
            if (designWare != null && ecamBase >= 0) {
                throw new HardwareConfigException("host bridge " + name + " cannot have both an ECAM window and DesignWare regions");
            }
            return new HostBridgeHardware(this);
        }
    }
}
