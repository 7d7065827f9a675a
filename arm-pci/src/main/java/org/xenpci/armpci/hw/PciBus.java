package org.xenpci.armpci.hw;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.Set;
import org.xenpci.core.Hex;

/**
 * The device slots of one physical bus segment: the root bus of a host bridge or the
 * secondary side of a type 1 bridge. A bus has no number of its own: the root bus takes the
 * host bridge's first bus, every other bus the CURRENT secondary-bus register of the bridge
 * above it, so reprogramming bus numbers moves the subtree as on real hardware.
 *
 * <p>Routing (PCI-to-PCI Bridge 1.2, 3.2.5.3; PCIe Base 7.3.1): a config request for bus B
 * on a bus numbered N is type 0 here when B == N; otherwise the first bridge on this bus (by
 * device, then function) with secondary &lt;= B &lt;= subordinate takes it, as type 0 on its
 * secondary bus if B == secondary, else further down. Nobody claims: master abort.
 *
 * <p>Immutable once built; routing reads only bridge and BAR registers. Config routes are
 * cached per bus number by the host bridge (found again after one of its bridges' bus numbers
 * change), memory routes per 1 MiB block by each bus (found again after a BAR of a function on
 * this bus, or a window or COMMAND.MEMORY/IO of a bridge on it, changes); steady-state routing
 * allocates nothing.
 */
public final class PciBus {
    private final PciDevice[] slots;
    /** The SR-IOV physical functions on this bus and their devfns, for routing to their VFs. */
    private final SriovCapability[] pfs;
    private final int[] pfDevfns;

    private PciBus(PciDevice[] slots, SriovCapability[] pfs, int[] pfDevfns) {
        this.slots = slots;
        this.pfs = pfs;
        this.pfDevfns = pfDevfns;
    }

    /** The VF present now at {@code devfn} on this bus, or null (SR-IOV routing ID = PF RID + offset + n * stride). */
    private PciFunction virtualFunctionAt(int devfn) {
        for (int i = 0; i < pfs.length; i++) {
            PciFunction vf = pfs[i].vfAtDelta(devfn - pfDevfns[i]);
            if (vf != null) {
                return vf;
            }
        }
        return null;
    }

    /** A builder for a bus (the subtree behind a bridge, or a host bridge's root bus). */
    public static Builder builder() {
        return new Builder();
    }

    /** The device in slot {@code dev} (0..31), or null. */
    public PciDevice device(int dev) {
        return dev >= 0 && dev < 32 ? slots[dev] : null;
    }

    /**
     * Where a config request for a bus lands: the bus carrying that number ({@code null}: master
     * abort), and whether it is the link below a PCIe downstream port, where only device 0
     * answers (PCIe Base 7.3.1).
     */
    record Route(PciBus bus, boolean portLink) {
    }

    static final Route NO_ROUTE = new Route(null, false);

    /** The route to {@code targetBus} from this bus, numbered {@code busNumber}: the walk of {@link #routeConfig}. */
    Route route(int busNumber, int targetBus) {
        if (targetBus == busNumber) {
            return new Route(this, false);
        }
        for (int s = 0; s < slots.length; s++) {
            PciDevice d = slots[s];
            if (d == null) {
                continue;
            }
            for (int f = 0; f < 8; f++) {
                PciFunction bridge = d.functionOrNull(f);
                if (bridge == null || !bridge.isBridge()) {
                    continue;
                }
                int sec = bridge.secondaryBus();
                int sub = bridge.subordinateBus();
                if (targetBus < sec || targetBus > sub) {
                    continue;
                }
                PciBus below = bridge.secondaryBusSlots();
                if (targetBus == sec) {
                    return new Route(below, bridge.isPcieDownstreamPort());
                }
                return below.route(sec, targetBus);
            }
        }
        return NO_ROUTE;
    }

    /** The function at {@code (dev, fn)} on a bus a {@link Route} reached; null for a master abort. */
    static PciFunction functionOn(Route r, int dev, int fn) {
        PciBus b = r.bus;
        if (b == null || (r.portLink && dev != 0)) {
            return null;
        }
        PciDevice d = b.slots[dev];
        PciFunction f = d == null ? null : d.functionOrNull(fn);
        return f != null || b.pfs.length == 0 ? f : b.virtualFunctionAt(dev << 3 | fn);
    }

