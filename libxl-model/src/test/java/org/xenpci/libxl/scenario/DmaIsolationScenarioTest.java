package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.smmu.DmaTranslation;
import org.xenpci.armpci.smmu.SmmuEvents;
import org.xenpci.core.Domain;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.config.PciSpecParser;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * Device DMA on the default board (SMMUv3, iommu-map stream ID = RID): a function's memory
 * requests reach exactly what its owner's p2m maps, through the SMMU's stage 2, and nothing
 * else. The guest gets the NVMe (its 00:00.0) and the e1000e (its 00:01.0) through libxl.
 */
@DisplayName("DMA through the SMMU: a device reaches its owner's RAM and its owner's mapped BARs, nothing else")
class DmaIsolationScenarioTest {
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    private static final Sbdf E1000E = Sbdf.of(0, 1, 0);
    private static final Sbdf HDA = Sbdf.of(0, 4, 0);
    private static final long CFG = 0x10000000L;
    private static final long GUEST_RAM = 0x40000000L;
    /** Guest RAM is 64 MiB: this is dom0 RAM (host RAM starts at 0x40000000 too) but not the guest's. */
    private static final long BEYOND_GUEST_RAM = GUEST_RAM + (64L << 20) + 0x1000;
    private static final long GUEST_BAR = 0x23000000L;
    private static final String CFG_TEXT = "name = \"g1\"\nmemory = 64\nvcpus = 1\n"
            + "pci = [ \"0000:00:02.0\", \"0000:00:01.0\" ]\n";

    private final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
    private final Libxl libxl = new Libxl(host);
    private final XlConfig config = XlConfigParser.parse(CFG_TEXT, "g1.cfg");
    private final PciFunction nvme = host.platform().function(NVME).orElseThrow();
    private final PciFunction e1000e = host.platform().function(E1000E).orElseThrow();
    private final PhysicalAddressSpace bus = host.platform().hardware().addressSpace();

    DmaIsolationScenarioTest() {
        host.xen().trace().enable(TraceCategory.FAULT, true);
    }

    private Domain createGuest() {
        libxl.makeAssignable(config);
        return libxl.createDomain(config).domain();
    }

    /** A config store by the guest into its vPCI window at virtual slot {@code slot}. */
    private static void guestConfigWrite(Domain g, int slot, int reg, int size, long value) {
        assertThat(g.mmioWrite(CFG + ((long) slot << 15) + reg, size, value)).as("config write completed").isTrue();
    }

    private static long guestLoad(Domain g, long gpa, int size) {
        return g.vcpu(0).mmioRead(gpa, size);
    }

    private static void busMaster(PciFunction f) {
        f.config().write(PciRegs.PCI_COMMAND, 2, f.config().read(PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MASTER);
    }

    private static DmaResult.Fault iommuFault(IommuFault why, long address, boolean write) {
        return new DmaResult.Fault(DmaResult.Reason.IOMMU_FAULT, why, NVME.bdf(), address, write);
    }

    private List<SmmuEvents.DmaFault> faults() {
        return host.xen().trace().events(SmmuEvents.DmaFault.class);
    }

    @Test
    @DisplayName("a DMA write into the owner's RAM lands at the same guest-physical address, and reads back by DMA")
    void dmaIntoOwnersRamLands() {
        Domain g = createGuest();
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);

        assertThat(nvme.dmaWrite(GUEST_RAM + 0x1008, 8, 0x1122334455667788L)).isSameAs(DmaResult.DONE);
        assertThat(nvme.dmaWrite(GUEST_RAM + 0x2001, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})).isSameAs(DmaResult.DONE);

