package org.xenpci.vpci;


import java.util.List;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.EcamWindow;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.PciConf;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.PdevListener;
import org.xenpci.armpci.PdevType;
import org.xenpci.armpci.gicv3.GuestPciDevices;
import org.xenpci.core.Domain;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.pci.Sbdf;

/**
 * vPCI on Arm as a {@link XenExtension} (xen/arch/arm/vpci.c {@code domain_vpci_init} plus the
 * common attach points): creates the {@link Vpci} service, hooks the pdev lifecycle so devices
 * get vPCI state when added or assigned, and registers the ECAM trap handlers.
 *
 * <p>{@code has_vpci(d)} is decided by the profile: the hardware domain when
 * {@link org.xenpci.core.Profile#vpciHardwareDomain()}, guests when
 * {@link org.xenpci.core.Profile#vpciGuest()} (both false upstream, where this extension then
 * registers nothing and every attach is a no-op returning 0, as Xen 4.23). Must be added to the
 * {@code Xen} builder after {@code ArmPci}.
 */
public final class ArmVpci implements XenExtension {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ArmVpci.class);
    /** {@code GUEST_VPCI_ECAM_BASE}. */
    public static final long GUEST_VPCI_ECAM_BASE = 0x10000000L;
    /** {@code GUEST_VPCI_ECAM_SIZE}: 256 buses x 32 devices x 8 functions x 4 KiB. */
    public static final long GUEST_VPCI_ECAM_SIZE = 0x10000000L;

    private final List<CapabilityEmulator> explicitEmulators;
    private volatile Vpci vpci;
    private volatile ArmPciLayer pci;
    private volatile Xen xen;

    /**
     * With the capability emulators the profile allows, decided at boot: {@link VpciMsi} and
     * {@link VpciMsix} (in Xen's link order) when {@code Profile.vpciMsi}, none otherwise (upstream
     * Arm builds neither msi.c nor msix.c).
     */
    public ArmVpci() {
        this.explicitEmulators = null;
    }

    /** With an explicit capability emulator list, initialised in this order (whatever the profile). */
    public ArmVpci(List<CapabilityEmulator> emulators) {
        this.explicitEmulators = List.copyOf(emulators);
    }

    /** The emulators {@link #ArmVpci()} uses under {@code profile}. */
    public static List<CapabilityEmulator> defaultEmulators(org.xenpci.core.Profile profile) {
        return profile.vpciMsi() ? List.of(new VpciMsi(), new VpciMsix()) : List.of();
    }

    @Override
    public void init(Xen x) {
        this.xen = x;
        this.pci = x.service(ArmPciLayer.class).orElseThrow(
                () -> new IllegalStateException("ArmVpci needs the ArmPci extension to be added before it"));
        PciConf conf = pci.conf();
        List<CapabilityEmulator> emulators = explicitEmulators != null ? explicitEmulators : defaultEmulators(x.profile());
        this.vpci = new Vpci(x, emulators, new Vpci.Passthrough() {
            @Override
            public int read(int machine, int reg, int size) {
                return conf.readPacked(machine, reg, size);
            }

            @Override
            public void write(int machine, int reg, int size, int value) {
                conf.writePacked(machine, reg, size, value);
            }
        });
        x.publish(Vpci.class, vpci);
        // The guest vITS asks which function a guest DeviceID (= guest RID) names (docs/msi.md).
        x.publish(GuestPciDevices.class, (d, rid) -> {
            VpciDomain vd = d.extension(VpciDomain.class);
            VpciDevice dev = vd == null ? null : vd.findByGuestSbdf(rid);
            return dev == null ? null : dev.machineSbdf();
        });
        pci.addListener(new Attach());
    }

    /** The vPCI service (after boot). */
    public Vpci vpci() {
        return vpci;
    }

    /** Xen's {@code has_vpci(d)} under this profile. */
    public static boolean hasVpci(Domain d) {
        if (d.isSystemDomain()) {
            return false;
        }
        return d.isHardwareDomain() ? d.xen().profile().vpciHardwareDomain() : d.xen().profile().vpciGuest();
    }

    @Override
    public void domainCreated(Domain d) {
        if (!hasVpci(d)) {
            return;
        }
        if (d.isHardwareDomain()) {
            // One handler per host bridge config window (and child window), at the host address:
            // the hardware domain is direct-mapped.
            for (HostBridge b : pci.hostBridges().all()) {
                trap(d, b, b.cfg());
                b.childCfg().ifPresent(w -> trap(d, b, w));
            }
        } else if (d.iommuEnabled()) {
            // libxl gives the guest a vPCI node only when it has pci= devices, which is also when
            // it creates the domain with CDF_iommu; the trap follows the same rule.
            d.p2m().addTrap(GUEST_VPCI_ECAM_BASE, GUEST_VPCI_ECAM_SIZE,
                    new EcamTrap(vpci, "vpci-ecam", GUEST_VPCI_ECAM_BASE, 0, 0, xen.trace()));
        }
    }

    /**
     * Runs after every extension relinquished the domain's resources (arm-pci released its
     * devices, which detached their vPCI state): drops the guest ECAM handler and the domain's
     * vPCI bookkeeping, so nothing is left behind (xen/drivers/vpci/vpci.c: vpci_assign_device, {@code domain_vpci_init}'s
     * counterpart).
     */
    @Override
    public void domainDestroyed(Domain d) {
        for (org.xenpci.core.P2m.Entry e : d.p2m().entries()) {
            if (e instanceof org.xenpci.core.P2m.Trapped && ((org.xenpci.core.P2m.Trapped) e).handler() instanceof EcamTrap) {
                d.p2m().removeTrap(e.gpa(), ((org.xenpci.core.P2m.Trapped) e).handler());
            }
        }
        VpciDomain vd = d.extension(VpciDomain.class);
        if (vd != null && vd.devices().isEmpty()) {
            d.removeExtension(VpciDomain.class);
        }
    }

    private void trap(Domain d, HostBridge b, EcamWindow w) {
        d.p2m().addTrap(w.physBase(), w.size(),
                new EcamTrap(vpci, "vpci-ecam " + b.path(), w.physBase(), b.segment(), w.busStart(), xen.trace()));
    }

    /** The pdev lifecycle hooks: {@code vpci_assign_device} / {@code vpci_deassign_device}. */
    private final class Attach implements PdevListener {
        /** {@code pci_check_bar} against the host bridge windows: one instance for every device. */
        private final PciCheckBar checkBar = (m, start, end) -> pci.pciCheckBar(m, start, end);

        @Override
        public int vpciAssign(Pdev pdev) {
            Domain owner = pdev.owner();
            if (owner == null || !hasVpci(owner)) {
                return 0;
            }
            org.xenpci.armpci.VirtfnResources virtfn = null;
            if (pdev.isVirtfn() && !owner.isHardwareDomain() && owner.domid() != Domain.DOMID_XEN) {
                // A VF's own config space reads 0xFFFF IDs and no BARs (PCIe SR-IOV). Xen 4.23's
                // vPCI has no VF handling (xen/drivers/vpci/header.c: init_header sizes the VF's
                // own BARs), so upstream a domU would get a slot that looks absent: refused visibly
                // instead. Profile.vpciGuestVirtfn presents what the PF says (docs/sriov.md).
                if (!xen.profile().vpciGuestVirtfn()) {
                    LOG.warn("{}: vPCI for SR-IOV virtual function {} is not modelled (profile switch vpciGuestVirtfn off): "
                            + "assignment refused", owner, pdev.sbdf());
                    return org.xenpci.core.Errno.EOPNOTSUPP.rc();
                }
                Pdev pf = pdev.physfn();
                virtfn = pf == null ? null : org.xenpci.armpci.VirtfnResources.of(pci.conf(), pf, pdev.sbdf()).orElse(null);
                if (virtfn == null) {
                    // read_pci_mem_bar gives nothing: the PF's VFs are off, this VF is not one of
                    // them, or Xen never sized the VF BARs (the PF was added with VFs enabled).
                    LOG.warn("{}: SR-IOV virtual function {}: its PF {} gives no VF resources (VFs off, not an enabled VF, "
                            + "or VF BARs never sized): assignment refused", owner, pdev.sbdf(), pf == null ? "?" : pf.sbdf());
                    return org.xenpci.core.Errno.ENODEV.rc();
                }
            } else if (pdev.isVirtfn() && xen.profile().vpciGuestVirtfn()) {
                // The hardware domain's view of a VF keeps hardware reads (0xFFFF IDs, BARs 0, as
                // Linux expects), but vPCI itself needs the VF's BARs to map them and to find its
                // MSI-X table (xen/drivers/vpci/msix.c: init_msix checks header.bars[bir]).
                // Upstream's header.c sizes the VF's own zero BARs, so init_msix fails -ENODEV
                // and the capability is masked; with the switch the BARs come from the PF
                // (read_pci_mem_bar). Nothing from the PF: Xen's behaviour, nothing refused.
                Pdev pf = pdev.physfn();
                virtfn = pf == null ? null : org.xenpci.armpci.VirtfnResources.of(pci.conf(), pf, pdev.sbdf()).orElse(null);
            }
            Sbdf sbdf = pdev.sbdf();
            HardwareConfig hw = configOf(sbdf);
            // Conventional PCI functions have 256 bytes of config space; PCIe ones 4 KiB.
            boolean ext = pdev.type() == PdevType.PCIE_ENDPOINT || pdev.type() == PdevType.PCIE_BRIDGE
                    || pdev.type() == PdevType.PCI2PCIE_BRIDGE || pdev.type() == PdevType.PCIE2PCI_BRIDGE;
            VpciDeviceSpec spec = VpciDeviceSpec.of(sbdf, hw).withExtendedConfig(ext)
                    .withCheckBar(checkBar)
                    // xl's vslot, if the toolstack left one (Vpci.requestVirtualSlot).
                    .withRequestedSlot(vpci.requestedVirtualSlot(owner, sbdf))
                    .withVirtfn(virtfn, virtfn == null ? null : configOf(virtfn.pf()));
            int rc = vpci.assignDevice(owner, spec, null);
            if (xen.trace().enabled(org.xenpci.core.trace.TraceCategory.DEVICE)) {
                xen.trace().emit(new VpciEvents.Attached(owner.domid(), sbdf, true, rc));
            }
            return rc;
        }

        /**
         * The real config space of {@code sbdf} through Xen's pci_conf accessors, resolved for
         * this one function ({@link PciConf#forFunction}): the host bridge and ECAM address are
         * found once, not at every pass-through register access.
         */
        private HardwareConfig configOf(Sbdf sbdf) {
            PciConf.FunctionConf conf = pci.conf().forFunction(sbdf);
            return new HardwareConfig() {
                @Override
                public int read(int reg, int size) {
                    return conf.read(reg, size);
                }

                @Override
                public void write(int reg, int size, int value) {
                    conf.write(reg, size, value);
                }
            };
        }

        @Override
        public void vpciDeassign(Pdev pdev) {
            Domain owner = pdev.owner();
            if (owner == null || vpci.device(owner, pdev.sbdf()) == null) {
                return;
            }
            vpci.deassignDevice(owner, pdev.sbdf());
            if (xen.trace().enabled(org.xenpci.core.trace.TraceCategory.DEVICE)) {
                xen.trace().emit(new VpciEvents.Attached(owner.domid(), pdev.sbdf(), false, 0));
            }
        }
    }
}
