package org.xenpci.libxl.host;

import java.util.Objects;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.libxl.dt.VpciNodeExtras;
import org.xenpci.libxl.dt.VpciNodeExtrasSource;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.smmu.ArmSmmu;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.trace.Trace;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.vpci.ArmVpci;
import org.xenpci.vpci.Vpci;

/**
 * A booted host: the board, Xen with its SMMUv3 driver, Arm PCI layer, GICv3 ITS support and
 * vPCI, and dom0 after the reference
 * hardware-domain guest enumerated the PCI buses (boot flow 1 and 2 of the architecture).
 *
 * <pre>{@code
 * XenHost host = XenHost.boot(Platform.build(PlatformFile.load(path)), Profile.FULL);
 * host.pci().pdevs().all();          // what Xen registered
 * host.enumeration().functions();    // what dom0 found and reported
 * }</pre>
 */
public final class XenHost {
    private final Platform platform;
    private final Xen xen;
    private final HardwareDomainGuest.Enumeration enumeration;
    private final HardwareDomainGuest dom0;

    private XenHost(Platform platform, Xen xen, HardwareDomainGuest.Enumeration enumeration, HardwareDomainGuest dom0) {
        this.platform = platform;
        this.xen = xen;
        this.enumeration = enumeration;
        this.dom0 = dom0;
    }

    /**
     * Boots with a fresh {@link Trace#standard()} trace: every category on except the per-access
     * TRAP and CONFIG ones, so the config-access path allocates nothing (pass {@code new Trace()}
     * to {@link #boot(Platform, Profile, Trace)} to record every access too).
     */
    public static XenHost boot(Platform platform, Profile profile) {
        return boot(platform, profile, Trace.standard());
    }

    /**
     * Boots Xen on the platform's hardware with the platform's command line, then runs the
     * reference dom0 enumeration.
     *
     * @throws org.xenpci.core.BootException naming the DT node (and property) when the host
     *     device tree stops the boot: no RAM bank (Xen's {@code setup_mm} panics "No memory
     *     bank"), a node Xen or dom0's enumeration cannot use; {@code PciBootException} is the
     *     Arm PCI layer's kind. Nothing stays booted.
     */
    public static XenHost boot(Platform platform, Profile profile, Trace trace) {
        return boot(platform, profile, trace, java.util.Map.of());
    }

    /**
     * {@link #boot(Platform, Profile, Trace)} with dom0 enabling SR-IOV on the PFs in
     * {@code sriovNumVfs} (that many VFs each) and reporting the VFs to Xen; see
     * {@link HardwareDomainGuest#HardwareDomainGuest(org.xenpci.core.Domain, java.util.Map)}.
     */
    public static XenHost boot(Platform platform, Profile profile, Trace trace,
            java.util.Map<org.xenpci.core.pci.Sbdf, Integer> sriovNumVfs) {
        Objects.requireNonNull(platform, "platform");
        Xen xen = Xen.builder()
                .hardware(platform.hardware())
                .cmdline(platform.cmdline())
                .profile(profile)
                .trace(trace)
                .hardwareDomainVcpus(2)
                .extension(new ArmSmmu()) // before ArmPci: Xen sets the IOMMU up before its initcalls
                .extension(new ArmPci())
                .extension(new GicV3Its())
                .extension(new ArmVpci())
                .build();
        // The toolstack asks this for each guest's vPCI node: a guest Xen gave a vITS gets the
        // ITS node and msi-map (full profile); everyone else upstream's node.
        xen.publish(VpciNodeExtrasSource.class, guest -> xen.service(ItsLayer.class)
                .filter(l -> !l.vits(guest).isEmpty())
                .map(l -> VpciNodeExtras.guestVits())
                .orElse(VpciNodeExtras.NONE));
        HardwareDomainGuest dom0 = new HardwareDomainGuest(xen.hardwareDomain(), sriovNumVfs);
        HardwareDomainGuest.Enumeration e = dom0.enumerate();
        return new XenHost(platform, xen, e, dom0);
    }

    public Platform platform() {
        return platform;
    }

    public Xen xen() {
        return xen;
    }

    /** Xen's Arm PCI layer (host bridges, pdevs, pci_conf). */
    public ArmPciLayer pci() {
        return xen.service(ArmPciLayer.class).orElseThrow();
    }

    /** The vPCI service. */
    public Vpci vpci() {
        return xen.service(Vpci.class).orElseThrow();
    }

    /** What dom0's enumeration found and how Xen answered each PHYSDEVOP_pci_device_add. */
    public HardwareDomainGuest.Enumeration enumeration() {
        return enumeration;
    }

    /**
     * The dom0 that enumerated at boot, for what its drivers do later (for example
     * {@link HardwareDomainGuest#setUpMsix}); not thread-safe, as dom0's single probe thread.
     */
    public HardwareDomainGuest hardwareDomainGuest() {
        return dom0;
    }
}
