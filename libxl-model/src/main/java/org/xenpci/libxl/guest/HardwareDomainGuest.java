package org.xenpci.libxl.guest;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.Physdev;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.core.Domain;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;

/**
 * The reference hardware-domain guest: what dom0 Linux does for PCI on a Xen Arm host. For each
 * host bridge node of its device tree it probes the bus through the ECAM window (its own
 * addresses are the host's: dom0 is direct-mapped), numbers bridges, sizes and assigns BARs,
 * reports every function to Xen with {@code PHYSDEVOP_pci_device_add} (Linux's
 * {@code xen_add_device} bus notifier, parents before children), and then enables decoding as
 * drivers would. SR-IOV PFs named at construction then get their VFs enabled and reported
 * with {@code XEN_PCI_DEV_VIRTFN}; afterwards {@link #setUpMsix} does what a dom0 driver does
 * for a function's MSI-X.
 *
 * <p>Not thread-safe: it remembers the VFs it enabled and its MSI-X drivers, as dom0's single
 * PCI probe thread does; use one instance per hardware domain.
 */
public final class HardwareDomainGuest {
    private static final Logger LOG = LoggerFactory.getLogger(HardwareDomainGuest.class);

    /** One function dom0 found, and what Xen answered when dom0 reported it. */
    public record Reported(ProbedFunction function, HypercallResult addResult) {
    }

    /** What the enumeration saw: the host bridge nodes it drove and every function reported. */
    public record Enumeration(List<PciHostNode> hostBridges, List<Reported> functions, int configAborts,
            List<Sbdf> sriovRefused) {
        public Enumeration {
            hostBridges = List.copyOf(hostBridges);
            functions = List.copyOf(functions);
            sriovRefused = List.copyOf(sriovRefused);
        }

        /** An enumeration without SR-IOV requests. */
        public Enumeration(List<PciHostNode> hostBridges, List<Reported> functions, int configAborts) {
            this(hostBridges, functions, configAborts, List.of());
        }
    }

    private final Domain hwdom;
    private final java.util.Map<Sbdf, Integer> sriovNumVfs;
    /** Each VF this dom0 enabled, to its PF (Linux's {@code pdev->physfn}). */
    private final java.util.Map<Sbdf, Sbdf> physfn = new java.util.HashMap<>();
    /** dom0's MSI-X drivers over its vITSes, brought up by the first {@link #setUpMsix}. */
    private GuestMsix msix;

    public HardwareDomainGuest(Domain hwdom) {
        this(hwdom, java.util.Map.of());
    }

    /**
     * A dom0 that, after enumerating, enables SR-IOV on each PF in {@code sriovNumVfs} with that
     * many VFs, as {@code echo N > /sys/bus/pci/devices/PF/sriov_numvfs} (or a PF driver's
     * {@code max_vfs}) does, and reports every VF to Xen with {@code PHYSDEVOP_pci_device_add}
     * and {@code XEN_PCI_DEV_VIRTFN} naming its PF (Linux {@code drivers/xen/pci.c:
     * xen_add_device}). A PF that is not found, has no SR-IOV capability, or is asked for 0 or
     * more than TotalVFs VFs is left alone and listed in {@link Enumeration#sriovRefused}.
     *
     * @throws IllegalArgumentException if {@code hwdom} is not the hardware domain
     */
    public HardwareDomainGuest(Domain hwdom, java.util.Map<Sbdf, Integer> sriovNumVfs) {
        if (!hwdom.isHardwareDomain()) {
            throw new IllegalArgumentException(hwdom + " is not the hardware domain");
        }
        this.hwdom = hwdom;
        this.sriovNumVfs = java.util.Map.copyOf(sriovNumVfs);
    }

