package org.xenpci.armpci.gicv3;

import org.xenpci.armpci.its.ItsNode;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.PdevListener;
import org.xenpci.armpci.its.ItsHardware;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Domain;
import org.xenpci.core.Hardware;
import org.xenpci.core.Hex;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.fdt.FdtNode;

/**
 * GICv3 ITS support in Xen as a {@link XenExtension} (xen/arch/arm/gic-v3-its.c,
 * gic-v3-lpi.c, vgic-v3-its.c):
 * <ol>
 * <li>{@link #init}: finds every host DT node compatible with {@code "arm,gic-v3-its"}, drives
 *     each ITS through its registers ({@link HostIts}), connects Xen's LPI handler to it, and
 *     publishes {@link ItsLayer}. Registers a pdev listener so a device's ITS mappings are
 *     removed when it leaves its owner (deassign or PHYSDEVOP_pci_device_remove).</li>
 * <li>{@link #domainCreated}: the hardware domain gets one vITS per host ITS at the host
 *     address, trapping only the 64 KiB control frame (vgic_v3_its_init_virtual); its
 *     GITS_TRANSLATER frame is not mapped, because dom0's devices write the physical doorbell
 *     directly. A guest gets one vITS at {@link #GUEST_GICV3_ITS_BASE} (both frames trapped)
 *     when the profile has {@code guestVits}, the domain can have devices (CDF_iommu) and has a
 *     vGICv3 (a vGICv2 domain has no ITS: {@code xen/arch/arm/vgic-v3.c: vgic_v3_domain_init}).</li>
 * </ol>
 *
 * <p>Modelling decisions (see docs/msi.md):
 * <ul>
 * <li>Xen's own memory: the command queue and ITTs of each host ITS live in the top
 *     {@link #XEN_ITS_MEMORY} bytes of the last host RAM bank (per ITS, downwards). The model
 *     maps all host RAM 1:1 into dom0, so this is a convention dom0 must respect, as it must
 *     not touch memory outside its {@code /memory} node on real Xen.</li>
 * <li>The ITS node's {@code reg} is read with its parent's {@code #address-cells} /
 *     {@code #size-cells}; the parent (the GIC) is assumed to map 1:1 ({@code ranges;}), as on
 *     QEMU virt.</li>
 * <li>LPIs are delivered from the hardware ITS to Xen through {@link ItsHardware#connect}: the
 *     model's stand-in for the redistributor and CPU interface. Each host LPI goes to pCPU 0.</li>
 * </ul>
 * Must be added to the builder after {@code ArmPci}.
 */
public final class GicV3Its implements XenExtension {
    private static final Logger LOG = LoggerFactory.getLogger(GicV3Its.class);

    /**
     * Guest-physical base of a guest's virtual ITS: right above the GICv3 redistributor region
     * (GUEST_GICV3_GICR0_BASE 0x03020000 + 16 MiB = 0x04020000), in the hole below
     * GUEST_VPCI_ECAM_BASE (0x10000000). Not a Xen constant: upstream guests have no ITS.
     */
    public static final long GUEST_GICV3_ITS_BASE = 0x0402_0000L;
    /** Size of the guest vITS region: both 64 KiB frames. */
    public static final long GUEST_GICV3_ITS_SIZE = ItsRegs.ITS_SIZE;
    /** The guest vITS doorbell (GITS_TRANSLATER). */
    public static final long GUEST_GICV3_ITS_DOORBELL = GUEST_GICV3_ITS_BASE + ItsRegs.GITS_TRANSLATER;
    /** DeviceID / EventID widths of a guest vITS (guest RIDs are 16 bits). */
    public static final int GUEST_VITS_ID_BITS = 16;
    /** Memory Xen keeps per host ITS for its command queue and ITTs (bytes). */
    public static final long XEN_ITS_MEMORY = 0x100000;
    /** Host LPIs Xen can hand out (8192 .. 8192 + this - 1). */
    public static final int MAX_HOST_LPIS = 8192;

    private volatile ItsLayer layer;

    /** The layer once {@link #init} has run. */
    public ItsLayer layer() {
        return layer;
    }

