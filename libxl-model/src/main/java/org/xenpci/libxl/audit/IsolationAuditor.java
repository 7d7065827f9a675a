package org.xenpci.libxl.audit;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.IommuContext;
import org.xenpci.armpci.PciIommu;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.gicv3.HostLpiBinding;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.gicv3.ItsMapping;
import org.xenpci.armpci.hw.BarKind;
import org.xenpci.armpci.hw.BarSpec;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.armpci.smmu.SmmuV2;
import org.xenpci.armpci.smmu.SmmuV3;
import org.xenpci.core.Domain;
import org.xenpci.core.Hex;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XenObserver;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.vpci.VpciBar;
import org.xenpci.vpci.VpciDevice;
import org.xenpci.vpci.VpciHeader;

/**
 * Checks the isolation invariants of a booted host ({@link Invariant}, docs/security.md) from
 * the outside: it reads the hardware (config space, BAR decode, MSI-X tables, the SMMU's stream
 * table) and Xen's state (owners, p2ms, host ITS mappings) and compares them, the way a logic
 * analyser on the bus would, without trusting Xen's own bookkeeping of what it mapped.
 *
 * <p>Two ways to use it:
 * <ul>
 * <li>{@link #check()}: one audit now, as an {@link AuditReport}.</li>
 * <li>{@link #enforce()}: registered as the host's {@link XenObserver}, it audits after every
 *     guest access, hypercall and toolstack operation (the hardware domain's own steps inside a
 *     toolstack operation count as part of it: audited when it ends) and throws
 *     {@link IsolationViolationException} from the step that broke an invariant. It also checks
 *     {@link Invariant#CROSS_DOMAIN}: a step taken by a guest's vCPU must leave every other
 *     domain's state (p2m, its functions' config space and vPCI state, its ITS mappings and LPI
 *     bindings, its vCPUs' pending interrupts) exactly as it was.</li>
 * </ul>
 *
 * <p>Under the {@code upstream} profile, what real Xen 4.23 itself leaves behind is reported as
 * {@link UpstreamFinding}s with the Xen code path, never as violations and never silently.
 *
 * <p>Thread-safety: {@link #check()} may be called from any thread, but it reads live state:
 * while other threads change the system it can see a step half done, so concurrent tests audit
 * at quiescent points. In enforce mode one thread should drive the host (see
 * {@link XenObserver}). The auditor's own bookkeeping is synchronized.
 */
public final class IsolationAuditor {
    private final XenHost host;
    private final Xen xen;
    private final ArmPciLayer pci;
    private final ItsLayer its;
    /** Every domain seen alive, so a dead one is still audited (its p2m must map nothing). */
    private final Map<Domain, Boolean> seen = new WeakHashMap<>();
    /** Per domain, the fingerprint after the last audited step (enforce mode). */
    private Map<Domain, List<Object>> fingerprints = new HashMap<>();
    private final List<UpstreamFinding> findings = new ArrayList<>();
    private long steps;
    /** Toolstack operations in progress (they nest). */
    private int toolstackDepth;

    /** An auditor for {@code host}; it does nothing until {@link #check()} or {@link #enforce()}. */
    public IsolationAuditor(XenHost host) {
        this.host = host;
        this.xen = host.xen();
        this.pci = host.pci();
        this.its = xen.service(ItsLayer.class).orElse(null);
    }

    /** Audits now. */
    public synchronized AuditReport check() {
        return audit("check");
    }

    /**
     * Audits now, naming {@code operation} as the step that led here (for a test's own steps:
     * a device signalling, a DMA); the cross-domain baseline is refreshed.
     */
    public synchronized AuditReport check(String operation) {
        AuditReport r = audit(operation);
        fingerprints = fingerprintAll();
        return r;
    }