    /** Probes every host bridge, reports each function to Xen and enables decoding. */
    public Enumeration enumerate() {
        Vcpu vcpu = hwdom.vcpu(0);
        long scratch = scratchPage(vcpu);
        List<PciHostNode> nodes = PciHostNode.find(hwdom.deviceTree());
        List<Reported> reported = new ArrayList<>();
        List<Sbdf> refused = new ArrayList<>();
        java.util.Set<Sbdf> handled = new java.util.HashSet<>();
        int aborts = 0;
        int autoDomain = 0;
        for (PciHostNode node : nodes) {
            // Linux numbers domains from linux,pci-domain, else dynamically in probe order.
            int segment = node.domain() >= 0 ? node.domain() : autoDomain++;
            ConfigPort port = port(vcpu, node);
            PciProbe probe = new PciProbe(port, node, segment);
            List<ProbedFunction> found = probe.scanAndAssign();
            for (ProbedFunction f : found) {
                HypercallResult r = PhysdevCalls.pciDeviceAdd(vcpu, scratch, f.sbdf(), 0);
                if (!r.isOk()) {
                    LOG.warn("dom0: PHYSDEVOP_pci_device_add {} failed: {}", f.sbdf(), r);
                }
                reported.add(new Reported(f, r));
            }
            for (ProbedFunction f : found) {
                probe.enable(f);
            }
            for (ProbedFunction f : found) {
                Integer n = sriovNumVfs.get(f.sbdf());
                if (n == null) {
                    continue;
                }
                handled.add(f.sbdf());
                List<ProbedFunction> vfs = probe.enableSriov(f, n).orElse(null);
                if (vfs == null) {
                    LOG.warn("dom0: cannot enable {} VFs on {}", n, f.sbdf());
                    refused.add(f.sbdf());
                    continue;
                }
                for (ProbedFunction vf : vfs) {
                    HypercallResult r = PhysdevCalls.pciDeviceAdd(vcpu, scratch, vf.sbdf(), Physdev.XEN_PCI_DEV_VIRTFN,
                            f.sbdf().bus(), f.sbdf().devfn());
                    if (!r.isOk()) {
                        LOG.warn("dom0: PHYSDEVOP_pci_device_add VF {} failed: {}", vf.sbdf(), r);
                    }
                    reported.add(new Reported(vf, r));
                    physfn.put(vf.sbdf(), f.sbdf());
                    probe.enable(vf);
                }
            }
            aborts += port.aborts();
        }
        for (Sbdf s : sriovNumVfs.keySet()) {
            if (!handled.contains(s)) {
                refused.add(s);
            }
        }
        return new Enumeration(nodes, reported, aborts, refused);
    }

    /**
     * What a dom0 driver's {@code pci_alloc_irq_vectors(dev, 1, n, PCI_IRQ_MSIX)} does for
     * {@code f}, a function {@link #enumerate} found (a VF included, as Linux's {@code igbvf}
     * does for an igb VF): the same steps as a domU's ({@link GuestMsix#setUp}) through dom0's own
     * device tree, its host bridge node's {@code msi-map} and the hardware domain's vITS at the
     * host ITS address, the doorbell being the physical GITS_TRANSLATER. A VF's table is
     * reachable when its PF's VF MSE is set (a VF's COMMAND Memory Space bit is hardwired 0);
     * with the {@code full} profile vPCI traps the table (docs/sriov.md), upstream dom0 writes the
     * hardware table directly. LPIs are handed out from 8192 per instance, so use one instance
     * (the one {@code XenHost} keeps) for all of dom0's drivers. Not thread-safe.
     *
     * @return the vectors programmed, in entry order; empty if left alone (no MSI-X capability
     *         visible to dom0, decoding off, no ITS for it)
     * @throws IllegalArgumentException if dom0 has no host bridge for {@code f}
     */
    public List<ProbedFunction.MsixVector> setUpMsix(ProbedFunction f) {
        Vcpu vcpu = hwdom.vcpu(0);
        PciHostNode node = nodeOf(f.sbdf());
        ConfigPort port = port(vcpu, node);
        if (msix == null) {
            msix = new GuestMsix(vcpu);
        }
        Sbdf pf = physfn.get(f.sbdf());
        boolean decoding;
        if (pf == null) {
            decoding = (port.read(f.sbdf().bus(), f.sbdf().devfn(), org.xenpci.core.pci.PciRegs.PCI_COMMAND, 2)
                    & org.xenpci.core.pci.PciRegs.PCI_COMMAND_MEMORY) != 0;
        } else {
            int pos = sriovPosition(port, pf.bus(), pf.devfn());
            decoding = pos != 0 && (port.read(pf.bus(), pf.devfn(), pos + 0x08, 2) & 0x0008) != 0;
        }
        return msix.setUp(port, node, f, decoding);
    }

    /** dom0's host bridge node for {@code sbdf}. */
    private PciHostNode nodeOf(Sbdf sbdf) {
        int autoDomain = 0;
        for (PciHostNode node : PciHostNode.find(hwdom.deviceTree())) {
            int segment = node.domain() >= 0 ? node.domain() : autoDomain++;
            if (segment == sbdf.segment() && sbdf.bus() >= node.busStart() && sbdf.bus() <= node.busEnd()) {
                return node;
            }
        }
        throw new IllegalArgumentException("dom0 has no host bridge for " + sbdf);
    }

    /** {@code pci_find_ext_capability(dev, PCI_EXT_CAP_ID_SRIOV)} through {@code port}, or 0. */
    private static int sriovPosition(ConfigPort port, int bus, int devfn) {
        for (int at = 0x100, ttl = 480; at >= 0x100 && ttl > 0; ttl--) {
            int header = port.read(bus, devfn, at, 4);
            if (header == 0 || header == -1) {
                return 0;
            }
            if ((header & 0xffff) == org.xenpci.core.pci.PciRegs.PCI_EXT_CAP_ID_SRIOV) {
                return at;
            }
            at = (header >>> 20) & 0xffc;
        }
        return 0;
    }

