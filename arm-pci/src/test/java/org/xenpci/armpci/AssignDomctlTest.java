package org.xenpci.armpci;

import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.smmu.ArmSmmu;
import org.xenpci.armpci.smmu.SmmuV3Driver;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.GuestStruct;
import org.xenpci.core.Hardware;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.XsmHook;
import org.xenpci.core.XsmPolicy;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;

@DisplayName("XEN_DOMCTL_assign/test_assign/deassign_device and quarantine (xen/drivers/passthrough/pci.c: iommu_do_pci_domctl, xen/common/domctl.c)")
class AssignDomctlTest {
    private static final long SCRATCH = 0x4000_1000L;
    private static final int DOMID_IO = Domain.DOMID_IO;
    private static final int DOMID_INVALID = Domain.DOMID_INVALID;
    static final Sbdf NIC = Sbdf.of(0, 2, 0);
    static final Sbdf UNKNOWN = Sbdf.of(0, 9, 0);

    private Xen xen;
    private Vcpu dom0;
    private final Listener vpci = new Listener();
    private final List<String> xsmCalls = new ArrayList<>();
    private XsmHook denied;

    /** Records vPCI attach/detach with the owner at the time of the call; can fail attach for one domid. */
    static final class Listener implements PdevListener {
        final List<String> calls = new ArrayList<>();
        int failAssignFor = -2;
        int failRc;

        @Override
        public int vpciAssign(Pdev pdev) {
            int owner = pdev.owner().domid();
            calls.add("assign d" + owner);
            return owner == failAssignFor ? failRc : 0;
        }

        @Override
        public void vpciDeassign(Pdev pdev) {
            calls.add("deassign d" + pdev.owner().domid());
        }
    }

    private static PhysicalAddressSpace hardware() {
        FakeEcam ecam = new FakeEcam();
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        Trees.attachSmmuV3(space, Trees.SMMU_PHANDLE);
        return space;
    }