    /**
     * The function that answers a config request for {@code (targetBus, dev, fn)} arriving on
     * this bus, numbered {@code busNumber}; null for a master abort.
     */
    PciFunction routeConfig(int busNumber, int targetBus, int dev, int fn) {
        if (targetBus == busNumber) {
            PciDevice d = slots[dev];
            PciFunction f = d == null ? null : d.functionOrNull(fn);
            return f != null || pfs.length == 0 ? f : virtualFunctionAt(dev << 3 | fn);
        }
        for (int s = 0; s < slots.length; s++) {
            PciDevice d = slots[s];
            if (d == null) {
                continue;
            }
            for (int f = 0; f < 8; f++) {
                PciFunction bridge = d.functionOrNull(f);
                if (bridge == null || !bridge.isBridge()) {
                    continue;
                }
                int sec = bridge.secondaryBus();
                int sub = bridge.subordinateBus();
                if (targetBus < sec || targetBus > sub) {
                    continue;
                }
                PciBus below = bridge.secondaryBusSlots();
                if (targetBus == sec && bridge.isPcieDownstreamPort() && dev != 0) {
                    return null;
                }
                return below.routeConfig(sec, targetBus, dev, fn);
            }
        }
        return null;
    }

    /**
     * The function whose BAR claims a memory ({@code io} false) or I/O access at
     * {@code pciAddress} on this bus, descending through bridges whose windows forward it;
     * null for a master abort. A bridge's own BARs are checked before its windows.
     */
    PciFunction routeMemory(long pciAddress, boolean io) {
        // The walk below asks every function on the bus in turn; at 64k functions that is 255
        // bridges on the root bus per BAR access. Only functions with a BAR in the access's
        // block, up to the first bridge forwarding the block, can answer: those are cached
        // per block (1 MiB for memory, the bridge memory window granularity, PCI-to-PCI Bridge
        // 1.2, 3.2.5.8; 4 KiB for I/O, 3.2.5.6), for one decode epoch of this bus.
        long block = io ? pciAddress >>> 12 : pciAddress >>> 20;
        long epoch = decodeEpoch.get();
        MemoryRoutes mr = memoryRoutes;
        if (mr.epoch != epoch) {
            mr = new MemoryRoutes(epoch);
            memoryRoutes = mr;
        }
        int slot = (int) (block ^ (block >>> 7) ^ (io ? 0x55 : 0)) & (MemoryRoutes.SLOTS - 1);
        BlockRoute br = mr.slots[slot];
        if (br == null || br.block != block || br.io != io) {
            br = blockRoute(block, io);
            mr.slots[slot] = br;
        }
        PciFunction[] candidates = br.candidates;
        if (br.base != null) {
            // Indexed: the BARs in the block do not overlap, so at most one can hold the address.
            long[] base = br.base;
            int lo = 0;
            int hi = base.length - 1;
            int at = -1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(base[mid], pciAddress) <= 0) {
                    at = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            if (at >= 0 && Long.compareUnsigned(pciAddress, br.last[at]) <= 0) {
                PciFunction fn = candidates[br.owner[at]];
                if (fn.decodeBar(pciAddress, io) >= 0) {
                    return fn;
                }
            }
            // No BAR claims it: only the bridge that ends the walk, if any, can forward it.
            if (br.forwarder >= 0) {
                PciFunction bridge = candidates[br.forwarder];
                if (bridge.forwards(pciAddress, io)) {
                    return bridge.secondaryBusSlots().routeMemory(pciAddress, io);
                }
            }
            return null;
        }
        for (PciFunction fn : candidates) {
            if (fn.decodeBar(pciAddress, io) >= 0) {
                return fn;
            }
            SriovCapability sriov = fn.sriovOrNull();
            if (sriov != null) {
                for (PciFunction vf : sriov.vfArray()) {
                    if (vf.decodeBar(pciAddress, io) >= 0) {
                        return vf;
                    }
                }
            }
            if (fn.isBridge() && fn.forwards(pciAddress, io)) {
                // A positively decoded window: what nobody claims below is a master abort there.
                return fn.secondaryBusSlots().routeMemory(pciAddress, io);
            }
        }
        return null;
    }