    /**
     * What {@link #disableSriov} did: each VF dom0 removed, in order, with Xen's answer to its
     * {@code PHYSDEVOP_pci_device_remove}.
     *
     * @param pf the physical function
     * @param vfsRemoved VF to Xen's result, in removal order (empty when the PF had no VFs enabled)
     */
    public record SriovDisabled(Sbdf pf, java.util.Map<Sbdf, HypercallResult> vfsRemoved) {
        public SriovDisabled {
            java.util.Objects.requireNonNull(pf, "pf");
            vfsRemoved = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(vfsRemoved));
        }
    }

    /**
     * Linux's {@code sriov_disable} ({@code echo 0 > /sys/bus/pci/devices/PF/sriov_numvfs}, no PF
     * driver vetoing): removes each enabled VF, VF 0 first ({@code sriov_del_vfs}), which the Xen
     * bus notifier reports with {@code PHYSDEVOP_pci_device_remove} ({@code drivers/xen/pci.c:
     * xen_remove_device}, its result ignored as Linux does), then clears VF Enable and VF MSE.
     * Whether a VF is assigned to a guest is not dom0's question here: Xen's
     * {@code pci_remove_device} takes it from its owner (docs/sriov.md).
     *
     * @return the VFs removed and Xen's answers; empty map when VF Enable was already clear
     * @throws IllegalArgumentException if dom0 has no host bridge for {@code pf} or {@code pf}
     *         has no SR-IOV capability
     */
    public SriovDisabled disableSriov(Sbdf pf) {
        Vcpu vcpu = hwdom.vcpu(0);
        ConfigPort port = port(vcpu, nodeOf(pf));
        int bus = pf.bus();
        int devfn = pf.devfn();
        int pos = sriovPosition(port, bus, devfn);
        if (pos == 0) {
            throw new IllegalArgumentException(pf + " has no SR-IOV capability");
        }
        java.util.Map<Sbdf, HypercallResult> removed = new java.util.LinkedHashMap<>();
        int ctrl = port.read(bus, devfn, pos + 0x08, 2);
        if ((ctrl & 0x0001) == 0) {
            return new SriovDisabled(pf, removed);
        }
        int numVfs = port.read(bus, devfn, pos + 0x10, 2);
        int offset = port.read(bus, devfn, pos + 0x14, 2);
        int stride = port.read(bus, devfn, pos + 0x16, 2);
        long scratch = scratchPage(vcpu);
        for (int n = 0; n < numVfs; n++) {
            int rid = (bus << 8 | devfn) + offset + n * stride;
            Sbdf vf = Sbdf.ofDevfn(pf.segment(), rid >> 8 & 0xff, rid & 0xff);
            HypercallResult r = PhysdevCalls.pciDeviceRemove(vcpu, scratch, vf);
            if (!r.isOk()) {
                LOG.warn("dom0: PHYSDEVOP_pci_device_remove VF {} failed: {}", vf, r);
            }
            removed.put(vf, r);
            physfn.remove(vf);
        }
        port.write(bus, devfn, pos + 0x08, 2, ctrl & ~(0x0001 | 0x0008));
        return new SriovDisabled(pf, removed);
    }

    /**
     * How dom0 reaches config space on {@code node}: ECAM for ECAM bridges. A DesignWare (R-Car)
     * bridge is driven as Linux's DesignWare driver does (DBI for the root bus, iATU and config
     * window beyond) when its regions are mapped, which they are when Xen does not trap them
     * ({@code has_vpci(hwdom)} false, handle_device maps every reg); under a vPCI hardware domain
     * both windows trap and Xen decodes each as ECAM (xen/arch/arm/vpci.c), so dom0 uses them so.
     */
    public static ConfigPort port(Vcpu vcpu, PciHostNode node) {
        if (node.designWare().isEmpty()) {
            return new EcamPort(vcpu, node.cfgBase(), node.cfgSize(), node.busStart());
        }
        if (!org.xenpci.vpci.ArmVpci.hasVpci(vcpu.domain())) {
            return new DesignWarePort(vcpu, node);
        }
        PciHostNode.DesignWare dw = node.designWare().get();
        return new SplitEcamPort(new EcamPort(vcpu, dw.dbiBase(), dw.dbiSize(), node.busStart()), dw.dbiSize(),
                new EcamPort(vcpu, dw.configBase(), dw.configSize(), (node.busStart() + 1) & 0xff));
    }

    /**
     * Where a guest kernel lays out hypercall arguments: the last page of its first RAM bank
     * (any RAM of its own would do; Xen copies the structure from there).
     */
    public static long scratchPage(Vcpu vcpu) {
        for (P2m.Entry e : vcpu.domain().p2m().entries()) {
            if (e instanceof P2m.Ram) {
                return e.gpa() + e.size() - P2m.PAGE_SIZE;
            }
        }
        throw new IllegalStateException(vcpu.domain() + " has no RAM for hypercall arguments");
    }
}
