package org.xenpci.armpci.gicv3;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.trace.TraceCategory;

@DisplayName("Xen's host ITS driver and the hardware domain's virtual ITS (upstream: dom0 programs MSIs itself)")
class HwdomVitsTest {
    private static final long NIC_CFG = ItsPlatform.ECAM + (2 << 15);
    private static final long DOORBELL = ItsPlatform.ITS + ItsRegs.GITS_TRANSLATER;
    private ItsPlatform p;
    private Domain dom0;

    @BeforeEach
    void setUp() {
        p = new ItsPlatform(Profile.UPSTREAM);
        dom0 = p.xen.hardwareDomain();
    }

    @Test
    @DisplayName("Xen drives the host ITS: command queue in the top MiB of host RAM, collection 0 mapped, ITS enabled")
    void hostItsProgrammed() {
        assertThat(p.layer().hostItsBases()).containsExactly(ItsPlatform.ITS);
        assertThat(p.its.read(ItsRegs.GITS_CTLR, 4)).isEqualTo(1L);
        assertThat(p.its.read(ItsRegs.GITS_CBASER, 8))
                .isEqualTo(ItsRegs.GITS_CBASER_VALID | (ItsPlatform.RAM + ItsPlatform.RAM_SIZE - GicV3Its.XEN_ITS_MEMORY) | 0xf);
        assertThat(p.layer().vits(dom0)).extracting(Vits::base).containsExactly(ItsPlatform.ITS);
    }