        assertThat(guestLoad(g, GUEST_RAM + 0x1008, 8)).isEqualTo(0x1122334455667788L);
        assertThat(guestLoad(g, GUEST_RAM + 0x2001, 1)).isEqualTo(1);
        assertThat(guestLoad(g, GUEST_RAM + 0x2008, 4)).isEqualTo(0x0b0a0908L);
        assertThat(nvme.dmaRead(GUEST_RAM + 0x100c, 4)).isEqualTo(new DmaResult.Completed(0x11223344L));
        byte[] back = new byte[11];
        assertThat(nvme.dmaRead(GUEST_RAM + 0x2001, back)).isSameAs(DmaResult.DONE);
        assertThat(back).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        // The same address in dom0's RAM (host RAM at the same base) is untouched.
        assertThat(bus.read(GUEST_RAM + 0x1008, 8)).isNotEqualTo(0x1122334455667788L);
        assertThat(faults()).isEmpty();
    }

    @Test
    @DisplayName("DMA outside the owner's RAM, into its vPCI ECAM window or its vITS faults in the SMMU and is traced")
    void dmaOutsideOwnersMemoryFaults() {
        Domain g = createGuest();
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        long dom0Before = bus.read(BEYOND_GUEST_RAM, 8);

        assertThat(nvme.dmaWrite(BEYOND_GUEST_RAM, 8, -1L)).isEqualTo(iommuFault(IommuFault.TRANSLATION, BEYOND_GUEST_RAM, true));
        assertThat(nvme.dmaRead(CFG, 4)).isEqualTo(iommuFault(IommuFault.TRANSLATION, CFG, false));
        assertThat(nvme.dmaWrite(GicV3Its.GUEST_GICV3_ITS_BASE, 8, 0)).isEqualTo(
                iommuFault(IommuFault.TRANSLATION, GicV3Its.GUEST_GICV3_ITS_BASE, true));
        assertThat(nvme.dmaRead(0x0000_7fff_ffff_fff8L, 8)).isInstanceOf(DmaResult.Fault.class);

        assertThat(bus.read(BEYOND_GUEST_RAM, 8)).isEqualTo(dom0Before);
        assertThat(guestLoad(g, CFG, 4)).as("the guest's config space is intact").isEqualTo(0x00101b36L);
        SmmuEvents.DmaFault first = faults().get(0);
        assertThat(first).isEqualTo(new SmmuEvents.DmaFault(g.domid(), NVME, "/smmuv3@9050000", 0x10, BEYOND_GUEST_RAM,
                true, DmaTranslation.Reason.TRANSLATION));
        assertThat(faults()).hasSize(4);
    }

    @Test
    @DisplayName("with bus mastering off no request leaves the function: nothing lands, nothing reaches the SMMU")
    void busMasterOff() {
        Domain g = createGuest();
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, 0);

        assertThat(nvme.dmaWrite(GUEST_RAM + 0x3000, 4, 0xdeadbeefL)).isEqualTo(
                new DmaResult.Fault(DmaResult.Reason.BUS_MASTER_OFF, null, -1, GUEST_RAM + 0x3000, true));
        assertThat(nvme.dmaRead(GUEST_RAM + 0x3000, new byte[4])).extracting(r -> ((DmaResult.Fault) r).reason())
                .isEqualTo(DmaResult.Reason.BUS_MASTER_OFF);

        assertThat(guestLoad(g, GUEST_RAM + 0x3000, 4)).isZero();
        assertThat(faults()).isEmpty();
    }

    @Test
    @DisplayName("a quarantined device (dom_io) faults every DMA: its STE aborts")
    void quarantineFaults() {
        libxl.makeAssignable(config);
        busMaster(nvme);

        assertThat(nvme.dmaWrite(GUEST_RAM + 0x1000, 4, 1)).isEqualTo(iommuFault(IommuFault.STREAM_DISABLED, GUEST_RAM + 0x1000, true));
        assertThat(nvme.dmaRead(GUEST_RAM + 0x1000, 4)).isEqualTo(iommuFault(IommuFault.STREAM_DISABLED, GUEST_RAM + 0x1000, false));
        assertThat(faults()).extracting(SmmuEvents.DmaFault::domid, SmmuEvents.DmaFault::sbdf, SmmuEvents.DmaFault::reason)
                .containsOnly(org.assertj.core.groups.Tuple.tuple(-1, NVME, DmaTranslation.Reason.STREAM_DISABLED));
    }

    @Test
    @DisplayName("after detach the device is back in quarantine: DMA into the former owner's RAM faults")
    void detachQuarantines() {
        Domain g = createGuest();
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        assertThat(nvme.dmaWrite(GUEST_RAM + 0x1000, 4, 0x1111)).isSameAs(DmaResult.DONE);

        libxl.pciDetach(g.domid(), PciSpecParser.parse("0000:00:02.0"), false);
        busMaster(nvme); // a device that keeps mastering across the reset

        assertThat(nvme.dmaWrite(GUEST_RAM + 0x1000, 4, 0x2222)).isEqualTo(iommuFault(IommuFault.STREAM_DISABLED, GUEST_RAM + 0x1000, true));
        assertThat(guestLoad(g, GUEST_RAM + 0x1000, 4)).isEqualTo(0x1111);
    }

    @Test
    @DisplayName("a guest BAR placed at 2^63 and above: peer DMA to it is translated like any other, never an exception")
    void barAboveTwoToTheSixtyThree() {
        Domain g = createGuest();
        guestConfigWrite(g, 1, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        guestConfigWrite(g, 0, 0x10, 4, 0);
        guestConfigWrite(g, 0, 0x14, 4, 0x80000000L); // BAR0 = 0x8000_0000_0000_0000
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        long high = 0x8000_0000_0000_0000L;
        // 0x28 is the NVMe controller's ASQ register (NvmeController): it reads back what lands.
        DmaResult w = e1000e.dmaWrite(high + 0x28, 4, 0x5a5a000);
        assertThat(g.p2m().lookup(high)).as("vPCI mapped the BAR where the guest put it")
                .isInstanceOf(org.xenpci.core.P2m.DirectMmio.class);
        assertThat(w).isSameAs(DmaResult.DONE);
        assertThat(nvme.barRead(0, 0x28, 4)).isEqualTo(0x5a5a000);
        assertThat(e1000e.dmaRead(-8L, 8)).isInstanceOf(DmaResult.Fault.class);
        assertThat(e1000e.dmaRead(-1L, 1)).isInstanceOf(DmaResult.Fault.class);
    }

    @Test
    @DisplayName("peer-to-peer reaches the owner's other device's BAR only while the guest has it mapped (decoding on)")
    void peerToPeerThroughOwnersP2m() {
        Domain g = createGuest();
        guestConfigWrite(g, 1, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER); // the e1000e masters
        guestConfigWrite(g, 0, 0x10, 4, GUEST_BAR); // the NVMe's 64-bit BAR0 at the guest's window
        guestConfigWrite(g, 0, 0x14, 4, 0);
        long target = GUEST_BAR + 0x28; // the NVMe controller's ASQ register: reads back what lands
        DmaResult.Fault unmapped = new DmaResult.Fault(DmaResult.Reason.IOMMU_FAULT, IommuFault.TRANSLATION,
                E1000E.bdf(), target, true);

        assertThat(e1000e.dmaWrite(target, 4, 0xabcd000)).as("decoding off: not in the p2m").isEqualTo(unmapped);

        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        assertThat(e1000e.dmaWrite(target, 4, 0xabcd000)).isSameAs(DmaResult.DONE);
        assertThat(nvme.barRead(0, 0x28, 4)).isEqualTo(0xabcd000);
        assertThat(e1000e.dmaRead(target, 4)).isEqualTo(new DmaResult.Completed(0xabcd000));
        // The MSI-X table page stays trapped in the p2m, so the SMMU refuses it too.
        assertThat(e1000e.dmaRead(GUEST_BAR + 0x2000, 4)).isInstanceOf(DmaResult.Fault.class);

        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, 0);
        assertThat(e1000e.dmaWrite(target, 4, 0x1000)).isEqualTo(unmapped);
        assertThat(nvme.barRead(0, 0x28, 4)).isEqualTo(0xabcd000);
    }

    @Test
    @DisplayName("a DMA aimed at another domain's device BAR (by its machine address) faults")
    void otherDomainsBarFaults() {
        Domain g = createGuest();
        guestConfigWrite(g, 0, PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        PciFunction hda = host.platform().function(HDA).orElseThrow();
        long hdaBar = hda.barAddress(0);
        assertThat(hdaBar).isNotZero();
        assertThat(hda.decodeBar(hdaBar, false)).as("dom0 has the HDA decoding").isZero();
        long before = hda.memory(0).read(0x20, 4);

        assertThat(nvme.dmaWrite(hdaBar + 0x20, 4, 0x5a5a5a5aL)).isEqualTo(iommuFault(IommuFault.TRANSLATION, hdaBar + 0x20, true));
        assertThat(hda.memory(0).read(0x20, 4)).isEqualTo(before);
    }

    @Test
    @DisplayName("a hardware-domain device (identity p2m) DMAs into dom0 RAM at the machine address")
    void dom0DeviceLandsInDom0Ram() {
        PciFunction hda = host.platform().function(HDA).orElseThrow();
        busMaster(hda);
        Domain dom0 = host.xen().hardwareDomain();

        assertThat(hda.dmaWrite(BEYOND_GUEST_RAM, 8, 0x0123456789abcdefL)).isSameAs(DmaResult.DONE);

        assertThat(dom0.vcpu(0).mmioRead(BEYOND_GUEST_RAM, 8)).isEqualTo(0x0123456789abcdefL);
        assertThat(bus.read(BEYOND_GUEST_RAM, 8)).isEqualTo(0x0123456789abcdefL);
        // dom0's own trapped ECAM window is no DMA target either.
        long ecam = host.platform().hostBridges().values().iterator().next().ecamBase();
        assertThat(hda.dmaRead(ecam, 4)).isInstanceOf(DmaResult.Fault.class);
    }
}