    private void boot(Fdt fdt, String cmdline, boolean quarantine, XenExtension... after) {
        XsmPolicy recording = (hook, caller, target, subject) -> {
            if (hook == XsmHook.ASSIGN_DEVICE || hook == XsmHook.DEASSIGN_DEVICE) {
                xsmCalls.add(hook + " " + Long.toHexString(subject));
            }
            return hook != denied && XsmPolicy.DUMMY.permits(hook, caller, target, subject);
        };
        Xen.Builder b = Xen.builder().hardware(new Hardware(fdt, hardware())).cmdline(cmdline).profile(Profile.UPSTREAM)
                .xsm(recording).extension(new ArmSmmu()).extension(new ArmPci().iommuQuarantine(quarantine));
        for (XenExtension e : after) {
            b.extension(e);
        }
        xen = b.build();
        xen.trace().enable(TraceCategory.DEVICE, true);
        dom0 = xen.hardwareDomain().vcpu(0);
        if (xen.bootOptions().pciPassthrough() || xen.iommuEnabled()) {
            assertThat(PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, NIC, 0).rc()).isEqualTo(0);
        }
        layer().addListener(vpci);
    }

    private void boot() {
        boot(Trees.qemuVirtSmmu(), "", true);
    }

    private ArmPciLayer layer() {
        return xen.service(ArmPciLayer.class).orElseThrow();
    }

    private Pdev nic() {
        return layer().findPdev(NIC).orElseThrow();
    }

    private Domain guest(boolean iommu) {
        Domain g = xen.createDomain(new DomainConfig("g", 1, false, false, iommu));
        g.p2m().addRam(0x4000_0000L, new SparseMemory(0x10_0000));
        return g;
    }

    private HypercallResult assign(int domid, Sbdf sbdf, int flags) {
        return DomctlCalls.assignDevice(dom0, SCRATCH, domid, sbdf, flags);
    }

    private HypercallResult test(int domid, Sbdf sbdf) {
        return DomctlCalls.testAssignDevice(dom0, SCRATCH, domid, sbdf);
    }

    private HypercallResult deassign(int domid, Sbdf sbdf) {
        return DomctlCalls.deassignDevice(dom0, SCRATCH, domid, sbdf);
    }

    private HypercallResult raw(int cmd, int domid, int dev, int flags, Sbdf sbdf) {
        return DomctlCalls.issue(dom0, SCRATCH, DomctlCalls.assignDeviceStruct(cmd, domid, dev, flags, sbdf.sbdf()));
    }

    private SmmuV3Driver smmu() {
        return xen.service(SmmuV3Driver.class).orElseThrow();
    }

    @Nested
    @DisplayName("error paths, in Xen's check order")
    class Errors {
        @Test
        @DisplayName("1. without an IOMMU every op gives -EOPNOTSUPP, also the DOMID_INVALID test")
        void noIommu() {
            boot(Trees.qemuVirt(), "pci-passthrough=on", true);
            Domain g = guest(true);

            assertThat(assign(g.domid(), NIC, 0).errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(test(g.domid(), NIC).errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(deassign(g.domid(), NIC).errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(test(DOMID_INVALID, NIC).errno()).isEqualTo(Errno.EOPNOTSUPP);
        }

        @Test
        @DisplayName("1. a target created without CDF_iommu gives -EOPNOTSUPP before any argument check")
        void targetWithoutIommu() {
            boot();
            Domain g = guest(false);

            assertThat(raw(Domctl.ASSIGN_DEVICE, g.domid(), Domctl.DEV_DT, 0xff, UNKNOWN).errno()).isEqualTo(Errno.EOPNOTSUPP);
        }

        @Test
        @DisplayName("2. self-(de)assignment gives -EINVAL, before the device type is looked at")
        void self() {
            boot();

            assertThat(raw(Domctl.ASSIGN_DEVICE, 0, Domctl.DEV_DT, 0, NIC).errno()).isEqualTo(Errno.EINVAL);
            assertThat(test(0, NIC).errno()).isEqualTo(Errno.EINVAL);
            assertThat(deassign(0, NIC).errno()).isEqualTo(Errno.EINVAL);
        }

        @Test
        @DisplayName("3. a device type other than PCI gives -ENODEV, before the flags are looked at")
        void notPci() {
            boot();
            Domain g = guest(true);

            assertThat(raw(Domctl.ASSIGN_DEVICE, g.domid(), Domctl.DEV_DT, 0xf0, NIC).errno()).isEqualTo(Errno.ENODEV);
            assertThat(raw(Domctl.TEST_ASSIGN_DEVICE, g.domid(), 7, 1, NIC).errno()).isEqualTo(Errno.ENODEV);
            assertThat(raw(Domctl.DEASSIGN_DEVICE, g.domid(), Domctl.DEV_DT, 1, NIC).errno()).isEqualTo(Errno.ENODEV);
        }

        @Test
        @DisplayName("4. assign flags other than RDM_RELAXED, test flags and deassign flags give -EINVAL, before XSM")
        void flags() {
            boot();
            Domain g = guest(true);

            assertThat(assign(g.domid(), NIC, 2).errno()).isEqualTo(Errno.EINVAL);
            assertThat(raw(Domctl.TEST_ASSIGN_DEVICE, g.domid(), Domctl.DEV_PCI, Domctl.DEV_RDM_RELAXED, NIC).errno())
                    .isEqualTo(Errno.EINVAL);
            assertThat(raw(Domctl.DEASSIGN_DEVICE, g.domid(), Domctl.DEV_PCI, Domctl.DEV_RDM_RELAXED, NIC).errno())
                    .isEqualTo(Errno.EINVAL);
            assertThat(xsmCalls).isEmpty();
        }

        @Test
        @DisplayName("4. assigning to a dying domain gives -EINVAL")
        void dying() {
            List<HypercallResult> during = new ArrayList<>();
            XenExtension probe = new XenExtension() {
                @Override
                public void domainDestroyed(Domain d) {
                    during.add(assign(d.domid(), NIC, 0));
                }
            };
            boot(Trees.qemuVirtSmmu(), "", true, probe);
            Domain g = guest(true);

            xen.destroyDomain(g);

            assertThat(during).extracting(HypercallResult::errno).containsExactly(Errno.EINVAL);
        }

        @Test
        @DisplayName("5. XSM assign_device / deassign_device run after the argument checks with the machine SBDF; a denial is -EPERM")
        void xsm() {
            boot();
            Domain g = guest(true);

            assertThat(test(g.domid(), NIC).rc()).isEqualTo(0);
            assertThat(deassign(g.domid(), NIC).errno()).isEqualTo(Errno.ENODEV);
            assertThat(xsmCalls).containsExactly("ASSIGN_DEVICE 10", "DEASSIGN_DEVICE 10");
            denied = XsmHook.ASSIGN_DEVICE;
            assertThat(assign(g.domid(), NIC, 0).errno()).isEqualTo(Errno.EPERM);
            assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
        }

        @Test
        @DisplayName("6. an unknown device: assign -ENODEV, test_assign -EINVAL")
        void unknownDevice() {
            boot();
            Domain g = guest(true);

            assertThat(assign(g.domid(), UNKNOWN, 0).errno()).isEqualTo(Errno.ENODEV);
            assertThat(test(g.domid(), UNKNOWN).errno()).isEqualTo(Errno.EINVAL);
        }

        @Test
        @DisplayName("7. a device owned by a domU: assign -EBUSY (even to the same domU), test_assign -EINVAL")
        void busy() {
            boot();
            Domain g = guest(true);
            Domain h = guest(true);
            assertThat(assign(g.domid(), NIC, 0).rc()).isEqualTo(0);

            assertThat(assign(h.domid(), NIC, 0).errno()).isEqualTo(Errno.EBUSY);
            assertThat(assign(g.domid(), NIC, 0).errno()).isEqualTo(Errno.EBUSY);
            assertThat(test(h.domid(), NIC).errno()).isEqualTo(Errno.EINVAL);
            assertThat(test(DOMID_INVALID, NIC).errno()).isEqualTo(Errno.EINVAL);
        }

        @Test
        @DisplayName("8. a broken device cannot go to a domU (-EBADF) but can still be quarantined")
        void broken() {
            boot();
            Domain g = guest(true);
            xen.pcidevsLock().lock();
            try {
                nic().markBroken();
            } finally {
                xen.pcidevsLock().unlock();
            }

            assertThat(assign(g.domid(), NIC, 0).errno()).isEqualTo(Errno.EBADF);
            assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
            assertThat(assign(DOMID_IO, NIC, Domctl.DEV_RDM_RELAXED).rc()).isEqualTo(0);
        }

        @Test
        @DisplayName("9. DOMID_INVALID: assign and deassign -ESRCH; test_assign asks \"assigned to any domU?\"")
        void domidInvalid() {
            boot();

            assertThat(assign(DOMID_INVALID, NIC, 0).errno()).isEqualTo(Errno.ESRCH);
            assertThat(deassign(DOMID_INVALID, NIC).errno()).isEqualTo(Errno.ESRCH);
            assertThat(test(DOMID_INVALID, NIC).rc()).isEqualTo(0);
            assertThat(test(DOMID_INVALID, UNKNOWN).errno()).isEqualTo(Errno.EINVAL);
        }

        @Test
        @DisplayName("10. deassigning a device the domain does not own gives -ENODEV")
        void deassignNotOwned() {
            boot();
            Domain g = guest(true);

            assertThat(deassign(g.domid(), NIC).errno()).isEqualTo(Errno.ENODEV);
            assertThat(deassign(g.domid(), UNKNOWN).errno()).isEqualTo(Errno.ENODEV);
            assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
        }

        @Test
        @DisplayName("an unknown domid gives -ESRCH from the envelope")
        void unknownDomid() {
            boot();

            assertThat(assign(42, NIC, 0).errno()).isEqualTo(Errno.ESRCH);
        }

        @Test
        @DisplayName("the three domctls are registered even with the PCI gate closed")
        void gateClosed() {
            boot(Trees.qemuVirt(), "", true);

            assertThat(test(DOMID_INVALID, NIC).errno()).isEqualTo(Errno.EOPNOTSUPP);
        }
    }

    @Test
    @DisplayName("quarantine: hwdom -> dom_io (RDM_RELAXED, as pci-assignable-add) -> domU -> deassign -> dom_io -> de-quarantine -> hwdom")
    void quarantineCycle() {
        boot();
        Domain g = guest(true);

        assertThat(assign(DOMID_IO, NIC, Domctl.DEV_RDM_RELAXED)).isEqualTo(HypercallResult.ok());
        assertThat(nic().owner()).isSameAs(xen.domIo());
        assertThat(nic().quarantine()).isTrue();
        assertThat(smmu().owner(0x10)).isEmpty();
        assertThat(layer().pdevs().ownedBy(xen.domIo())).containsExactly(nic());

        assertThat(assign(g.domid(), NIC, 0)).isEqualTo(HypercallResult.ok());
        assertThat(nic().owner()).isSameAs(g);
        assertThat(nic().quarantine()).isTrue();
        assertThat(smmu().owner(0x10)).containsSame(g);
        assertThat(layer().pdevs().ownedBy(g)).containsExactly(nic());
        assertThat(test(DOMID_INVALID, NIC).errno()).isEqualTo(Errno.EINVAL);

        assertThat(deassign(g.domid(), NIC)).isEqualTo(HypercallResult.ok());
        assertThat(nic().owner()).isSameAs(xen.domIo());
        assertThat(smmu().owner(0x10)).isEmpty();

        assertThat(deassign(DOMID_IO, NIC)).isEqualTo(HypercallResult.ok());
        assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
        assertThat(nic().quarantine()).isFalse();
        assertThat(smmu().owner(0x10)).containsSame(xen.hardwareDomain());
        assertThat(layer().pdevs().ownedBy(xen.domIo())).isEmpty();

        assertThat(vpci.calls).containsExactly("deassign d0", "assign d" + DOMID_IO, "deassign d" + DOMID_IO,
                "assign d1", "deassign d1", "assign d" + DOMID_IO, "deassign d" + DOMID_IO, "assign d0");
        assertThat(xen.trace().events(ArmPciEvents.PdevAssigned.class)).containsExactly(
                new ArmPciEvents.PdevAssigned(DOMID_IO, NIC, 0), new ArmPciEvents.PdevAssigned(1, NIC, DOMID_IO),
                new ArmPciEvents.PdevAssigned(DOMID_IO, NIC, 1), new ArmPciEvents.PdevAssigned(0, NIC, DOMID_IO));
    }

    @Test
    @DisplayName("the global quarantine mode sends a never-quarantined device to dom_io on deassign; with it off, back to hwdom")
    void globalQuarantineMode() {
        boot();
        Domain g = guest(true);
        assign(g.domid(), NIC, 0);
        assertThat(deassign(g.domid(), NIC).rc()).isEqualTo(0);
        assertThat(nic().owner()).isSameAs(xen.domIo());

        boot(Trees.qemuVirtSmmu(), "", false);
        Domain h = guest(true);
        assign(h.domid(), NIC, 0);
        assertThat(deassign(h.domid(), NIC).rc()).isEqualTo(0);
        assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
        assertThat(smmu().owner(0x10)).containsSame(xen.hardwareDomain());
    }

    @Test
    @DisplayName("destroying a domain returns its devices to quarantine")
    void destroyReleases() {
        boot();
        Domain g = guest(true);
        assign(g.domid(), NIC, 0);

        xen.destroyDomain(g);

        assertThat(nic().owner()).isSameAs(xen.domIo());
        assertThat(smmu().owner(0x10)).isEmpty();
        assertThat(xen.trace().events(ArmPciEvents.PdevReleaseFailed.class)).isEmpty();
    }

    @Test
    @DisplayName("a device whose release fails stays with the dying domain and the failure is traced")
    void destroyFailureTraced() {
        boot();
        Domain g = guest(true);
        assign(g.domid(), NIC, 0);
        vpci.failAssignFor = DOMID_IO;
        vpci.failRc = Errno.ENOMEM.rc();

        xen.destroyDomain(g);

        assertThat(nic().owner()).isSameAs(g);
        assertThat(smmu().owner(0x10)).containsSame(g);
        assertThat(xen.trace().events(ArmPciEvents.PdevReleaseFailed.class))
                .containsExactly(new ArmPciEvents.PdevReleaseFailed(1, NIC, Errno.ENOMEM.rc()));
    }

    @Test
    @DisplayName("a vPCI failure for the new owner rolls everything back: owner, IOMMU context, old vPCI state")
    void vpciFailureRollsBack() {
        boot();
        Domain g = guest(true);
        vpci.failAssignFor = g.domid();
        vpci.failRc = Errno.ENOSPC.rc();

        assertThat(assign(g.domid(), NIC, 0).errno()).isEqualTo(Errno.ENOSPC);

        assertThat(nic().owner()).isSameAs(xen.hardwareDomain());
        assertThat(layer().pdevs().ownedBy(g)).isEmpty();
        assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).containsExactly(nic());
        assertThat(smmu().owner(0x10)).containsSame(xen.hardwareDomain());
        assertThat(nic().quarantine()).isFalse();
        assertThat(vpci.calls).containsExactly("deassign d0", "assign d1", "assign d0");
    }

    @Test
    @DisplayName("the caller's struct xen_domctl is 144 bytes with the union at offset 16")
    void layout() {
        GuestStruct s = DomctlCalls.assignDeviceStruct(Domctl.ASSIGN_DEVICE, DOMID_IO, Domctl.DEV_PCI,
                Domctl.DEV_RDM_RELAXED, new Sbdf(1, 2, 3, 4).sbdf());

        assertThat(s.size()).isEqualTo(144);
        assertThat(s.u32(0)).isEqualTo(37);
        assertThat(s.u32(4)).isEqualTo(0x18);
        assertThat(s.u16(8)).isEqualTo(0x7ff1);
        assertThat(s.u32(16)).isEqualTo(0);
        assertThat(s.u32(20)).isEqualTo(1);
        assertThat(s.u32(24)).isEqualTo(0x0001021cL);
    }
}
