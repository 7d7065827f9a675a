package org.xenpci.libxl.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.xenpci.core.pci.PciRegs.*;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.smmu.SmmuV3Driver;
import org.xenpci.core.Domain;
import org.xenpci.core.MmioHandler;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.scenario.TestGuests;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * The auditor sees each kind of breach: every test plants one (through public APIs that bypass
 * Xen's rules, as a bug would) and expects exactly that invariant to be reported, naming the
 * domain, the function and the frame or vector.
 */
@DisplayName("The isolation auditor reports each kind of breach it is planted with")
class IsolationAuditorTest {
    static final Sbdf NVME = Sbdf.parse("0000:00:02.0");
    static final Sbdf NIC = Sbdf.parse("0000:00:01.0");

    final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
    final Libxl libxl = new Libxl(host);
    final IsolationAuditor auditor = new IsolationAuditor(host);
    final PciFunction nvme = host.platform().function(NVME).orElseThrow();
    final PciFunction nic = host.platform().function(NIC).orElseThrow();

    Domain guest(String name, String... pci) {
        return TestGuests.createProbed(libxl, name, 2, pci);
    }

    @Test
    @DisplayName("a booted host with a guest using its devices is clean")
    void cleanHost() {
        guest("g", "0000:00:02.0", "0000:00:01.0");
        AuditReport r = auditor.check();
        assertThat(r.violations()).isEmpty();
        assertThat(r.upstreamFindings()).isEmpty();
    }

    @Test
    @DisplayName("MMIO_MAPPING: a guest page mapping another domain's BAR")
    void foreignBarMapped() {
        Domain g = guest("g", "0000:00:02.0");
        long nicBar = nic.barAddress(0); // dom0 owns the e1000e
        assertThat(g.p2m().mapMmio(0x30000000L >>> 12, 1, nicBar >>> 12)).isZero();
        assertThat(auditor.check().violations()).singleElement().satisfies(v -> {
            assertThat(v.invariant()).isEqualTo(Invariant.MMIO_MAPPING);
            assertThat(v.domid()).isEqualTo(g.domid());
            assertThat(v.device()).isEqualTo(NIC.toString());
            assertThat(v.detail()).contains("0x30000000").contains("owned by d0");
        });
    }

    @Test
    @DisplayName("MMIO_MAPPING: a destroyed domain that still maps device memory")
    void deadDomainStillMaps() {
        Domain g = guest("g", "0000:00:02.0");
        auditor.check(); // remember the domain
        libxl.destroyDomain(g.domid());
        assertThat(auditor.check().violations()).isEmpty();
        g.p2m().mapMmio(0x30000000L >>> 12, 1, 0x9000000L >>> 12); // the UART, nobody's BAR
        assertThat(auditor.check().violations()).extracting(Violation::detail)
                .anyMatch(d -> d.startsWith("destroyed domain still maps"));
    }

    @Test
    @DisplayName("QUARANTINE: a quarantined function with bus mastering and MSI-X on")
    void quarantinedButArmed() {
        libxl.pciAssignableAdd(NVME, java.util.Optional.empty(), false);
        assertThat(auditor.check().violations()).isEmpty();
        int msix = nvme.capability(PCI_CAP_ID_MSIX, false).orElseThrow().offset();
        nvme.config().write(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
        nvme.config().write(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
        assertThat(auditor.check().violations()).extracting(Violation::invariant, Violation::detail)
                .contains(org.assertj.core.groups.Tuple.tuple(Invariant.QUARANTINE, "COMMAND 0x4 still has MASTER on"),
                        org.assertj.core.groups.Tuple.tuple(Invariant.QUARANTINE, "MSI-X still enabled"));
    }

    @Test
    @DisplayName("MSI_ROUTING: an armed MSI-X entry aimed at RAM instead of the host ITS doorbell")
    void vectorAimedAtRam() {
        Domain g = guest("g", "0000:00:02.0");
        assertThat(auditor.check().violations()).isEmpty();
        int msix = nvme.capability(PCI_CAP_ID_MSIX, false).orElseThrow().offset();
        int table = nvme.config().read(msix + PCI_MSIX_TABLE, 4);
        long entry0 = (table & ~7) & 0xffffffffL;
        nvme.barWrite(table & 7, entry0, 8, 0x40001000L);
        nvme.barWrite(table & 7, entry0 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
        assertThat(auditor.check().violations()).filteredOn(v -> v.invariant() == Invariant.MSI_ROUTING)
                .singleElement().satisfies(v -> {
                    assertThat(v.domid()).isEqualTo(g.domid());
                    assertThat(v.detail()).contains("MSI-X entry 0").contains("0x40001000").contains("not aimed at a host ITS doorbell");
                });
    }

    @Test
    @DisplayName("MSI_ROUTING: the owner's MSI-X table page mapped straight into it (the guest could program physical vectors)")
    void msixTableDirectMapped() {
        Domain g = guest("g", "0000:00:02.0");
        int table = nvme.config().read(nvme.capability(PCI_CAP_ID_MSIX, false).orElseThrow().offset() + PCI_MSIX_TABLE, 4);
        long page = nvme.barAddress(table & 7) + (table & ~7);
        assertThat(g.p2m().mapMmio(0x30000000L >>> 12, 1, page >>> 12)).isZero();
        assertThat(auditor.check().violations()).singleElement().satisfies(v -> {
            assertThat(v.invariant()).isEqualTo(Invariant.MSI_ROUTING);
            assertThat(v.detail()).contains("MSI-X table page").contains("0x30000000");
        });
    }

    @Test
    @DisplayName("IOMMU_CONTEXT: a function whose stream translates with another domain's p2m")
    void wrongStreamContext() {
        Domain g = guest("g", "0000:00:02.0");
        SmmuV3Driver smmu = (SmmuV3Driver) host.pci().iommu();
        Pdev nicPdev = host.pci().findPdev(NIC).orElseThrow();
        assertThat(smmu.assignDevice(g, nicPdev)).isZero(); // context moved, owner (dom0) did not
        assertThat(auditor.check().violations()).singleElement().satisfies(v -> {
            assertThat(v.invariant()).isEqualTo(Invariant.IOMMU_CONTEXT);
            assertThat(v.device()).isEqualTo(NIC.toString());
            assertThat(v.detail()).contains("translates with " + g).contains("belongs to d0");
        });
    }

    @Test
    @DisplayName("IOMMU_CONTEXT follows the hardware: dom0 renumbering a bridge moves a guest function's requester ID off its stream")
    void streamFollowsRequesterId() {
        Domain g = guest("g", "0000:01:00.0"); // the ivshmem behind the root port 00:03.0
        assertThat(auditor.check().violations()).isEmpty();
        PciFunction rootPort = host.platform().function(Sbdf.parse("0000:00:03.0")).orElseThrow();
        // Secondary and subordinate bus 1 -> 2, written in hardware (as dom0 could through its ECAM).
        rootPort.config().write(PCI_SECONDARY_BUS, 1, 2);
        rootPort.config().write(PCI_SUBORDINATE_BUS, 1, 2);
        assertThat(host.platform().function(Sbdf.parse("0000:01:00.0")).orElseThrow().requesterId()).isEqualTo(0x200);
        assertThat(auditor.check().violations()).singleElement().satisfies(v -> {
            assertThat(v.invariant()).isEqualTo(Invariant.IOMMU_CONTEXT);
            assertThat(v.domid()).isEqualTo(g.domid());
            assertThat(v.detail()).contains("stream 0x200").contains("no context (abort)");
        });
    }

    @Test
    @DisplayName("CROSS_DOMAIN: in enforce mode, a guest access that changes another domain throws from that access")
    void crossDomainInEnforceMode() {
        Domain a = guest("a", "0000:00:02.0");
        Domain b = guest("b", "0000:00:01.0");
        // A planted bug: a trap in a's p2m whose write adds RAM to b's p2m.
        a.p2m().addTrap(0x30000000L, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "planted";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                return 0;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
                b.p2m().addRam(0x3000_0000L, new SparseMemory(0x1000));
            }
        });
        auditor.enforce();
        a.vcpu(0).mmioRead(0x30000000L, 4); // reading changes nothing: fine
        IsolationViolationException e = catchThrowableOfType(IsolationViolationException.class,
                () -> a.vcpu(1).mmioWrite(0x30000000L, 4, 1));
        assertThat(e.violations()).singleElement().satisfies(v -> {
            assertThat(v.invariant()).isEqualTo(Invariant.CROSS_DOMAIN);
            assertThat(v.domid()).isEqualTo(b.domid());
            assertThat(v.operation()).isEqualTo("write d" + a.domid() + "v1 0x30000000/4 = 0x1");
        });
        auditor.stop();
        assertThat(host.xen().observer()).isNull();
    }

    @Test
    @DisplayName("enforce mode audits toolstack operations too, and a clean run counts its steps")
    void enforceCountsSteps() {
        auditor.enforce();
        Domain g = guest("g", "0000:00:02.0");
        libxl.destroyDomain(g.domid());
        assertThat(auditor.steps()).isGreaterThan(10);
        assertThat(g.p2m().mmioMappings()).isEmpty();
        assertThat(g.p2m().entries()).noneMatch(e -> e instanceof P2m.DirectMmio);
        auditor.stop();
    }
}