    @Test
    @DisplayName("dom0 maps the e1000e (DeviceID 0x10) on its vITS and programs 2 MSI vectors: each LPI lands on the vCPU it chose")
    void msiMultipleMessages() {
        p.xen.trace().enable(TraceCategory.MSI, true); // per-message events are off by default
        ItsPlatform.Queue q = new ItsPlatform.Queue(dom0, ItsPlatform.ITS, 0x4100_0000L);
        q.send(ItsCommand.mapd(0x10, 1, 0x4101_0000L, true), ItsCommand.mapc(0, 0, true), ItsCommand.mapc(1, 1, true),
                ItsCommand.mapti(0x10, 0, 8292, 0), ItsCommand.mapti(0x10, 1, 8293, 1));
        assertThat(p.its.deviceMapped(0x10)).as("host MAPD with 32 events").isTrue();
        int pos = p.nic.capability(PciRegs.PCI_CAP_ID_MSI, false).orElseThrow().offset();
        dom0.mmioWrite(NIC_CFG + pos + 4, 4, DOORBELL);
        dom0.mmioWrite(NIC_CFG + pos + 8, 4, 0);
        dom0.mmioWrite(NIC_CFG + pos + 12, 2, 0);
        dom0.mmioWrite(NIC_CFG + pos + 2, 2, 0x11);
        dom0.mmioWrite(NIC_CFG + PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        assertThat(p.nic.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(p.nic.signal(1)).isEqualTo(SignalResult.SENT);
        assertThat(dom0.vcpu(0).pendingInterrupts()).containsExactly(8292);
        assertThat(dom0.vcpu(1).pendingInterrupts()).containsExactly(8293);
        assertThat(p.xen.trace().events(ItsEvents.LpiInjected.class)).extracting(ItsEvents.LpiInjected::vlpi)
                .containsExactly(8292, 8293);
    }

    @Test
    @DisplayName("an event dom0 never bound with MAPTI reaches Xen's host LPI but is dropped and traced")
    void unboundEvent() {
        ItsPlatform.Queue q = new ItsPlatform.Queue(dom0, ItsPlatform.ITS, 0x4100_0000L);
        q.send(ItsCommand.mapd(0x10, 1, 0, true));
        p.its.translate(0x10, 1);
        assertThat(dom0.vcpu(0).pendingInterrupts()).isEmpty();
        assertThat(p.xen.trace().events(ItsEvents.LpiDropped.class)).extracting(ItsEvents.LpiDropped::reason)
                .containsExactly("no guest LPI mapped");
    }

    @Test
    @DisplayName("gicv3_its_map_guest_device: -ENOENT, -EINVAL for DeviceID and event count, -EBUSY, events rounded to 32, LPIs from 8192")
    void mapGuestDeviceRules() {
        ItsLayer l = p.layer();
        assertThat(l.mapGuestDevice(dom0, 0x1234_0040L, 1, DOORBELL, 1, 4, true)).isEqualTo(Errno.ENOENT.rc());
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 0x10000, DOORBELL, 1, 4, true)).isEqualTo(Errno.EINVAL.rc());
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 1, DOORBELL, 1, 0x10000, true)).isEqualTo(Errno.EINVAL.rc());
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 1, DOORBELL, 1, 0xfff, true)).isZero();
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 1, DOORBELL, 1, 4, true)).isEqualTo(Errno.EBUSY.rc());
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 2, DOORBELL, 2, 3, true)).isZero();
        assertThat(l.hostLpi(dom0, DOORBELL, 1, 0)).isEqualTo(8192);
        assertThat(l.hostLpi(dom0, DOORBELL, 2, 0)).isEqualTo(8192 + 0x1000);
        assertThat(l.hostLpi(dom0, DOORBELL, 2, 31)).isEqualTo(8192 + 0x1000 + 31);
        assertThat(l.hostLpi(dom0, DOORBELL, 2, 32)).as("3 events round up to 32").isEqualTo(-1);
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 2, DOORBELL, 2, 0, false)).isZero();
        assertThat(l.mapGuestDevice(dom0, DOORBELL, 2, DOORBELL, 2, 0, false)).isEqualTo(Errno.ENOENT.rc());
        assertThat(p.its.deviceMapped(2)).isFalse();
    }

    @Test
    @DisplayName("vITS refusals are traced with their errno and the queue keeps going")
    void refusedCommands() {
        ItsPlatform.Queue q = new ItsPlatform.Queue(dom0, ItsPlatform.ITS, 0x4100_0000L);
        q.send(ItsCommand.mapd(0x10, 17, 0, true), ItsCommand.mapc(0, 5, true), ItsCommand.mapti(0x10, 0, 8192, 0),
                ItsCommand.mapd(0x10, 1, 0, true), ItsCommand.mapc(0, 1, true), ItsCommand.mapti(0x10, 0, 100, 0));
        assertThat(p.xen.trace().events(ItsEvents.VitsCommand.class)).extracting(ItsEvents.VitsCommand::rc)
                .containsExactly(Errno.EINVAL.rc(), Errno.EINVAL.rc(), Errno.ENOENT.rc(), 0, 0, Errno.EINVAL.rc());
        assertThat(dom0.mmioRead(ItsPlatform.ITS + ItsRegs.GITS_CREADR, 8)).hasValue(0xc0L);
    }

    @Test
    @DisplayName("upstream, as Xen: dom0's ITTs are freed on unmap and reused, so MAPD/unmap churn (40 x 32 KiB, 200 x 256 B) never exhausts the 960 KiB pool")
    void hwdomChurnReusesIttMemory() {
        ItsLayer l = p.layer();
        IttPool whole = l.ittPools().get(0);
        assertThat(whole.totalBytes()).isEqualTo(GicV3Its.XEN_ITS_MEMORY - 0x10000);
        ItsPlatform.Queue q = new ItsPlatform.Queue(dom0, ItsPlatform.ITS, 0x4100_0000L);
        for (int i = 0; i < 40; i++) {
            q.send(ItsCommand.mapd(0x10, 12, 0, true), ItsCommand.mapd(0x10, 1, 0, false));
        }
        for (int i = 0; i < 200; i++) {
            q.send(ItsCommand.mapd(0x10, 5, 0, true), ItsCommand.mapd(0x10, 1, 0, false));
        }
        assertThat(p.xen.trace().events(ItsEvents.VitsCommand.class)).extracting(ItsEvents.VitsCommand::rc).hasSize(480)
                .containsOnly(0);
        assertThat(l.ittPools()).containsExactly(whole);
        assertThat(whole.isWhole()).isTrue();
        assertThat(l.lpiPool()).isEqualTo(new LpiPool(GicV3Its.MAX_HOST_LPIS, GicV3Its.MAX_HOST_LPIS, 0));
        q.send(ItsCommand.mapd(0x10, 12, 0, true));
        assertThat(l.mappings()).extracting(ItsMapping::hostDevid, ItsMapping::domid, ItsMapping::events,
                ItsMapping::ittAddress, ItsMapping::ittBytes, ItsMapping::reserved)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0x10, 0, 4096, whole.base(), 32768L, false));
        assertThat(l.usage(dom0)).isEqualTo(new ItsUsage(0, 1, 32768, 0, 4096, 0));
        assertThat(l.hostLpiBinding(8192)).hasValue(new HostLpiBinding(8192, 0, 0, HostLpis.INVALID_LPI));
        assertThat(l.hostLpiBinding(8192 + 4096)).isEmpty();
    }
}
