package org.xenpci.libxl.guest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.its.ItsNode;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.libxl.guest.PciHostNode.Window;
import org.xenpci.libxl.guest.ProbedFunction.MsixVector;
import org.xenpci.libxl.guest.ProbedFunction.ProbedBar;

/**
 * A guest's MSI-X set-up for its PCI functions, as a Linux guest with a GICv3 ITS does it
 * ({@code pci_alloc_irq_vectors(..., PCI_IRQ_MSIX)}, drivers/pci/msi/msi.c over the ITS MSI
 * domain), using only config accesses, MMIO loads and stores, and its own RAM:
 * <ol>
 * <li>The MSI domain: the host bridge node's {@code msi-map} (or {@code msi-parent}) maps the
 *     function's requester ID to an MSI controller phandle and DeviceID (Linux
 *     {@code of_map_id}; the same {@link MsiMap} the hardware and Xen use). The controller must
 *     be an enabled {@code arm,gic-v3-its} node of the guest DT; otherwise the function gets no
 *     MSI-X (Linux falls back to INTx, which guests do not have).</li>
 * <li>The vectors: {@code N = min(table size, number of vCPUs)}, entry {@code k} targets vCPU
 *     {@code k % vCPUs}; the ITS is brought up once per guest ({@link GuestIts}), then MAPD and
 *     MAPTI give event {@code k} LPI {@code first + k} (LPIs from 8192 upward per guest).</li>
 * <li>The table, in Linux's order ({@code msix_capability_init}): control ENABLE | MASKALL;
 *     each entry's address low, address high (the ITS doorbell: its DT {@code reg} +
 *     GITS_TRANSLATER) and data (the EventID {@code k}); unmask each entry; clear MASKALL.</li>
 * </ol>
 * A function is left alone when it has no MSI-X capability, memory decoding is off (its table
 * is unreachable), the table's BAR has no address, or the ITS does not answer. A function
 * with MSI and no MSI-X gets one plain MSI vector instead, through the same ITS drivers
 * ({@link #setUpMsi}).
 *
 * <p>Not thread-safe: one per reference-guest run, driven by one vCPU.
 */
public final class GuestMsix {
    private static final Logger LOG = LoggerFactory.getLogger(GuestMsix.class);

    private final Vcpu vcpu;
    private final Fdt dt;
    private final long ram0;
    /** ITS drivers by DT phandle, brought up on first use; null value = that ITS failed. */
    private final Map<Integer, GuestIts> its = new HashMap<>();

    /** @param vcpu the guest vCPU doing the loads and stores */
    public GuestMsix(Vcpu vcpu) {
        this.vcpu = vcpu;
        this.dt = vcpu.domain().deviceTree();
        this.ram0 = firstRam(vcpu);
    }

