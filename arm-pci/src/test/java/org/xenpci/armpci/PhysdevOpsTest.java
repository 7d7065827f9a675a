package org.xenpci.armpci;

import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.GuestStruct;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.pci.Sbdf;

@DisplayName("PHYSDEVOP pci_device_add / remove / reset (xen/drivers/pci/physdev.c, xen/drivers/passthrough/pci.c)")
class PhysdevOpsTest {
    /** Scratch GPA inside dom0's RAM (0x4000_0000 + 256 MiB, direct-mapped). */
    private static final long SCRATCH = 0x4000_1000L;
    private static final long UNMAPPED = 0x7000_0000L;

    static final Sbdf HOST = Sbdf.of(0, 0, 0);
    static final Sbdf ROOT_PORT = Sbdf.of(0, 1, 0);
    static final Sbdf NIC = Sbdf.of(0, 2, 0);
    static final Sbdf LEGACY = Sbdf.of(0, 3, 0);
    static final Sbdf PCI_BRIDGE = Sbdf.of(0, 4, 0);
    static final Sbdf PCIE_TO_PCI = Sbdf.of(0, 5, 0);
    static final Sbdf VF = Sbdf.of(0, 2, 1);

    private Xen xen;
    private Vcpu dom0;

    private static PhysicalAddressSpace hardware() {
        FakeEcam ecam = new FakeEcam();
        ecam.endpoint(0, 0, 0, 0x1b36, 0x0008, 0x0600, -1);
        ecam.endpoint(0, 1, 0, 0x1b36, 0x000c, 0x0604, 0x4);
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        ecam.endpoint(0, 2, 1, 0x8086, 0x10ed, 0x0200, 0x0);
        ecam.endpoint(0, 3, 0, 0x10ec, 0x8139, 0x0200, -1);
        ecam.endpoint(0, 4, 0, 0x104c, 0xac23, 0x0604, -1);
        ecam.endpoint(0, 5, 0, 0x12d8, 0xe111, 0x0604, 0x7);
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        return space;
    }

    private void boot(String cmdline, XenExtension... before) {
        xen = Boot.xen(Trees.qemuVirt(), hardware(), cmdline, Profile.UPSTREAM, before);
        dom0 = xen.hardwareDomain().vcpu(0);
    }

    private ArmPciLayer layer() {
        return Boot.layer(xen);
    }