    @Override
    public void init(Xen xen) {
        Hardware hw = xen.hardware();
        PhysicalAddressSpace bus = hw.addressSpace();
        HostLpis lpis = new HostLpis(xen, MAX_HOST_LPIS);
        List<HostIts> found = new ArrayList<>();
        List<Hardware.RamBank> ram = hw.ram();
        long xenMem = ram.isEmpty() ? 0 : ram.get(ram.size() - 1).base() + ram.get(ram.size() - 1).memory().size();
        for (ItsNode n : ItsNode.find(hw.deviceTree())) {
            PhysicalAddressSpace.Region r = bus.find(n.base());
            if (r == null || !(r.device() instanceof ItsHardware its)) {
                LOG.warn("{}: no ITS answers at {}; ignored", n.path(), Hex.of(n.base()));
                continue;
            }
            if (xenMem < XEN_ITS_MEMORY) {
                LOG.warn("{}: no host RAM for the ITS command queue; ignored", n.path());
                continue;
            }
            xenMem -= XEN_ITS_MEMORY;
            its.trace(xen.trace());
            its.connect((target, intid) -> lpis.doLpi(intid));
            found.add(new HostIts(n.path(), n.phandle(), n.base(), bus, lpis, xenMem, XEN_ITS_MEMORY));
        }
        ItsLayer l = new ItsLayer(xen, found, lpis);
        xen.publish(ItsLayer.class, l);
        xen.service(ArmPciLayer.class).ifPresent(pci -> pci.addListener(new PdevListener() {
            /*
             * A device that changed hands keeps no ITS mapping of any previous owner
             * (deassignment, quarantine, destruction). This runs on attach to the NEW owner,
             * not on detach: PHYSDEVOP_pci_device_reset detaches and re-attaches vPCI for the
             * same owner (xen/drivers/pci/physdev.c: PHYSDEVOP_pci_device_reset rebuilds vPCI state only) and must leave its MSIs working.
             */
            @Override
            public int vpciAssign(Pdev pdev) {
                for (Domain d : xen.domains()) {
                    if (d != pdev.owner()) {
                        l.releaseDevice(d, pdev.sbdf());
                    }
                }
                // A guest's share of ITS memory is set aside now, so a full pool fails the
                // assignment (the toolstack sees -ENOSPC) instead of a MAPD in the running guest.
                return l.reserveDevice(pdev.owner(), pdev.sbdf());
            }

            @Override
            public void pdevRemoved(Pdev pdev) {
                for (Domain d : xen.domains()) {
                    l.releaseDevice(d, pdev.sbdf());
                }
            }
        }));
        this.layer = l;
    }

    @Override
    public void domainCreated(Domain d) {
        ItsLayer l = layer;
        if (l == null) {
            return;
        }
        if (d.isHardwareDomain()) {
            for (HostIts its : hostIts(l)) {
                Vits v = new Vits(l, d, its.base(), ItsRegs.FRAME_SIZE, its, its.devidBits(), its.evidBits());
                d.p2m().addTrap(its.base(), ItsRegs.FRAME_SIZE, v);
                l.addVits(d, v);
            }
        } else if (d.xen().profile().guestVits() && d.iommuEnabled() && d.vgicVersion() == 3 && !hostIts(l).isEmpty()) {
            Vits v = new Vits(l, d, GUEST_GICV3_ITS_BASE, GUEST_GICV3_ITS_SIZE, null, GUEST_VITS_ID_BITS,
                    GUEST_VITS_ID_BITS);
            d.p2m().addTrap(GUEST_GICV3_ITS_BASE, GUEST_GICV3_ITS_SIZE, v);
            l.addVits(d, v);
        }
    }

    @Override
    public void domainDestroyed(Domain d) {
        ItsLayer l = layer;
        if (l != null) {
            l.domainDestroyed(d);
        }
    }

    private static List<HostIts> hostIts(ItsLayer l) {
        List<HostIts> out = new ArrayList<>();
        for (Long b : l.hostItsBases()) {
            out.add(l.hostItsAt(b));
        }
        return out;
    }
}