    /**
     * Registers this auditor as the host's {@link XenObserver}: every step is audited and the
     * first one that breaks an invariant throws {@link IsolationViolationException} to its caller.
     *
     * @return this
     */
    public synchronized IsolationAuditor enforce() {
        fingerprints = fingerprintAll();
        xen.observer(new XenObserver() {
            @Override
            public void afterAccess(Vcpu vcpu, long gpa, int size, boolean write, long value) {
                step(vcpu, (write ? "write " : "read ") + "d" + vcpu.domain().domid() + "v" + vcpu.id() + " "
                        + Hex.of(gpa) + "/" + size + (write ? " = " + Hex.of(value) : ""));
            }

            @Override
            public void afterHypercall(Vcpu vcpu, int op, HypercallResult result) {
                step(vcpu, "hypercall " + op + " by d" + vcpu.domain().domid() + "v" + vcpu.id() + " -> " + result.rc());
            }

            @Override
            public void beforeToolstack(String what) {
                toolstackDepth(+1);
            }

            @Override
            public void afterToolstack(String what) {
                toolstackDepth(-1);
                step(null, what);
            }
        });
        return this;
    }

    /** Stops auditing every step (if this auditor is the registered observer). */
    public synchronized void stop() {
        xen.observer(null);
    }

    /** Steps audited in enforce mode so far. */
    public synchronized long steps() {
        return steps;
    }

    /** Every distinct upstream finding so far, in the order first seen. */
    public synchronized List<UpstreamFinding> upstreamFindings() {
        return List.copyOf(findings);
    }

    private synchronized void toolstackDepth(int delta) {
        toolstackDepth += delta;
    }