    /**
     * The functions that can answer an access in {@code block}, in routing order (by device,
     * then function): those with a BAR overlapping the block or SR-IOV VFs, and the first bridge
     * whose window forwards the block (a window forwards all of a block or none of it), after
     * which the walk never goes on. Where no candidate is an SR-IOV PF and their BARs in the
     * block do not overlap (every correctly assigned bus), the BARs are also indexed by address.
     */
    private BlockRoute blockRoute(long block, boolean io) {
        long lo = io ? block << 12 : block << 20;
        long hi = lo + (io ? 0xfffL : 0xfffffL);
        java.util.List<PciFunction> out = new java.util.ArrayList<>(4);
        int forwarder = -1;
        walk:
        for (int s = 0; s < slots.length; s++) {
            PciDevice d = slots[s];
            if (d == null) {
                continue;
            }
            for (int f = 0; f < 8; f++) {
                PciFunction fn = d.functionOrNull(f);
                if (fn == null) {
                    continue;
                }
                boolean forwards = fn.isBridge() && fn.forwards(lo, io);
                if (forwards || fn.sriovOrNull() != null || fn.mayDecodeIn(lo, hi, io)) {
                    out.add(fn);
                }
                if (forwards) {
                    forwarder = out.size() - 1;
                    break walk;
                }
            }
        }
        PciFunction[] candidates = out.toArray(new PciFunction[0]);
        return new BlockRoute(block, io, candidates, forwarder, index(candidates, lo, hi, io));
    }

    /**
     * The candidates' BARs overlapping {@code [lo, hi]} as {base[], last[], owner[]} sorted by
     * base, or null where the linear walk must stay (an SR-IOV PF, whose VFs are asked in
     * routing order, or overlapping BARs, where routing order decides who claims).
     */
    private static long[][] index(PciFunction[] candidates, long lo, long hi, boolean io) {
        long[] ranges = new long[2 * 7];
        java.util.List<long[]> bars = new java.util.ArrayList<>(candidates.length);
        for (int c = 0; c < candidates.length; c++) {
            PciFunction fn = candidates[c];
            if (fn.sriovOrNull() != null) {
                return null;
            }
            int n = fn.rangesIn(lo, hi, io, ranges);
            for (int k = 0; k < n; k++) {
                bars.add(new long[] {ranges[2 * k], ranges[2 * k + 1], c});
            }
        }
        bars.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        long[] base = new long[bars.size()];
        long[] last = new long[bars.size()];
        long[] owner = new long[bars.size()];
        for (int k = 0; k < base.length; k++) {
            long[] b = bars.get(k);
            if (k > 0 && Long.compareUnsigned(b[0], last[k - 1]) <= 0) {
                return null;
            }
            base[k] = b[0];
            last[k] = b[1];
            owner[k] = b[2];
        }
        return new long[][] {base, last, owner};
    }

    /** One block's candidates and, where they allow it, their BARs by address; only final fields, so a racy read sees it whole. */
    private static final class BlockRoute {
        final long block;
        final boolean io;
        final PciFunction[] candidates;
        /** Index into {@link #candidates} of the bridge forwarding the block (the last one), or -1. */
        final int forwarder;
        /** Sorted BAR bases, null when not indexed; {@link #last} and {@link #owner} run alongside. */
        final long[] base;
        final long[] last;
        final int[] owner;

        BlockRoute(long block, boolean io, PciFunction[] candidates, int forwarder, long[][] index) {
            this.block = block;
            this.io = io;
            this.candidates = candidates;
            this.forwarder = forwarder;
            this.base = index == null ? null : index[0];
            this.last = index == null ? null : index[1];
            if (index == null) {
                this.owner = null;
            } else {
                int[] o = new int[index[2].length];
                for (int k = 0; k < o.length; k++) {
                    o[k] = (int) index[2][k];
                }
                this.owner = o;
            }
        }
    }