    private HypercallResult add(Sbdf sbdf) {
        return PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, sbdf, 0);
    }

    private HypercallResult raw(Vcpu v, int cmd, long gpa) {
        return xen.hypercall(v, Xen.HYPERVISOR_PHYSDEV_OP, cmd, gpa);
    }

    private Vcpu unprivilegedGuest() {
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        g.p2m().addRam(0x4000_0000L, new SparseMemory(0x10_0000));
        return g.vcpu(0);
    }

    @Nested
    @DisplayName("with pci-passthrough on")
    class GateOpen {
        @BeforeEach
        void setUp() {
            boot("pci-passthrough=on");
        }

        @Test
        @DisplayName("adding an endpoint gives it to the hardware domain, classified as a PCIe endpoint")
        void addEndpoint() {
            assertThat(add(NIC)).isEqualTo(HypercallResult.ok());

            Pdev p = layer().findPdev(NIC).orElseThrow();
            assertThat(p.owner()).isSameAs(xen.hardwareDomain());
            assertThat(p.type()).isEqualTo(PdevType.PCIE_ENDPOINT);
            assertThat(p.isExtfn()).isFalse();
            assertThat(p.isVirtfn()).isFalse();
            assertThat(xen.trace().events(ArmPciEvents.PdevAdded.class))
                    .containsExactly(new ArmPciEvents.PdevAdded(0, NIC, PdevType.PCIE_ENDPOINT));
        }

        @Test
        @DisplayName("each function is classified from its class word and PCIe capability")
        void classification() {
            for (Sbdf s : List.of(HOST, ROOT_PORT, LEGACY, PCI_BRIDGE, PCIE_TO_PCI, Sbdf.of(0, 6, 0))) {
                assertThat(add(s).rc()).isEqualTo(0);
            }

            assertThat(layer().findPdev(HOST).orElseThrow().type()).isEqualTo(PdevType.PCI_HOST_BRIDGE);
            assertThat(layer().findPdev(ROOT_PORT).orElseThrow().type()).isEqualTo(PdevType.PCIE_BRIDGE);
            assertThat(layer().findPdev(LEGACY).orElseThrow().type()).isEqualTo(PdevType.PCI);
            assertThat(layer().findPdev(PCI_BRIDGE).orElseThrow().type()).isEqualTo(PdevType.LEGACY_PCI_BRIDGE);
            assertThat(layer().findPdev(PCIE_TO_PCI).orElseThrow().type()).isEqualTo(PdevType.PCIE2PCI_BRIDGE);
            assertThat(layer().findPdev(Sbdf.of(0, 6, 0)).orElseThrow().type()).isEqualTo(PdevType.PCI_UNKNOWN);
        }

        @Test
        @DisplayName("pdevs go to the head of the segment list and of the hardware domain's list")
        void headInsertion() {
            add(NIC);
            add(ROOT_PORT);

            assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).extracting(Pdev::sbdf).containsExactly(ROOT_PORT, NIC);
            assertThat(layer().pdevs().segmentDevices(0)).extracting(Pdev::sbdf).containsExactly(ROOT_PORT, NIC);
        }

        @Test
        @DisplayName("re-adding a known device succeeds and keeps the same pdev")
        void reAdd() {
            add(NIC);
            Pdev first = layer().findPdev(NIC).orElseThrow();

            assertThat(add(NIC).rc()).isEqualTo(0);
            assertThat(layer().findPdev(NIC).orElseThrow()).isSameAs(first);
            assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).hasSize(1);
        }

        @Test
        @DisplayName("a bad argument GPA gives -EFAULT")
        void efault() {
            assertThat(raw(dom0, Physdev.PCI_DEVICE_ADD, UNMAPPED).errno()).isEqualTo(Errno.EFAULT);
            assertThat(raw(dom0, Physdev.PCI_DEVICE_REMOVE, UNMAPPED).errno()).isEqualTo(Errno.EFAULT);
            assertThat(raw(dom0, Physdev.PCI_DEVICE_RESET, UNMAPPED).errno()).isEqualTo(Errno.EFAULT);
        }

        @Test
        @DisplayName("an unprivileged domain gets -EPERM from XSM for add, remove and reset")
        void eperm() {
            add(NIC);
            Vcpu g = unprivilegedGuest();

            assertThat(PhysdevCalls.pciDeviceAdd(g, 0x4000_0000L, NIC, 0).errno()).isEqualTo(Errno.EPERM);
            assertThat(PhysdevCalls.pciDeviceRemove(g, 0x4000_0000L, NIC).errno()).isEqualTo(Errno.EPERM);
            assertThat(PhysdevCalls.pciDeviceReset(g, 0x4000_0000L, NIC, Physdev.PCI_DEVICE_RESET_FLR).errno())
                    .isEqualTo(Errno.EPERM);
        }

        @Test
        @DisplayName("reset flags outside the mask give -EINVAL, checked before XSM")
        void resetFlagsEinval() {
            add(NIC);
            Vcpu g = unprivilegedGuest();

            assertThat(PhysdevCalls.pciDeviceReset(dom0, SCRATCH, NIC, 4).errno()).isEqualTo(Errno.EINVAL);
            assertThat(PhysdevCalls.pciDeviceReset(g, 0x4000_0000L, NIC, 0x8000_0003).errno()).isEqualTo(Errno.EINVAL);
        }

        @Test
        @DisplayName("a VF whose PF is unknown gives -ENODEV and is freed")
        void vfWithoutPf() {
            HypercallResult r = PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, VF, Physdev.XEN_PCI_DEV_VIRTFN, 0, NIC.devfn());

            assertThat(r.errno()).isEqualTo(Errno.ENODEV);
            assertThat(layer().findPdev(VF)).isEmpty();
            assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).isEmpty();
        }

        @Test
        @DisplayName("a VF is linked to its PF and inherits the PF's is_extfn")
        void vfLinkedToPf() {
            PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, NIC, Physdev.XEN_PCI_DEV_EXTFN);

            HypercallResult r = PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, VF, Physdev.XEN_PCI_DEV_VIRTFN, 0, NIC.devfn());

            assertThat(r.rc()).isEqualTo(0);
            Pdev vf = layer().findPdev(VF).orElseThrow();
            Pdev pf = layer().findPdev(NIC).orElseThrow();
            assertThat(vf.isVirtfn()).isTrue();
            assertThat(vf.isExtfn()).isTrue();
            assertThat(vf.physfn()).isSameAs(pf);
            assertThat(pf.virtfns()).containsExactly(vf);
        }

        @Test
        @DisplayName("removing a PF that still has VFs marks both broken and gives -EBUSY")
        void removePfWithVfs() {
            add(NIC);
            PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, VF, Physdev.XEN_PCI_DEV_VIRTFN, 0, NIC.devfn());

            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC).errno()).isEqualTo(Errno.EBUSY);
            assertThat(layer().findPdev(NIC).orElseThrow().broken()).isTrue();
            assertThat(layer().findPdev(VF).orElseThrow().broken()).isTrue();
            // Removing the VF first then the PF works.
            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, VF).rc()).isEqualTo(0);
            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC).rc()).isEqualTo(0);
            assertThat(layer().pdevs().all()).isEmpty();
        }

        @Test
        @DisplayName("remove frees the pdev and unlinks it from its owner; unknown devices and segments give -ENODEV")
        void remove() {
            add(NIC);

            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC)).isEqualTo(HypercallResult.ok());
            assertThat(layer().findPdev(NIC)).isEmpty();
            assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).isEmpty();
            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC).errno()).isEqualTo(Errno.ENODEV);
            assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, new Sbdf(7, 0, 2, 0)).errno()).isEqualTo(Errno.ENODEV);
        }

        @Test
        @DisplayName("reset of a known device returns 0; of an unknown one -ENODEV")
        void reset() {
            add(NIC);

            assertThat(PhysdevCalls.pciDeviceReset(dom0, SCRATCH, NIC, Physdev.PCI_DEVICE_RESET_FLR).rc()).isEqualTo(0);
            assertThat(PhysdevCalls.pciDeviceReset(dom0, SCRATCH, ROOT_PORT, 0).errno()).isEqualTo(Errno.ENODEV);
        }

        @Test
        @DisplayName("ops other than 25, 26 and 32 give -ENOSYS, including manage_pci_add (15)")
        void otherOpsEnosys() {
            GuestStruct manage = GuestStruct.ofSize(2).u8(0, 0).u8(1, NIC.devfn());
            dom0.domain().p2m().copyToGuest(SCRATCH, manage.bytes());

            assertThat(raw(dom0, Physdev.MANAGE_PCI_ADD, SCRATCH).errno()).isEqualTo(Errno.ENOSYS);
            assertThat(raw(dom0, Physdev.MANAGE_PCI_ADD_EXT, SCRATCH).errno()).isEqualTo(Errno.ENOSYS);
            assertThat(raw(dom0, Physdev.PREPARE_MSIX, SCRATCH).errno()).isEqualTo(Errno.ENOSYS);
            assertThat(raw(dom0, 99, SCRATCH).errno()).isEqualTo(Errno.ENOSYS);
        }

        @Test
        @DisplayName("the PXM flag and unknown flag bits are ignored")
        void flagsIgnored() {
            assertThat(PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, NIC, Physdev.XEN_PCI_DEV_PXM | 0xf0).rc()).isEqualTo(0);
            assertThat(layer().findPdev(NIC).orElseThrow().isExtfn()).isFalse();
        }
    }

    @Test
    @DisplayName("with the gate closed every op gives -EOPNOTSUPP, before the argument is even copied")
    void gateClosed() {
        boot("");

        assertThat(raw(dom0, Physdev.PCI_DEVICE_ADD, UNMAPPED).errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(raw(dom0, Physdev.PCI_DEVICE_REMOVE, UNMAPPED).errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(raw(dom0, Physdev.PCI_DEVICE_RESET, UNMAPPED).errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(raw(dom0, Physdev.MANAGE_PCI_ADD, UNMAPPED).errno()).isEqualTo(Errno.ENOSYS);
    }

    @Test
    @DisplayName("with only the IOMMU enabled the ops run (arch_pci_device_physdevop)")
    void iommuOpensOps() {
        boot("", Boot.iommuOn());

        assertThat(add(NIC).rc()).isEqualTo(0);
    }

    /** Records listener calls. */
    static final class Recorder implements PdevListener {
        final List<String> calls = new ArrayList<>();
        int assignRc;

        @Override
        public int vpciAssign(Pdev pdev) {
            calls.add("assign " + pdev.sbdf());
            return assignRc;
        }

        @Override
        public void vpciDeassign(Pdev pdev) {
            calls.add("deassign " + pdev.sbdf());
        }

        @Override
        public void pdevRemoved(Pdev pdev) {
            calls.add("removed " + pdev.sbdf());
        }
    }

    @Test
    @DisplayName("listeners see assign on add, deassign+assign on reset, deassign+removed on remove")
    void listenerCalls() {
        boot("pci-passthrough=on");
        Recorder r = new Recorder();
        layer().addListener(r);

        add(NIC);
        PhysdevCalls.pciDeviceReset(dom0, SCRATCH, NIC, Physdev.PCI_DEVICE_RESET_WARM);
        PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC);

        assertThat(r.calls).containsExactly("assign 0000:00:02.0", "deassign 0000:00:02.0", "assign 0000:00:02.0",
                "deassign 0000:00:02.0", "removed 0000:00:02.0");
    }

    @Test
    @DisplayName("a failing vPCI assign leaves the pdev ownerless: reset then gives -ENODEV and remove -EINVAL (freed)")
    void vpciAssignFailure() {
        boot("pci-passthrough=on");
        Recorder r = new Recorder();
        r.assignRc = Errno.ENOSPC.rc();
        layer().addListener(r);

        assertThat(add(NIC).errno()).isEqualTo(Errno.ENOSPC);
        Pdev p = layer().findPdev(NIC).orElseThrow();
        assertThat(p.owner()).isNull();
        assertThat(layer().pdevs().ownedBy(xen.hardwareDomain())).isEmpty();
        assertThat(PhysdevCalls.pciDeviceReset(dom0, SCRATCH, NIC, 0).errno()).isEqualTo(Errno.ENODEV);
        assertThat(PhysdevCalls.pciDeviceRemove(dom0, SCRATCH, NIC).errno()).isEqualTo(Errno.EINVAL);
        assertThat(layer().findPdev(NIC)).isEmpty();
    }

    @Test
    @DisplayName("a failing IOMMU add_device undoes vPCI and leaves the pdev ownerless in Xen's list")
    void iommuAddFailure() {
        boot("pci-passthrough=on", Boot.iommuOn());
        Recorder r = new Recorder();
        layer().addListener(r);
        layer().iommu(new PciIommu() {
            @Override
            public int addDevice(Pdev pdev) {
                return Errno.ENODEV.rc();
            }

            @Override
            public int removeDevice(Pdev pdev) {
                return 0;
            }
        });

        assertThat(add(NIC).errno()).isEqualTo(Errno.ENODEV);
        assertThat(layer().findPdev(NIC).orElseThrow().owner()).isNull();
        assertThat(r.calls).containsExactly("assign 0000:00:02.0", "deassign 0000:00:02.0");
    }
}
