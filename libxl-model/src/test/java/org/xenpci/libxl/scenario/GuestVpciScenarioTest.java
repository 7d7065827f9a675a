package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.Domctl;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.dt.GuestDtBuilder;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * A guest drives its passed-through NVMe controller through the MMIO API only: config loads and
 * stores in its vPCI ECAM window (0x10000000), then loads and stores at the BAR address it
 * chose. The hypervisor side is whatever the profile makes of it.
 */
class GuestVpciScenarioTest {
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    /** The guest's config window: 00:00.0 of its virtual bus. */
    private static final long CFG = 0x10000000L;
    private static final long GUEST_MEM_WINDOW = 0x23000000L;

    /** Boots the default platform, makes the NVMe assignable and gives it to a fresh 2-vCPU guest. */
    static Domain guestWithNvme(XenHost host) {
        Domain g = host.xen().createDomain(DomainConfig.guest("g1", 2));
        g.p2m().addRam(0x40000000L, new SparseMemory(0x40000000L));
        g.deviceTree(GuestDtBuilder.forConfig(XlConfigParser.parse(
                "name = \"g1\"\nmemory = 1024\nvcpus = 2\npci = [ \"" + NVME + "\" ]\n", "g1.cfg")).build());
        Vcpu d0 = host.xen().hardwareDomain().vcpu(0);
        long scratch = HardwareDomainGuest.scratchPage(d0);
        assertThat(DomctlCalls.assignDevice(d0, scratch, Domain.DOMID_IO, NVME, Domctl.DEV_RDM_RELAXED).isOk()).isTrue();
        assertThat(DomctlCalls.assignDevice(d0, scratch, g.domid(), NVME, 0).isOk()).isTrue();
        return g;
    }

    static long read(Domain g, int reg, int size) {
        return g.mmioRead(CFG + reg, size).orElseThrow(() -> new AssertionError("config read aborted"));
    }

    static void write(Domain g, int reg, int size, long value) {
        assertThat(g.mmioWrite(CFG + reg, size, value)).as("config write completed").isTrue();
    }

    @Nested
    @DisplayName("full profile")
    class Full {
        private final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        private final PciFunction nvme = host.platform().function(NVME).orElseThrow();
        private final long hostBar = nvme.barAddress(0);
        private final Domain g = guestWithNvme(host);

        @Test
        @DisplayName("the guest sees the device's identity at 00:00.0 and nothing in the other slots")
        void identity() {
            assertThat(read(g, PciRegs.PCI_VENDOR_ID, 4)).isEqualTo(0x00101b36L);
            assertThat(read(g, PciRegs.PCI_CLASS_REVISION, 4) >>> 8).isEqualTo(0x010802L);
            assertThat(read(g, 1 << 15, 4)).isEqualTo(0xffffffffL);
            assertThat(read(g, 1 << 12, 2)).isEqualTo(0xffffL);
        }

