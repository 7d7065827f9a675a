package org.xenpci.libxl.guest;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.Domain;

/**
 * The reference domU: what a Linux guest does with the vPCI host bridge node of its own device
 * tree ({@code pcie@10000000}, compatible {@code pci-host-ecam-generic}): probe the bus through
 * the ECAM window, size every BAR, place it in the node's windows (32-bit non-prefetchable
 * MEM, 64-bit prefetchable), and enable decoding; then, where it can, set up MSI-X through
 * the GICv3 ITS its device tree describes ({@link GuestMsix}: only when the node's
 * {@code msi-map} points to an {@code arm,gic-v3-its} node and the function has an MSI-X
 * capability; plain MSI, one vector, for a function with MSI and no MSI-X:
 * {@link GuestMsix#setUpMsi}). With the {@code upstream} profile the window has no handler, so every config
 * access takes a data abort and the guest finds nothing.
 */
public final class ReferenceGuest {
    private final Domain domain;

    public ReferenceGuest(Domain domain) {
        this.domain = domain;
    }

    /** What the probe found and how many config accesses aborted. */
    public record Probe(List<PciHostNode> hostBridges, List<ProbedFunction> functions, int configAborts) {
        public Probe {
            hostBridges = List.copyOf(hostBridges);
            functions = List.copyOf(functions);
        }
    }

    /**
     * Probes every PCI host bridge node of the guest's device tree, enables what it finds, and
     * sets up MSI-X, or plain MSI, where it can (the vectors are in each
     * {@link ProbedFunction#msixVectors()} and {@link ProbedFunction#msiVectors()}).
     */
    public Probe probe() {
        List<PciHostNode> nodes = PciHostNode.find(domain.deviceTree());
        List<ProbedFunction> found = new ArrayList<>();
        int aborts = 0;
        int autoDomain = 0;
        GuestMsix msix = new GuestMsix(domain.vcpu(0));
        for (PciHostNode node : nodes) {
            int segment = node.domain() >= 0 ? node.domain() : autoDomain++;
            EcamPort port = new EcamPort(domain.vcpu(0), node.cfgBase(), node.cfgSize(), node.busStart());
            PciProbe probe = new PciProbe(port, node, segment);
            List<ProbedFunction> fs = probe.scanAndAssign();
            for (ProbedFunction f : fs) {
                probe.enable(f);
            }
            for (ProbedFunction f : fs) {
                ProbedFunction withMsix = f.withMsixVectors(msix.setUp(port, node, f));
                found.add(withMsix.withMsiVectors(msix.setUpMsi(port, node, withMsix)));
            }
            aborts += port.aborts();
        }
        return new Probe(nodes, found, aborts);
    }
}