    /**
     * Sets up MSI-X for {@code f}, found on the bridge {@code node} through {@code port}.
     *
     * @return the vectors programmed, in entry order; empty if the function was left alone
     */
    public List<MsixVector> setUp(ConfigPort port, PciHostNode node, ProbedFunction f) {
        return setUp(port, node, f, (port.read(f.sbdf().bus(), f.sbdf().devfn(), PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) != 0);
    }

    /**
     * {@link #setUp(ConfigPort, PciHostNode, ProbedFunction)} for a function whose memory
     * decoding the caller knows: an SR-IOV VF's COMMAND Memory Space bit is hardwired 0 and it
     * decodes by its PF's VF MSE (PCIe SR-IOV), which the caller reads from the PF.
     *
     * @param decoding true if the function's BARs decode now (its table is reachable)
     * @return the vectors programmed, in entry order; empty if the function was left alone
     */
    public List<MsixVector> setUp(ConfigPort port, PciHostNode node, ProbedFunction f, boolean decoding) {
        if (f.isBridge() || ram0 < 0 || !decoding) {
            return List.of();
        }
        int bus = f.sbdf().bus();
        int devfn = f.sbdf().devfn();
        int pos = port.findCapability(bus, devfn, PCI_CAP_ID_MSIX);
        if (pos == 0) {
            return List.of();
        }
        Optional<MsiMap.Translation> t = msiMap(node).map(bus << 8 | devfn);
        GuestIts driver = t.isEmpty() ? null : driver(t.get().controllerPhandle());
        if (driver == null) {
            return List.of();
        }
        int control = port.read(bus, devfn, pos + PCI_MSIX_FLAGS, 2);
        int tableReg = port.read(bus, devfn, pos + PCI_MSIX_TABLE, 4);
        long table = tableAddress(node, f, tableReg & PCI_MSIX_BIR_MASK);
        if (table < 0) {
            return List.of();
        }
        table += Integer.toUnsignedLong(tableReg & ~PCI_MSIX_BIR_MASK);
        int n = Math.max(1, Math.min((control & PCI_MSIX_FLAGS_QSIZE) + 1, driver.vcpus()));
        int first = driver.mapDevice(t.get().deviceId(), n);
        if (first < 0) {
            return List.of();
        }
        int ctrl = control & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
        port.write(bus, devfn, pos + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
        long doorbell = driver.doorbell();
        for (int k = 0; k < n; k++) {
            long e = table + (long) k * PCI_MSIX_ENTRY_SIZE;
            store(e + PCI_MSIX_ENTRY_LOWER_ADDR, doorbell & 0xffffffffL);
            store(e + PCI_MSIX_ENTRY_UPPER_ADDR, doorbell >>> 32);
            store(e + PCI_MSIX_ENTRY_DATA, k);
        }
        List<MsixVector> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            store(table + (long) k * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
            out.add(new MsixVector(k, first + k, k % driver.vcpus()));
        }
        port.write(bus, devfn, pos + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE);
        return out;
    }

    /**
     * Sets up plain MSI for {@code f} when it has an MSI capability and no MSI-X (Linux prefers
     * MSI-X), as {@code pci_alloc_irq_vectors(dev, 1, 1, PCI_IRQ_MSI)} does on a GICv3 ITS
     * ({@code drivers/pci/msi/msi.c: msi_capability_init}; one vector, as Linux enables unless
     * a driver asks for more):
     * <ol>
     * <li>{@code its_pci_msi_prepare} ({@code drivers/irqchip/irq-gic-v3-its-msi.c}): MAPD of the
     *     DeviceID the {@code msi-map} gives, with an ITT for every vector the capability could
     *     carry ({@code pci_msi_vec_count} = 1 shifted left by Multiple Message Capable), MAPTI of
     *     event 0 to a fresh LPI in vCPU 0's collection;</li>
     * <li>mask the vectors (per-vector masking capable functions only), then
     *     {@code __pci_write_msi_msg}: Multiple Message Enable 0, address low and high (64-bit
     *     capable only) = the ITS doorbell, data = EventID 0;</li>
     * <li>{@code pci_intx_for_msi}: COMMAND.INTX_DISABLE; MSI Enable; then the vector is unmasked
     *     ({@code request_irq} starts the interrupt, {@code pci_msi_unmask}).</li>
     * </ol>
     *
     * @return the vector programmed (vector 0), or empty if the function was left alone: a bridge,
     *         an MSI-X capability (that path is {@link #setUp}), no MSI capability, no ITS
     */
    public List<MsixVector> setUpMsi(ConfigPort port, PciHostNode node, ProbedFunction f) {
        if (f.isBridge() || ram0 < 0) {
            return List.of();
        }
        int bus = f.sbdf().bus();
        int devfn = f.sbdf().devfn();
        int pos = port.findCapability(bus, devfn, PCI_CAP_ID_MSI);
        if (pos == 0 || port.findCapability(bus, devfn, PCI_CAP_ID_MSIX) != 0) {
            return List.of();
        }
        Optional<MsiMap.Translation> t = msiMap(node).map(bus << 8 | devfn);
        GuestIts driver = t.isEmpty() ? null : driver(t.get().controllerPhandle());
        if (driver == null) {
            return List.of();
        }
        int control = port.read(bus, devfn, pos + PCI_MSI_FLAGS, 2);
        int capable = 1 << Math.min(5, (control & PCI_MSI_FLAGS_QMASK) >> 1);
        int lpi = driver.mapDevice(t.get().deviceId(), capable, 1);
        if (lpi < 0) {
            return List.of();
        }
        boolean is64 = (control & PCI_MSI_FLAGS_64BIT) != 0;
        boolean maskable = (control & PCI_MSI_FLAGS_MASKBIT) != 0;
        int maskReg = pos + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
        int ctrl = control & ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
        port.write(bus, devfn, pos + PCI_MSI_FLAGS, 2, ctrl);
        if (maskable) {
            port.write(bus, devfn, maskReg, 4, (int) ((1L << capable) - 1));
        }
        long doorbell = driver.doorbell();
        port.write(bus, devfn, pos + PCI_MSI_ADDRESS_LO, 4, (int) doorbell);
        if (is64) {
            port.write(bus, devfn, pos + PCI_MSI_ADDRESS_HI, 4, (int) (doorbell >>> 32));
        }
        port.write(bus, devfn, pos + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0);
        int cmd = port.read(bus, devfn, PCI_COMMAND, 2);
        port.write(bus, devfn, PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
        port.write(bus, devfn, pos + PCI_MSI_FLAGS, 2, ctrl | PCI_MSI_FLAGS_ENABLE);
        if (maskable) {
            port.write(bus, devfn, maskReg, 4, (int) (((1L << capable) - 1) & ~1L));
        }
        return List.of(new MsixVector(0, lpi, 0));
    }

    /** The ITS driver for DT phandle {@code phandle}, initialised once; null if no such ITS or it failed. */
    private GuestIts driver(int phandle) {
        if (its.containsKey(phandle)) {
            return its.get(phandle);
        }
        GuestIts d = null;
        for (ItsNode n : ItsNode.find(dt)) {
            if (n.phandle() == phandle) {
                d = new GuestIts(vcpu, n.base(), ram0);
                if (!d.init()) {
                    d = null;
                }
                break;
            }
        }
        its.put(phandle, d);
        return d;
    }

    /** The node's MSI mapping; a malformed one means no MSI domain (Linux fails the lookup). */
    private MsiMap msiMap(PciHostNode node) {
        Optional<FdtNode> n = dt.node(node.path());
        if (n.isEmpty()) {
            return MsiMap.NONE;
        }
        try {
            return MsiMap.of(cells(n.get(), "msi-map"), cells(n.get(), "msi-map-mask"), cells(n.get(), "msi-parent"));
        } catch (HardwareConfigException e) {
            LOG.warn("{}: malformed MSI mapping ({}); no MSI domain for its devices", node.path(), e.getMessage());
            return MsiMap.NONE;
        }
    }

    private static int[] cells(FdtNode n, String name) {
        return n.property(name).map(FdtProperty::asCells).orElse(null);
    }

    /** CPU address of BAR {@code bir} of {@code f} through the node's windows, or -1 if it has none. */
    private static long tableAddress(PciHostNode node, ProbedFunction f, int bir) {
        for (ProbedBar b : f.bars()) {
            if (b.index() != bir || b.address() == 0 || !(b.type().equals("mem32") || b.type().equals("mem64"))) {
                continue;
            }
            for (Window w : node.windows()) {
                if (w.space() != PciHostNode.Space.IO && b.address() >= w.pciBase() && b.address() < w.pciBase() + w.size()) {
                    return b.address() - w.pciBase() + w.cpuBase();
                }
            }
        }
        return -1;
    }

    /** A 32-bit store to the table; an abort leaves the entry as it was (nothing to recover). */
    private void store(long gpa, long value) {
        vcpu.mmioWrite(gpa, 4, value & 0xffffffffL);
        vcpu.takeDataAbort();
    }

    private static long firstRam(Vcpu vcpu) {
        for (P2m.Entry e : vcpu.domain().p2m().entries()) {
            if (e instanceof P2m.Ram) {
                return e.size() >= 2 * GuestIts.QUEUE_OFFSET ? e.gpa() : -1;
            }
        }
        return -1;
    }
}