        @Test
        @DisplayName("sizing, placing and enabling BAR0 maps exactly guest BAR -> host BAR, and disabling unmaps it")
        void sizePlaceEnable() {
            assertThat(hostBar).isNotZero();
            write(g, 0x10, 4, 0xffffffffL);
            write(g, 0x14, 4, 0xffffffffL);
            assertThat(read(g, 0x10, 4)).isEqualTo(0xffffc004L);
            assertThat(read(g, 0x14, 4)).isEqualTo(0xffffffffL);
            write(g, 0x10, 4, GUEST_MEM_WINDOW);
            write(g, 0x14, 4, 0);
            assertThat(read(g, 0x10, 4)).isEqualTo(GUEST_MEM_WINDOW | 0x4);
            assertThat(g.p2m().mmioMappings()).isEmpty();

            write(g, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);

            // BAR0 is 16 KiB; its last two pages hold the MSI-X table (0x2000) and PBA (0x3000),
            // which stay trapped: only the first 8 KiB are mapped straight through.
            assertThat(g.p2m().mmioMappings()).containsExactly(new P2m.DirectMmio(GUEST_MEM_WINDOW, 0x2000, hostBar));
            assertThat(g.p2m().lookup(GUEST_MEM_WINDOW + 0x2000)).isInstanceOf(P2m.Trapped.class);
            assertThat(g.p2m().lookup(GUEST_MEM_WINDOW + 0x3ffc)).isInstanceOf(P2m.Trapped.class);
            // The guest's stores land in the device's BAR at the same offset (0x28: the NVMe
            // controller's ASQ register, which keeps bits 31:12).
            assertThat(g.mmioWrite(GUEST_MEM_WINDOW + 0x28, 4, 0xcafef000L)).isTrue();
            assertThat(nvme.barRead(0, 0x28, 4)).isEqualTo(0xcafef000L);
            // The hardware's own BAR still holds dom0's address: a guest never writes it.
            assertThat(nvme.barAddress(0)).isEqualTo(hostBar);
            assertThat(nvme.config().read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MEMORY).isNotZero();

            write(g, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
            assertThat(g.p2m().mmioMappings()).isEmpty();
            assertThat(g.mmioRead(GUEST_MEM_WINDOW + 0x10, 4)).isEmpty();
        }

        @Test
        @DisplayName("moving a BAR while it is mapped is ignored")
        void moveWhileMappedIgnored() {
            write(g, 0x10, 4, GUEST_MEM_WINDOW);
            write(g, 0x14, 4, 0);
            write(g, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
            write(g, 0x10, 4, GUEST_MEM_WINDOW + 0x100000);
            assertThat(read(g, 0x10, 4)).isEqualTo(GUEST_MEM_WINDOW | 0x4);
            assertThat(host.xen().trace().events(org.xenpci.core.trace.Events.Warning.class))
                    .extracting(org.xenpci.core.trace.Events.Warning::message)
                    .contains("0000:00:02.0: ignored BAR 0 write while mapped");
            assertThat(g.p2m().mmioMappings()).containsExactly(new P2m.DirectMmio(GUEST_MEM_WINDOW, 0x2000, hostBar));
        }

        @Test
        @DisplayName("a guest cannot reach host COMMAND bits it does not own, nor the host BAR registers")
        void hostRegistersProtected() {
            int hostCmdBefore = nvme.config().read(PciRegs.PCI_COMMAND, 2);
            write(g, 0x10, 4, GUEST_MEM_WINDOW);
            write(g, 0x14, 4, 0);
            write(g, PciRegs.PCI_COMMAND, 2, 0xffff);
            int guestView = (int) read(g, PciRegs.PCI_COMMAND, 2);
            int hostCmd = nvme.config().read(PciRegs.PCI_COMMAND, 2);
            // IO, PARITY, WAIT, SERR, FAST_BACK and the reserved bits are not the guest's: they read 0
            // and keep the hardware's value.
            int notGuests = 0xF800 | PciRegs.PCI_COMMAND_IO | PciRegs.PCI_COMMAND_PARITY | PciRegs.PCI_COMMAND_WAIT
                    | PciRegs.PCI_COMMAND_SERR | PciRegs.PCI_COMMAND_FAST_BACK;
            assertThat(guestView & notGuests).isZero();
            assertThat(hostCmd & notGuests).isEqualTo(hostCmdBefore & notGuests);
            assertThat(hostCmd & PciRegs.PCI_COMMAND_MEMORY).isNotZero();
            // Sizing writes never reach the hardware BAR.
            write(g, 0x10, 4, 0xffffffffL);
            assertThat(nvme.barAddress(0)).isEqualTo(hostBar);
        }

        @Test
        @DisplayName("enabling decoding with a BAR left over the guest's own config window crashes the guest")
        void overlappingBarCrashesGuest() {
            // A guest BAR starts at the host address (0x1xxxxxxx here), inside 0x10000000-0x1fffffff.
            assertThat(hostBar).isBetween(0x10000000L, 0x1fffffffL);
            write(g, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(g.isCrashed()).isTrue();
            assertThat(g.p2m().mmioMappings()).isEmpty();
            assertThat(g.mmioRead(CFG, 4)).isEmpty();
        }

        @Test
        @DisplayName("the reference guest probes its vPCI node, places BAR0 in the 32-bit window and gets it mapped")
        void referenceGuest() {
            ReferenceGuest.Probe p = new ReferenceGuest(g).probe();
            assertThat(p.configAborts()).isZero();
            assertThat(p.functions()).singleElement().satisfies(f -> {
                assertThat(f.sbdf()).isEqualTo(Sbdf.of(0, 0, 0));
                assertThat(f.vendor()).isEqualTo(0x1b36);
                assertThat(f.bars()).singleElement().satisfies(b -> {
                    assertThat(b.type()).isEqualTo("mem64");
                    assertThat(b.address()).isEqualTo(GUEST_MEM_WINDOW);
                });
            });
            assertThat(g.p2m().mmioMappings()).containsExactly(new P2m.DirectMmio(GUEST_MEM_WINDOW, 0x2000, hostBar));
        }

        @Test
        @DisplayName("destroying the guest unmaps the BAR and sends the device back to quarantine")
        void destroy() {
            new ReferenceGuest(g).probe();
            host.xen().destroyDomain(g);
            assertThat(host.pci().findPdev(NVME).orElseThrow().owner()).isSameAs(host.xen().domIo());
            // No mapping, no handler, no vPCI state left behind.
            assertThat(g.p2m().mmioMappings()).isEmpty();
            assertThat(g.p2m().entries()).noneMatch(e -> e instanceof P2m.Trapped);
            assertThat(g.extension(org.xenpci.vpci.VpciDomain.class)).isNull();
        }
    }

    @Nested
    @DisplayName("upstream profile")
    class Upstream {

        @Test
        @DisplayName("guests get no vPCI handler: the config window aborts and the reference guest finds nothing")
        void windowAborts() {
            XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.UPSTREAM);
            Domain g = guestWithNvme(host);
            assertThat(g.mmioRead(CFG, 4)).isEmpty();
            Vcpu v = g.vcpu(1);
            v.mmioWrite(CFG + PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(v.takeDataAbort()).isNotNull();
            ReferenceGuest.Probe p = new ReferenceGuest(g).probe();
            assertThat(p.functions()).isEmpty();
            assertThat(p.configAborts()).isEqualTo(32);
            // The device is still assigned: Xen's IOMMU side works, only vPCI is dormant.
            assertThat(host.pci().findPdev(NVME).orElseThrow().owner()).isSameAs(g);
        }

        @Test
        @DisplayName("with vPCI switched on, the guest reads its device's IDs as 0xFFFF but BARs work as upstream code does")
        void vpciOnIdsReadAllOnes() {
            Profile vpciOn = Profile.UPSTREAM.toBuilder().name("upstream+vpci").vpciGuest(true).build();
            XenHost host = XenHost.boot(DefaultPlatform.build(), vpciOn);
            long hostBar = host.platform().function(NVME).orElseThrow().barAddress(0);
            Domain g = guestWithNvme(host);
            assertThat(read(g, PciRegs.PCI_VENDOR_ID, 2)).isEqualTo(0xffffL);
            assertThat(read(g, PciRegs.PCI_CLASS_REVISION, 4)).isEqualTo(0xffffffffL);
            // The capability list upstream exposes: MSI-X only (the NVMe has PM, MSI-X and PCIe).
            int first = (int) read(g, PciRegs.PCI_CAPABILITY_LIST, 1);
            assertThat(read(g, first, 1)).isEqualTo(PciRegs.PCI_CAP_ID_MSIX);
            assertThat(read(g, first + 1, 1)).isZero();
            write(g, 0x10, 4, 0xffffffffL);
            assertThat(read(g, 0x10, 4)).isEqualTo(0xffffc004L);
            write(g, 0x10, 4, GUEST_MEM_WINDOW);
            write(g, 0x14, 4, 0);
            write(g, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
            // No MSI-X emulation upstream, so no trapped table pages: the whole BAR is mapped.
            assertThat(g.p2m().mmioMappings()).containsExactly(new P2m.DirectMmio(GUEST_MEM_WINDOW, 0x4000, hostBar));
            // A Linux-like probe sees vendor 0xFFFF and concludes the slot is empty.
            List<Sbdf> found = new ReferenceGuest(g).probe().functions().stream().map(f -> f.sbdf()).collect(Collectors.toList());
            assertThat(found).isEmpty();
        }
    }
}