    /** A direct-mapped cache of block routes, valid for one decode epoch. */
    private static final class MemoryRoutes {
        static final int SLOTS = 64;
        final long epoch;
        final BlockRoute[] slots = new BlockRoute[SLOTS];

        MemoryRoutes(long epoch) {
            this.epoch = epoch;
        }
    }

    private volatile MemoryRoutes memoryRoutes = new MemoryRoutes(-1);

    /**
     * Counts changes to the registers that decide which function on this bus claims a memory or
     * I/O access: its functions' BARs, and its bridges' windows and COMMAND.MEMORY/IO
     * ({@link PciFunction#configChanged}). Memory routes cached for an older count are dropped.
     * A bus below has its own count: a change there leaves this bus's routes standing.
     */
    private final java.util.concurrent.atomic.AtomicLong decodeEpoch = new java.util.concurrent.atomic.AtomicLong();

    /** Called by a function on this bus when a register its routing depends on changes. */
    void decodeChanged() {
        decodeEpoch.incrementAndGet();
    }

    /**
     * The requester ID ({@code bus << 8 | devfn}) of {@code target} on this bus numbered
     * {@code busNumber} or below it, following the bridges' current secondary bus numbers; -1 if
     * it is not here.
     */
    int locate(PciFunction target, int busNumber) {
        for (int s = 0; s < slots.length; s++) {
            PciDevice d = slots[s];
            if (d == null) {
                continue;
            }
            for (int f = 0; f < 8; f++) {
                PciFunction fn = d.functionOrNull(f);
                if (fn == null) {
                    continue;
                }
                if (fn == target) {
                    return (busNumber & 0xff) << 8 | s << 3 | f;
                }
                SriovCapability sriov = fn.sriovOrNull();
                if (sriov != null && target.vfOfOrNull() == sriov) {
                    PciFunction[] vfs = sriov.vfArray();
                    for (int k = 0; k < vfs.length; k++) {
                        if (vfs[k] == target) {
                            return (busNumber & 0xff) << 8 | ((s << 3 | f) + sriov.ridDelta(k));
                        }
                    }
                }
                if (fn.isBridge() && fn.secondaryBusSlots() != null) {
                    int rid = fn.secondaryBusSlots().locate(target, fn.secondaryBus());
                    if (rid >= 0) {
                        return rid;
                    }
                }
            }
        }
        return -1;
    }

    /** Tells every function on this bus and below which host bridge it sits behind. */
    void connect(HostBridgeHardware hb) {
        for (PciDevice d : slots) {
            if (d == null) {
                continue;
            }
            for (int f = 0; f < 8; f++) {
                PciFunction fn = d.functionOrNull(f);
                if (fn != null) {
                    fn.upstream(hb);
                    if (fn.isBridge() && fn.secondaryBusSlots() != null) {
                        fn.secondaryBusSlots().connect(hb);
                    }
                }
            }
        }
    }

    /** Builds a bus from functions placed in slots; bridges carry their subtree's builder. */
    public static final class Builder {
        private final PciFunction[][] functions = new PciFunction[32][];
        private final Builder[] subtrees = new Builder[256];

        private Builder() {
        }

        /**
         * Places {@code function} at device {@code dev} (0..31), function {@code fn} (0..7).
         * A type 1 function placed here has an empty secondary bus.
         *
         * @throws HardwareConfigException for a bad or taken slot
         */
        public Builder slot(int dev, int fn, PciFunction function) {
            Objects.requireNonNull(function, "function");
            if (dev < 0 || dev > 31 || fn < 0 || fn > 7) {
                throw new HardwareConfigException("slot " + Hex.of(dev) + "." + fn + " out of range (device 0..0x1f, function 0..7)");
            }
            if (functions[dev] == null) {
                functions[dev] = new PciFunction[8];
            }
            if (functions[dev][fn] != null) {
                throw new HardwareConfigException("slot " + Hex.of(dev) + "." + fn + " already holds " + functions[dev][fn]);
            }
            functions[dev][fn] = function;
            return this;
        }

