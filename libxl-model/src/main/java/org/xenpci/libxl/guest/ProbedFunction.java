package org.xenpci.libxl.guest;

import java.util.List;
import org.xenpci.core.pci.Sbdf;

/**
 * What a reference guest found at one function while probing.
 *
 * @param sbdf the address in the guest's own numbering (segment from linux,pci-domain)
 * @param vendor vendor ID
 * @param device device ID
 * @param classCode 24-bit class code (base, sub, prog-if)
 * @param revision revision ID
 * @param headerType header type byte as read (bit 7 = multi-function)
 * @param bars sized BARs and the ROM (index 6 for type 0), with the addresses the guest gave them
 * @param secondaryBus for a bridge, the secondary bus the guest programmed; else -1
 * @param subordinateBus for a bridge, the subordinate bus; else -1
 * @param msixVectors the MSI-X vectors the guest programmed, in entry order (empty when it left
 *        MSI-X alone: no capability, no ITS in its DT, decoding off; and for dom0)
 * @param msiVectors the plain MSI vectors the guest programmed, in vector order, each as a
 *        {@link MsixVector} whose {@code entry} is the MSI vector number (empty unless the
 *        function has MSI and no MSI-X and the guest has an ITS; and for dom0)
 */
public record ProbedFunction(Sbdf sbdf, int vendor, int device, int classCode, int revision, int headerType,
        List<ProbedBar> bars, int secondaryBus, int subordinateBus, List<MsixVector> msixVectors,
        List<MsixVector> msiVectors) {

    public ProbedFunction {
        bars = List.copyOf(bars);
        msixVectors = List.copyOf(msixVectors);
        msiVectors = List.copyOf(msiVectors);
    }

    /** A function with {@code msixVectors} set up and no plain MSI vectors. */
    public ProbedFunction(Sbdf sbdf, int vendor, int device, int classCode, int revision, int headerType,
            List<ProbedBar> bars, int secondaryBus, int subordinateBus, List<MsixVector> msixVectors) {
        this(sbdf, vendor, device, classCode, revision, headerType, bars, secondaryBus, subordinateBus, msixVectors,
                List.of());
    }

    /** A function found by the probe, before any MSI-X set-up. */
    public ProbedFunction(Sbdf sbdf, int vendor, int device, int classCode, int revision, int headerType,
            List<ProbedBar> bars, int secondaryBus, int subordinateBus) {
        this(sbdf, vendor, device, classCode, revision, headerType, bars, secondaryBus, subordinateBus, List.of());
    }

    /** This function with {@code vectors} as its programmed MSI-X vectors. */
    public ProbedFunction withMsixVectors(List<MsixVector> vectors) {
        return new ProbedFunction(sbdf, vendor, device, classCode, revision, headerType, bars, secondaryBus,
                subordinateBus, vectors, msiVectors);
    }

    /** This function with {@code vectors} as its programmed plain MSI vectors. */
    public ProbedFunction withMsiVectors(List<MsixVector> vectors) {
        return new ProbedFunction(sbdf, vendor, device, classCode, revision, headerType, bars, secondaryBus,
                subordinateBus, msixVectors, vectors);
    }

    /** True for a type-1 (PCI-to-PCI bridge) header. */
    public boolean isBridge() {
        return (headerType & 0x7f) == 1;
    }

    /** A BAR the guest sized: {@code type} is mem32, mem64, io or rom; {@code address} is the PCI bus address it assigned (0 if none). */
    public record ProbedBar(int index, String type, boolean prefetchable, long size, long address) {
    }

    /**
     * One MSI-X vector (or, in {@link #msiVectors}, one plain MSI vector: {@code entry} is then
     * the vector number) as the guest set it up: table entry {@code entry} writes EventID
     * {@code entry} to the ITS doorbell, which the guest mapped (MAPTI) to LPI {@code lpi} in the
     * collection of vCPU {@code vcpu}.
     */
    public record MsixVector(int entry, int lpi, int vcpu) {
    }
}