    private synchronized void step(Vcpu by, String operation) {
        if (by != null && by.domain().isHardwareDomain() && toolstackDepth > 0) {
            // dom0's accesses inside a toolstack operation (pciback's reset, the domctls) are
            // that operation's steps: the states between them are not for guests to see
            // (mid-reset, a device's BARs read 0 while its owner still maps them). The
            // operation as a whole is audited when it ends.
            return;
        }
        steps++;
        List<Violation> vs = new ArrayList<>(audit(operation).violations());
        Map<Domain, List<Object>> now = fingerprintAll();
        if (by != null && !by.domain().isHardwareDomain()) {
            for (Map.Entry<Domain, List<Object>> e : now.entrySet()) {
                Domain d = e.getKey();
                List<Object> before = fingerprints.get(d);
                if (d != by.domain() && before != null && !before.equals(e.getValue())) {
                    vs.add(new Violation(Invariant.CROSS_DOMAIN, d.domid(), "", "state of " + d + " changed by "
                            + by + ": " + firstDifference(before, e.getValue()), operation));
                }
            }
        }
        fingerprints = now;
        if (!vs.isEmpty()) {
            throw new IsolationViolationException(vs);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The audit
    // ---------------------------------------------------------------------------------------

    private AuditReport audit(String operation) {
        List<Violation> out = new ArrayList<>();
        List<UpstreamFinding> up = new ArrayList<>();
        List<Domain> domains = new ArrayList<>(xen.domains());
        for (Domain d : domains) {
            seen.put(d, Boolean.TRUE);
        }
        List<Domain> all = new ArrayList<>(seen.keySet());
        List<Owned> functions = ownedFunctions();
        for (Domain d : all) {
            mmioMappings(d, functions, operation, out, up);
        }
        configWindows(functions, operation, out, up);
        msixPages(functions, operation, out);
        for (Owned f : functions) {
            quarantine(f, operation, out);
            msi(f, operation, out);
            iommu(f, operation, out);
        }
        for (UpstreamFinding f : up) {
            if (!findings.contains(f)) {
                findings.add(f);
            }
        }
        return new AuditReport(out, up);
    }

    /** A physical function Xen knows, its owner and its hardware. */
    private record Owned(Pdev pdev, Domain owner, PciFunction function) {
        String name() {
            return pdev.sbdf().toString();
        }
    }

    private List<Owned> ownedFunctions() {
        List<Owned> out = new ArrayList<>();
        for (Pdev p : pci.pdevs().all()) {
            Optional<PciFunction> f = host.platform().function(p.sbdf());
            if (f.isPresent()) {
                out.add(new Owned(p, p.owner(), f.get()));
            }
        }
        return out;
    }

    /** The memory BARs of {@code f} as it decodes them now: {start, end exclusive} bus addresses. */
    private static List<long[]> memoryBars(PciFunction f) {
        List<long[]> out = new ArrayList<>();
        for (BarSpec b : f.bars()) {
            if (b.kind() == BarKind.IO || b.size() == 0) {
                continue;
            }
            long base = f.barAddress(b.index());
            out.add(new long[] {base, base + b.size()});
        }
        return out;
    }

    private void mmioMappings(Domain d, List<Owned> functions, String op, List<Violation> out, List<UpstreamFinding> up) {
        boolean dead = d.state() == Domain.State.DEAD || !xen.domains().contains(d) && !d.isSystemDomain();
        for (P2m.DirectMmio m : d.p2m().mmioMappings()) {
            long lo = m.maddr();
            long hi = m.maddr() + m.size();
            boolean inOwn = false;
            boolean foreign = false;
            for (Owned f : functions) {
                for (long[] bar : memoryBars(f.function())) {
                    if (bar[0] >= hi || bar[1] <= lo) {
                        continue;
                    }
                    if (f.owner() == d) {
                        inOwn |= bar[0] <= lo && hi <= pageEnd(bar[1]);
                        continue;
                    }
                    foreign = true;
                    String what = "guest " + Hex.of(m.gpa()) + "+" + Hex.of(m.size()) + " maps machine "
                            + Hex.of(Math.max(lo, bar[0])) + ", a BAR of " + f.name() + " owned by " + ownerName(f.owner());
                    if (d.isHardwareDomain() && !xen.profile().vpciHardwareDomain()) {
                        up.add(new UpstreamFinding(Invariant.MMIO_MAPPING, d.domid(), f.name(),
                                "the hardware domain maps the host bridge apertures 1:1, so it reaches " + f.name()
                                        + " while " + ownerName(f.owner()) + " owns it",
                                "xen/arch/arm/domain_build.c: handle_device / map_range_to_domain (has_vpci(hwdom) is false on Arm)"));
                    } else {
                        out.add(new Violation(f.owner() == xen.domIo() ? Invariant.QUARANTINE : Invariant.MMIO_MAPPING,
                                d.domid(), f.name(), what, op));
                    }
                }
            }
            if (dead) {
                out.add(new Violation(Invariant.MMIO_MAPPING, d.domid(), "", "destroyed domain still maps guest "
                        + Hex.of(m.gpa()) + "+" + Hex.of(m.size()) + " -> machine " + Hex.of(lo), op));
            } else if (!d.isHardwareDomain() && !inOwn && !foreign) {
                out.add(new Violation(Invariant.MMIO_MAPPING, d.domid(), "", "guest " + Hex.of(m.gpa()) + "+"
                        + Hex.of(m.size()) + " maps machine " + Hex.of(lo) + ", which is in no BAR of a function "
                        + d + " owns (and the model has no iomem grants)", op));
            }
        }
    }

    /**
     * A host bridge's config window mapped straight into a domain gives it the config space of
     * every function behind the bridge: only acceptable while the hardware domain owns them all.
     */
    private void configWindows(List<Owned> functions, String op, List<Violation> out, List<UpstreamFinding> up) {
        for (Domain d : seen.keySet()) {
            for (HostBridge b : pci.hostBridges().all()) {
                long cfg = b.cfg().physBase();
                boolean mapped = false;
                for (P2m.DirectMmio m : d.p2m().mmioMappings()) {
                    mapped |= m.maddr() < cfg + b.cfg().size() && cfg < m.maddr() + m.size();
                }
                if (!mapped) {
                    continue;
                }
                for (Owned f : functions) {
                    if (f.owner() == d || f.pdev().sbdf().segment() != b.segment()) {
                        continue;
                    }
                    if (d.isHardwareDomain() && !xen.profile().vpciHardwareDomain()) {
                        up.add(new UpstreamFinding(Invariant.MMIO_MAPPING, d.domid(), f.name(), "the hardware domain maps "
                                + b.path() + "'s config window 1:1, so it can reconfigure " + f.name() + " while "
                                + ownerName(f.owner()) + " owns it", "xen/arch/arm/domain_build.c: handle_device "
                                        + "(the host bridge's reg is mapped to hwdom; no vPCI traps it, has_vpci(hwdom) is false on Arm)"));
                    } else {
                        out.add(new Violation(Invariant.MMIO_MAPPING, d.domid(), f.name(), "maps " + b.path()
                                + "'s config window directly while " + ownerName(f.owner()) + " owns " + f.name(), op));
                    }
                }
            }
        }
    }

    /**
     * The pages of a function's MSI-X table and PBA must stay trapped wherever vPCI emulates
     * MSI-X: a direct mapping would let the domain program physical vectors itself.
     */
    private void msixPages(List<Owned> functions, String op, List<Violation> out) {
        for (Owned f : functions) {
            PciFunction fn = f.function();
            int msix = capability(fn, PCI_CAP_ID_MSIX);
            if (msix == 0) {
                continue;
            }
            for (int reg : new int[] {PCI_MSIX_TABLE, PCI_MSIX_PBA}) {
                int v = fn.config().read(msix + reg, 4);
                long at = fn.barAddress(v & PCI_MSIX_BIR_MASK) + Integer.toUnsignedLong(v & ~PCI_MSIX_BIR_MASK);
                long page = at & -P2m.PAGE_SIZE;
                for (Domain d : seen.keySet()) {
                    if (d.isHardwareDomain() && !xen.profile().vpciHardwareDomain()) {
                        continue; // upstream: dom0 maps the apertures (reported as a finding above)
                    }
                    for (P2m.DirectMmio m : d.p2m().mmioMappings()) {
                        if (Long.compareUnsigned(page, m.maddr()) >= 0 && Long.compareUnsigned(page - m.maddr(), m.size()) < 0) {
                            out.add(new Violation(Invariant.MSI_ROUTING, d.domid(), f.name(), "the MSI-X "
                                    + (reg == PCI_MSIX_TABLE ? "table" : "PBA") + " page " + Hex.of(page)
                                    + " is mapped straight into the domain at " + Hex.of(m.gpa() + (page - m.maddr())), op));
                        }
                    }
                }
            }
        }
    }

    private static long pageEnd(long end) {
        return (end + P2m.PAGE_SIZE - 1) & -P2m.PAGE_SIZE;
    }

    private String ownerName(Domain d) {
        return d == null ? "nobody" : d == xen.domIo() ? "dom_io" : d == xen.domXen() ? "dom_xen" : d.toString();
    }

    private void quarantine(Owned f, String op, List<Violation> out) {
        if (f.owner() != xen.domIo()) {
            return;
        }
        int cmd = f.function().config().read(PCI_COMMAND, 2);
        int bad = cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
        if (bad != 0) {
            out.add(new Violation(Invariant.QUARANTINE, Domain.DOMID_IO, f.name(), "COMMAND " + Hex.of(cmd)
                    + " still has " + commandBits(bad) + " on", op));
        }
        int msi = capability(f.function(), PCI_CAP_ID_MSI);
        if (msi != 0 && (f.function().config().read(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE) != 0) {
            out.add(new Violation(Invariant.QUARANTINE, Domain.DOMID_IO, f.name(), "MSI still enabled", op));
        }
        int msix = capability(f.function(), PCI_CAP_ID_MSIX);
        if (msix != 0 && (f.function().config().read(msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE) != 0) {
            out.add(new Violation(Invariant.QUARANTINE, Domain.DOMID_IO, f.name(), "MSI-X still enabled", op));
        }
    }

    private static String commandBits(int bits) {
        List<String> s = new ArrayList<>();
        if ((bits & PCI_COMMAND_IO) != 0) {
            s.add("IO");
        }
        if ((bits & PCI_COMMAND_MEMORY) != 0) {
            s.add("MEMORY");
        }
        if ((bits & PCI_COMMAND_MASTER) != 0) {
            s.add("MASTER");
        }
        return String.join("|", s);
    }

    /** Offset of the legacy capability {@code id} (the function's capability list is read-only), or 0. */
    static int capability(PciFunction f, int id) {
        return f.capability(id, false).map(c -> c.offset()).orElse(0);
    }

    /** Armed physical vectors of {@code f}: where each write would go and whom it would reach. */
    private void msi(Owned f, String op, List<Violation> out) {
        PciFunction fn = f.function();
        if ((fn.config().read(PCI_COMMAND, 2) & PCI_COMMAND_MASTER) == 0) {
            return; // no memory write leaves the function
        }
        List<long[]> armed = armedVectors(fn);
        if (armed.isEmpty()) {
            return;
        }
        Domain owner = f.owner();
        int rid = fn.requesterId();
        HostBridgeHardware hb = bridgeOf(fn);
        Optional<MsiMap.Translation> t = hb == null || rid < 0 ? Optional.empty() : hb.msiMap().map(rid);
        for (long[] v : armed) {
            String vec = (v[3] == 1 ? "MSI-X entry " : "MSI vector ") + v[0] + " (address " + Hex.of(v[1]) + ", data "
                    + Hex.of(v[2]) + ")";
            if (owner == null || owner == xen.domIo() || owner.isDying()) {
                out.add(new Violation(owner == xen.domIo() ? Invariant.QUARANTINE : Invariant.MSI_ROUTING,
                        owner == null ? -1 : owner.domid(), f.name(), vec + " is armed while the function belongs to "
                                + ownerName(owner), op));
                continue;
            }
            Long doorbellBase = itsBaseForDoorbell(v[1]);
            if (doorbellBase == null) {
                out.add(new Violation(Invariant.MSI_ROUTING, owner.domid(), f.name(), vec
                        + " is not aimed at a host ITS doorbell (GITS_TRANSLATER)", op));
                continue;
            }
            if (t.isEmpty()) {
                out.add(new Violation(Invariant.MSI_ROUTING, owner.domid(), f.name(), vec
                        + " is armed but the bridge's msi-map gives the function no DeviceID", op));
                continue;
            }
            int devid = t.get().deviceId();
            if (its == null) {
                continue;
            }
            java.util.OptionalLong routed = its.hostItsBase(t.get().controllerPhandle());
            if (routed.isEmpty() || routed.getAsLong() != doorbellBase) {
                out.add(new Violation(Invariant.MSI_ROUTING, owner.domid(), f.name(), vec + " is aimed at the ITS at "
                        + Hex.of(doorbellBase) + ", not the one the bridge's msi-map routes the function to", op));
                continue;
            }
            for (ItsMapping m : its.mappings()) {
                if (m.itsBase() != doorbellBase || m.hostDevid() != devid) {
                    continue;
                }
                if (m.domid() != owner.domid()) {
                    out.add(new Violation(Invariant.MSI_ROUTING, owner.domid(), f.name(), vec + " carries host DeviceID "
                            + Hex.of(devid) + ", which the host ITS maps for d" + m.domid(), op));
                    continue;
                }
                int event = (int) v[2];
                if (event >= 0 && event < m.events()) {
                    int lpi = its.hostLpi(owner, doorbellBase + ItsRegs.GITS_TRANSLATER, devid, event);
                    Optional<HostLpiBinding> b = lpi < 0 ? Optional.empty() : its.hostLpiBinding(lpi);
                    if (b.isPresent() && b.get().domid() != owner.domid()) {
                        out.add(new Violation(Invariant.MSI_ROUTING, owner.domid(), f.name(), vec + " raises host LPI "
                                + lpi + ", bound to d" + b.get().domid(), op));
                    }
                }
            }
        }
    }

    /** The host ITS base whose GITS_TRANSLATER is {@code address}, or null. */
    private Long itsBaseForDoorbell(long address) {
        if (its == null) {
            return null;
        }
        for (long base : its.hostItsBases()) {
            if (address == base + ItsRegs.GITS_TRANSLATER) {
                return base;
            }
        }
        return null;
    }

    private HostBridgeHardware bridgeOf(PciFunction fn) {
        for (HostBridgeHardware hb : host.platform().hostBridges().values()) {
            if (hb.requesterIdOf(fn) >= 0) {
                return hb;
            }
        }
        return null;
    }

    /**
     * The vectors {@code fn} can signal now: {vector, address, data, kind (0 MSI, 1 MSI-X)}.
     * MSI-X: enabled, function not masked, entry unmasked (read from the device's own table).
     * MSI: enabled, per-vector mask clear.
     */
    static List<long[]> armedVectors(PciFunction fn) {
        List<long[]> out = new ArrayList<>();
        int msix = capability(fn, PCI_CAP_ID_MSIX);
        if (msix != 0) {
            int ctl = fn.config().read(msix + PCI_MSIX_FLAGS, 2);
            if ((ctl & PCI_MSIX_FLAGS_ENABLE) != 0 && (ctl & PCI_MSIX_FLAGS_MASKALL) == 0) {
                int table = fn.config().read(msix + PCI_MSIX_TABLE, 4);
                int bir = table & PCI_MSIX_BIR_MASK;
                long off = Integer.toUnsignedLong(table & ~PCI_MSIX_BIR_MASK);
                int entries = (ctl & PCI_MSIX_FLAGS_QSIZE) + 1;
                for (int i = 0; i < entries; i++) {
                    long e = off + 16L * i;
                    if ((fn.barRead(bir, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4) & PCI_MSIX_ENTRY_CTRL_MASKBIT) == 0) {
                        out.add(new long[] {i, fn.barRead(bir, e, 8), fn.barRead(bir, e + PCI_MSIX_ENTRY_DATA, 4), 1});
                    }
                }
                return out; // MSI-X enabled wins (the function uses one or the other)
            }
        }
        int msi = capability(fn, PCI_CAP_ID_MSI);
        if (msi != 0) {
            int ctl = fn.config().read(msi + PCI_MSI_FLAGS, 2);
            if ((ctl & PCI_MSI_FLAGS_ENABLE) != 0) {
                boolean is64 = (ctl & PCI_MSI_FLAGS_64BIT) != 0;
                long addr = Integer.toUnsignedLong(fn.config().read(msi + PCI_MSI_ADDRESS_LO, 4));
                if (is64) {
                    addr |= (long) fn.config().read(msi + PCI_MSI_ADDRESS_HI, 4) << 32;
                }
                int dataPos = msi + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
                int data = fn.config().read(dataPos, 2);
                int vectors = 1 << ((ctl & PCI_MSI_FLAGS_QSIZE) >> 4);
                int mask = (ctl & PCI_MSI_FLAGS_MASKBIT) != 0 ? fn.config().read(dataPos + 4, 4) : 0;
                for (int i = 0; i < vectors; i++) {
                    if ((mask & (1 << i)) == 0) {
                        // Multiple messages: the function replaces the low log2(vectors) data bits.
                        out.add(new long[] {i, addr, (data & ~(vectors - 1)) | i, 0});
                    }
                }
            }
        }
        return out;
    }

    /**
     * The stream the function's requests carry NOW (its current requester ID through the bridge's
     * {@code iommu-map}, as the hardware routes it, not Xen's record of it) must translate with
     * the owner's context: read from the IOMMU hardware the route leads to (SMMUv3 or v1/v2);
     * for an IOMMU the auditor cannot read, from Xen's driver ({@link PciIommu#context}).
     */
    private void iommu(Owned f, String op, List<Violation> out) {
        Domain owner = f.owner();
        if (owner == null || owner == xen.domXen()) {
            return;
        }
        PciFunction fn = f.function();
        int rid = fn.requesterId();
        HostBridgeHardware hb = bridgeOf(fn);
        Optional<HostBridgeHardware.IommuRoute> route = hb == null || rid < 0 ? Optional.empty() : hb.iommuRoute(rid);
        String who = ownerName(owner);
        if (route.isEmpty()) {
            // The hardware domain's DMA is 1:1 by design where no IOMMU sits in front of it.
            if (!owner.isHardwareDomain() && (owner != xen.domIo() || masters(fn))) {
                out.add(new Violation(Invariant.IOMMU_CONTEXT, owner.domid(), f.name(), "requester ID "
                        + Hex.of(rid) + " is in no iommu-map entry of its bridge: its DMA reaches memory 1:1 while "
                        + who + " owns it", op));
            }
            return;
        }
        HostBridgeHardware.IommuRoute r = route.get();
        if (r.iommu() == null) {
            return; // the bridge refuses the requests (its iommu-map names no IOMMU it is wired to)
        }
        String stream = "stream " + Hex.of(r.streamId());
        IommuContext c;
        boolean sidOk = r.streamId() >= 0 && r.streamId() <= Integer.MAX_VALUE;
        if (r.iommu() instanceof SmmuV3 v3) {
            c = sidOk ? v3.streamContext((int) r.streamId()) : IommuContext.ABORT;
            stream += " of " + v3;
        } else if (r.iommu() instanceof SmmuV2 v2) {
            c = sidOk ? v2.streamContext((int) r.streamId()) : IommuContext.ABORT;
            stream += " of " + v2;
        } else {
            Optional<IommuContext> viaDriver = pci.iommu().context(f.pdev());
            if (viaDriver.isEmpty()) {
                return;
            }
            c = viaDriver.get();
        }
        boolean ok;
        if (c instanceof IommuContext.Translate t) {
            ok = owner == t.domain() && owner != xen.domIo();
        } else if (c instanceof IommuContext.Abort) {
            ok = owner == xen.domIo();
        } else {
            ok = owner.isHardwareDomain(); // dom0 untranslated: as without an IOMMU
        }
        if (!ok) {
            String what = c instanceof IommuContext.Translate t ? ownerName(t.domain())
                    : c instanceof IommuContext.Bypass b ? "no translation (bypass: " + b.why() + ")" : "no context (abort)";
            out.add(new Violation(Invariant.IOMMU_CONTEXT, owner.domid(), f.name(), stream + " translates with " + what
                    + " but the function belongs to " + who, op));
        }
    }

    private static boolean masters(PciFunction fn) {
        return (fn.config().read(PCI_COMMAND, 2) & PCI_COMMAND_MASTER) != 0;
    }

    // ---------------------------------------------------------------------------------------
    // Cross-domain fingerprints
    // ---------------------------------------------------------------------------------------

    private Map<Domain, List<Object>> fingerprintAll() {
        Map<Domain, List<Object>> out = new HashMap<>();
        List<Owned> functions = ownedFunctions();
        List<ItsMapping> maps = its == null ? List.of() : its.mappings();
        for (Domain d : xen.domains()) {
            List<Object> fp = new ArrayList<>();
            fp.add(d.p2m().entries());
            fp.add(d.state());
            for (Owned f : functions) {
                if (f.owner() == d) {
                    fp.add(f.name());
                    fp.add(Arrays.hashCode(f.function().config().toBytes()));
                    VpciDevice vd = host.vpci().device(d, f.pdev().sbdf());
                    if (vd != null) {
                        VpciHeader h = vd.header();
                        fp.add(h.guestCmd());
                        fp.add(h.barsMapped());
                        for (int i = 0; i < VpciHeader.SLOTS; i++) {
                            VpciBar b = h.bar(i);
                            fp.add(b.guestAddr());
                            fp.add(b.enabled());
                        }
                    }
                }
            }
            for (ItsMapping m : maps) {
                if (m.domid() == d.domid()) {
                    fp.add(m);
                    for (int e = 0; e < m.events(); e++) {
                        int lpi = its.hostLpi(d, m.itsBase() + ItsRegs.GITS_TRANSLATER, m.hostDevid(), e);
                        fp.add(lpi < 0 ? Optional.empty() : its.hostLpiBinding(lpi));
                    }
                }
            }
            for (Vcpu v : d.vcpus()) {
                fp.add(v.pendingInterrupts());
            }
            out.put(d, Collections.unmodifiableList(fp));
        }
        return out;
    }

    private static String firstDifference(List<Object> before, List<Object> after) {
        int n = Math.min(before.size(), after.size());
        for (int i = 0; i < n; i++) {
            if (!before.get(i).equals(after.get(i))) {
                return "item " + i + " was " + before.get(i) + ", now " + after.get(i);
            }
        }
        return "size " + before.size() + " -> " + after.size();
    }

    @Override
    public String toString() {
        return "IsolationAuditor[" + host.platform() + "]";
    }
}