        /**
         * Places the type 1 {@code bridge} at {@code dev.fn} with {@code subtree} as its
         * secondary bus.
         *
         * @throws HardwareConfigException if {@code bridge} is not type 1 or the slot is taken
         */
        public Builder bridge(int dev, int fn, PciFunction bridge, Builder subtree) {
            Objects.requireNonNull(subtree, "subtree");
            if (!bridge.isBridge()) {
                throw new HardwareConfigException(bridge + " at slot " + Hex.of(dev) + "." + fn + " is not a type 1 bridge");
            }
            slot(dev, fn, bridge);
            subtrees[dev * 8 + fn] = subtree;
            return this;
        }

        /**
         * The bus; places every function (each may sit in one topology only).
         *
         * @throws HardwareConfigException for a device without function 0 or a reused function
         */
        public PciBus build() {
            // Validate the whole subtree first so a mistake leaves no function half-placed.
            validate(Collections.newSetFromMap(new IdentityHashMap<>()));
            return place();
        }

        private void validate(Set<PciFunction> seen) {
            for (int dev = 0; dev < 32; dev++) {
                if (functions[dev] == null) {
                    continue;
                }
                if (functions[dev][0] == null) {
                    throw new HardwareConfigException("device " + Hex.of(dev) + " has functions but no function 0");
                }
                for (int fn = 0; fn < 8; fn++) {
                    PciFunction f = functions[dev][fn];
                    if (f == null) {
                        continue;
                    }
                    if (f.isPlaced() || !seen.add(f)) {
                        throw new HardwareConfigException(f + " at slot " + Hex.of(dev) + "." + fn
                                + " is already placed in a topology");
                    }
                    Builder sub = subtrees[dev * 8 + fn];
                    if (sub != null) {
                        sub.validate(seen);
                    }
                    SriovCapability sriov = f.sriovOrNull();
                    if (sriov != null) {
                        validateVfs(f, dev << 3 | fn, sriov);
                    }
                }
            }
        }

        /** Every VF the PF could bring up must land on this bus, in a slot no function holds. */
        private void validateVfs(PciFunction pf, int devfn, SriovCapability sriov) {
            for (int k = 0; k < sriov.totalVfs(); k++) {
                int vf = devfn + sriov.ridDelta(k);
                if (vf > 0xff) {
                    throw new HardwareConfigException(pf + " at slot " + Hex.of(devfn >> 3) + "." + (devfn & 7) + ": VF " + k
                            + " would be at routing ID +" + Hex.of(vf) + ", beyond this bus (the model places VFs on the PF's bus)");
                }
                if (functions[vf >> 3] != null && functions[vf >> 3][vf & 7] != null) {
                    throw new HardwareConfigException(pf + " at slot " + Hex.of(devfn >> 3) + "." + (devfn & 7) + ": VF " + k
                            + " would collide with " + functions[vf >> 3][vf & 7] + " at slot " + Hex.of(vf >> 3) + "." + (vf & 7));
                }
            }
        }

        private PciBus place() {
            PciDevice[] slots = new PciDevice[32];
            java.util.List<SriovCapability> pfs = new java.util.ArrayList<>();
            java.util.List<Integer> pfDevfns = new java.util.ArrayList<>();
            for (int dev = 0; dev < 32; dev++) {
                if (functions[dev] == null) {
                    continue;
                }
                for (int fn = 0; fn < 8; fn++) {
                    PciFunction f = functions[dev][fn];
                    if (f == null) {
                        continue;
                    }
                    f.markPlaced();
                    if (f.sriov().isPresent()) {
                        pfs.add(f.sriov().get());
                        pfDevfns.add(dev << 3 | fn);
                    }
                    if (f.isBridge()) {
                        Builder sub = subtrees[dev * 8 + fn];
                        f.attachSecondary(sub == null ? new Builder().place() : sub.place());
                    }
                }
                slots[dev] = new PciDevice(functions[dev]);
            }
            PciBus bus = new PciBus(slots, pfs.toArray(new SriovCapability[0]),
                    pfDevfns.stream().mapToInt(Integer::intValue).toArray());
            for (PciFunction[] fns : functions) {
                if (fns != null) {
                    for (PciFunction f : fns) {
                        if (f != null) {
                            f.onBus(bus);
                        }
                    }
                }
            }
            return bus;
        }
    }
}
