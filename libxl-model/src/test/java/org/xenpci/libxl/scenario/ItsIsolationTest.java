package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.groups.Tuple.tuple;
import static org.xenpci.core.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.gicv3.ItsMapping;
import org.xenpci.armpci.gicv3.ItsReservation;
import org.xenpci.armpci.gicv3.ItsUsage;
import org.xenpci.armpci.gicv3.IttPool;
import org.xenpci.armpci.gicv3.LpiPool;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;
import org.xenpci.libxl.toolstack.LibxlException;
import org.xenpci.vpci.ArmVpci;

@DisplayName("Isolation of ITS memory: one guest's MAPD storm cannot starve another guest's MAPD, and nothing leaks")
class ItsIsolationTest {
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    private static final Sbdf E1000E = Sbdf.of(0, 1, 0);
    private static final Sbdf HDA = Sbdf.of(0, 4, 0);
    /** The default board's ITS (QEMU virt) and dom0's command queue in host RAM. */
    private static final long HOST_ITS = 0x0808_0000L;
    private static final long DOM0_QUEUE = 0x4800_0000L;
    private static final long VITS = GicV3Its.GUEST_GICV3_ITS_BASE;
    private static final long GUEST_QUEUE = 0x4800_0000L;
    private static final int ENOSPC = Errno.ENOSPC.rc();

    private XenHost host;
    private Libxl libxl;
    private ItsLayer its;

    @BeforeEach
    void boot() {
        host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        host.xen().trace().enable(TraceCategory.MSI, true); // the LPI each message made pending
        libxl = new Libxl(host);
        its = host.xen().service(ItsLayer.class).orElseThrow();
    }

    private LibxlDomain create(String name, int vcpus, String... pci) {
        StringBuilder b = new StringBuilder("name = \"" + name + "\"\nmemory = 1024\nvcpus = " + vcpus
                + "\ngic_version = \"v3\"\npci = [ ");
        for (int i = 0; i < pci.length; i++) {
            b.append(i == 0 ? "" : ", ").append('"').append(pci[i]).append('"');
        }
        XlConfig c = XlConfig.parse(b.append(" ]\n").toString(), name + ".cfg");
        libxl.makeAssignable(c);
        return libxl.createDomain(c);
    }

    /** The hostile guest: 1 GiB, 4 vCPUs, NVMe (guest 00:00.0, 65 MSI-X vectors) and e1000e (00:01.0, 5). */
    private LibxlDomain storm() {
        return create("storm", 4, "0000:00:02.0", "0000:00:01.0");
    }

    /** The bystander: 1 vCPU, the HD audio controller (guest 00:00.0, one MSI vector). */
    private LibxlDomain bystander() {
        return create("bystander", 1, "0000:00:04.0");
    }

    /** The reproduction: 40 x {MAPD(dev 0, 12 bits), MAPD(V=0)}, then 200 x the same with 5 bits. */
    private static void mapdStorm(Queue q) {
        for (int i = 0; i < 40; i++) {
            q.send(ItsCommand.mapd(0, 12, GUEST_QUEUE + 0x10_0000, true));
            q.send(ItsCommand.mapd(0, 1, 0, false));
        }
        for (int i = 0; i < 200; i++) {
            q.send(ItsCommand.mapd(0, 5, GUEST_QUEUE + 0x10_0000, true));
            q.send(ItsCommand.mapd(0, 1, 0, false));
        }
    }

    private List<Integer> mapdRcs(Domain d) {
        return host.xen().trace().events(ItsEvents.VitsCommand.class).stream()
                .filter(e -> e.domid() == d.domid() && e.opcode() == ItsRegs.GITS_CMD_MAPD).map(ItsEvents.VitsCommand::rc)
                .toList();
    }

    /**
     * What the bystander's driver does: MAPD its device (RID 0) with 32 events, collection 0 on
     * vCPU 0, event 0 to LPI 8192, then program MSI to its vITS doorbell and enable it.
     */
    private void bystanderSetsUpMsi(Domain g) {
        new Queue(g, GUEST_QUEUE).send(ItsCommand.mapd(0, 5, GUEST_QUEUE + 0x10_0000, true), ItsCommand.mapc(0, 0, true),
                ItsCommand.mapti(0, 0, 8192, 0), ItsCommand.sync(0));
        long cfg = ArmVpci.GUEST_VPCI_ECAM_BASE;
        int pos = hda().capability(PCI_CAP_ID_MSI, false).orElseThrow().offset();
        g.mmioWrite(cfg + PCI_COMMAND, 2, PCI_COMMAND_MASTER);
        g.mmioWrite(cfg + pos + 4, 4, GicV3Its.GUEST_GICV3_ITS_DOORBELL);
        g.mmioWrite(cfg + pos + 8, 4, 0);
        g.mmioWrite(cfg + pos + 0xc, 2, 0);
        g.mmioWrite(cfg + pos + 2, 2, PCI_MSI_FLAGS_ENABLE);
    }

    private PciFunction hda() {
        return host.platform().function(HDA).orElseThrow();
    }

    @Test
    @DisplayName("after the storm the bystander's MAPD succeeds and its MSI lands; the storm's 12-bit MAPDs got -ENOSPC (beyond its own share), its 5-bit ones worked")
    void stormThenBystander() {
        Domain storm = storm().domain();
        Domain by = bystander().domain();
        mapdStorm(new Queue(storm, GUEST_QUEUE));

        List<Integer> rcs = mapdRcs(storm);
        assertThat(rcs).hasSize(480);
        assertThat(rcs.subList(0, 80)).as("12 bits = 4096 events > the NVMe's 128: -ENOSPC; the unmap then finds nothing")
                .containsOnly(ENOSPC, Errno.ENOENT.rc()).containsSequence(ENOSPC, Errno.ENOENT.rc());
        assertThat(rcs.subList(80, 480)).as("5 bits fit the reservation and are reused each time").containsOnly(0);
        assertThat(its.usage(storm)).as("nothing in use, its share still reserved (NVMe 1 KiB + e1000e 256 B, 128 + 32 LPIs)")
                .isEqualTo(new ItsUsage(storm.domid(), 0, 0, 1024 + 256, 0, 128 + 32));

        bystanderSetsUpMsi(by);
        assertThat(mapdRcs(by)).containsExactly(0);
        assertThat(hda().signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(by.vcpu(0).pendingInterrupts()).containsExactly(8192);
        for (Domain d : List.of(storm, host.xen().hardwareDomain())) {
            for (int v = 0; v < d.vcpus().size(); v++) {
                assertThat(d.vcpu(v).pendingInterrupts()).as("%s vCPU %d", d, v).isEmpty();
            }
        }
        // The audit view: the one mapped device, whose host LPI is bound to the bystander.
        assertThat(its.mappings()).extracting(ItsMapping::hostDevid, ItsMapping::domid, ItsMapping::guestDevid,
                ItsMapping::events, ItsMapping::ittBytes, ItsMapping::reserved)
                .containsExactly(tuple(HDA.bdf(), by.domid(), 0, 32, 256L, true));
        int hostLpi = host.xen().trace().events(ItsEvents.LpiInjected.class).get(0).hostLpi();
        assertThat(its.hostLpiBinding(hostLpi)).hasValueSatisfying(b -> {
            assertThat(b.domid()).isEqualTo(by.domid());
            assertThat(b.vcpu()).isZero();
            assertThat(b.vlpi()).isEqualTo(8192);
        });
        assertThat(its.usage(by)).isEqualTo(new ItsUsage(by.domid(), 1, 256, 256, 32, 32));
    }

    @Test
    @DisplayName("the storm's share is its own: mapping both its devices to the full still leaves the bystander's MAPD working")
    void stormHoldingEverythingItMay() {
        Domain storm = storm().domain();
        Domain by = bystander().domain();
        Queue q = new Queue(storm, GUEST_QUEUE);
        q.send(ItsCommand.mapd(0, 7, 0, true), ItsCommand.mapd(8, 5, 0, true));
        q.send(ItsCommand.mapd(8, 6, 0, true));
        assertThat(mapdRcs(storm)).as("NVMe 128 events, e1000e 32; e1000e with 64 exceeds its share")
                .containsExactly(0, 0, ENOSPC);
        assertThat(its.usage(storm)).isEqualTo(new ItsUsage(storm.domid(), 1, 1024, 1280, 128, 160));

        bystanderSetsUpMsi(by);
        assertThat(mapdRcs(by)).containsExactly(0);
        assertThat(hda().signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(by.vcpu(0).pendingInterrupts()).containsExactly(8192);
    }

    @Test
    @DisplayName("destroying the hostile guest returns its usage to zero; with the bystander gone too, the ITT pool is one whole extent and every host LPI is free")
    void destroyFreesEverything() {
        IttPool before = its.ittPools().get(0);
        assertThat(before.isWhole()).isTrue();
        LibxlDomain s = storm();
        Domain storm = s.domain();
        LibxlDomain b = bystander();
        Domain by = b.domain();
        mapdStorm(new Queue(storm, GUEST_QUEUE));
        new Queue(storm, GUEST_QUEUE + 0x1000).send(ItsCommand.mapd(0, 7, 0, true), ItsCommand.mapd(8, 5, 0, true));
        bystanderSetsUpMsi(by);

        libxl.destroyDomain(s.domid());
        assertThat(its.usage(storm).isZero()).as(its.usage(storm).toString()).isTrue();
        assertThat(its.mappings()).extracting(ItsMapping::domid).containsOnly(by.domid());
        assertThat(its.reservations()).extracting(ItsReservation::domid, ItsReservation::functions)
                .containsExactly(tuple(by.domid(), List.of(HDA)));
        assertThat(its.ittPools().get(0).freeBytes()).isEqualTo(before.totalBytes() - 256);
        assertThat(hda().signal(0)).as("the bystander keeps its MSI").isEqualTo(SignalResult.SENT);
        assertThat(by.vcpu(0).pendingInterrupts()).containsExactly(8192);

        libxl.destroyDomain(b.domid());
        assertThat(its.usage(by).isZero()).isTrue();
        assertThat(its.mappings()).isEmpty();
        assertThat(its.reservations()).isEmpty();
        assertThat(its.ittPools().get(0)).isEqualTo(before);
        assertThat(its.lpiPool()).isEqualTo(new LpiPool(GicV3Its.MAX_HOST_LPIS, GicV3Its.MAX_HOST_LPIS, 0));

        // A new guest can have all of it again (the storm re-created gets the same reservation).
        Domain again = storm().domain();
        new Queue(again, GUEST_QUEUE).send(ItsCommand.mapd(0, 7, 0, true));
        assertThat(mapdRcs(again)).as("domids are reused: the last MAPD is the new guest's").endsWith(0);
        assertThat(its.usage(again)).isEqualTo(new ItsUsage(again.domid(), 1, 1024, 1280, 128, 160));
    }

    @Test
    @DisplayName("a full pool fails the assignment, not a running guest: xl create reports -ENOSPC, the device stays assignable, and works once memory is back")
    void fullPoolFailsAssignment() {
        Domain dom0 = host.xen().hardwareDomain();
        // dom0 (trusted, no reservation) takes every host LPI: 8192 events on one DeviceID.
        Queue q0 = new Queue(dom0, HOST_ITS, DOM0_QUEUE);
        q0.send(ItsCommand.mapd(0x7f00, 13, 0, true));
        assertThat(its.lpiPool().free()).isZero();

        LibxlException e = catchThrowableOfType(this::bystander, LibxlException.class);
        assertThat(e).isNotNull();
        assertThat(e.hypercallErrno()).hasValue(Errno.ENOSPC);
        assertThat(libxl.domainByName("bystander")).isEmpty();
        assertThat(host.pci().findPdev(HDA).orElseThrow().owner()).isNotSameAs(dom0).isSameAs(host.xen().domIo());
        assertThat(its.reservations()).isEmpty();
        assertThat(libxl.pciAssignableList()).extracting(a -> a.sbdf()).contains(HDA);

        q0.send(ItsCommand.mapd(0x7f00, 1, 0, false));
        Domain by = bystander().domain();
        bystanderSetsUpMsi(by);
        assertThat(hda().signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(by.vcpu(0).pendingInterrupts()).containsExactly(8192);
    }

    @Test
    @DisplayName("dom0 cannot take what is reserved: with guests holding their shares, dom0's MAPD gets -ENOSPC beyond the rest, and a guest still maps")
    void dom0CannotEatReservations() {
        Domain storm = storm().domain();
        Domain dom0 = host.xen().hardwareDomain();
        Queue q0 = new Queue(dom0, HOST_ITS, DOM0_QUEUE);
        q0.send(ItsCommand.mapd(0x7f00, 13, 0, true));
        assertThat(mapdRcs(dom0)).as("8192 LPIs minus the storm's 160 reserved").containsExactly(ENOSPC);
        q0.send(ItsCommand.mapd(0x7f00, 12, 0, true), ItsCommand.mapd(0x7f01, 11, 0, true),
                ItsCommand.mapd(0x7f02, 10, 0, true));
        assertThat(mapdRcs(dom0)).containsExactly(ENOSPC, 0, 0, 0);
        assertThat(its.lpiPool()).isEqualTo(new LpiPool(8192, 8192 - 4096 - 2048 - 1024, 160));
        q0.send(ItsCommand.mapd(0x7f03, 10, 0, true));
        assertThat(mapdRcs(dom0)).as("only 864 unreserved LPIs remain").endsWith(ENOSPC);
        new Queue(storm, GUEST_QUEUE).send(ItsCommand.mapd(0, 7, 0, true), ItsCommand.mapd(8, 5, 0, true));
        assertThat(mapdRcs(storm)).containsExactly(0, 0);
        assertThat(its.usage(dom0).lpisInUse()).isEqualTo(7168);
        assertThat(its.usage(dom0).lpisReserved()).isZero();
        // Nor can dom0 map a DeviceID reserved for a guest (the storm's NVMe, host DeviceID 0x10).
        new Queue(storm, GUEST_QUEUE).send(ItsCommand.mapd(0, 1, 0, false));
        q0.send(ItsCommand.mapd(NVME.bdf(), 5, 0, true));
        assertThat(mapdRcs(dom0)).endsWith(Errno.EBUSY.rc());
    }

    @Test
    @DisplayName("concurrency: the storm churns MAPD on 4 vCPU threads while the bystander maps and unmaps and an auditor reads the views; nothing leaks, shares hold")
    void concurrentChurn() throws Exception {
        LibxlDomain s = storm();
        Domain storm = s.domain();
        LibxlDomain b = bystander();
        Domain by = b.domain();
        int threads = 6;
        // One command queue per vITS, as a guest driver keeps one and serializes its vCPUs on it.
        Queue stormQueue = new Queue(storm, GUEST_QUEUE);
        Queue byQueue = new Queue(by, GUEST_QUEUE);
        CyclicBarrier start = new CyclicBarrier(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    if (id < 4) {
                        Queue q = stormQueue;
                        for (int n = 0; n < 300; n++) {
                            int dev = (n + id) % 2 == 0 ? 0 : 8;
                            q.send(ItsCommand.mapd(dev, 1 + (n % 12), 0, true));
                            q.send(ItsCommand.mapd(dev, 1, 0, false));
                        }
                    } else if (id == 4) {
                        Queue q = byQueue;
                        for (int n = 0; n < 300; n++) {
                            q.send(ItsCommand.mapd(0, 5, 0, true));
                            q.send(ItsCommand.mapd(0, 1, 0, false));
                        }
                    } else {
                        for (int n = 0; n < 2000; n++) {
                            ItsUsage u = its.usage(storm);
                            if (u.ittBytesInUse() > u.ittBytesReserved() || u.lpisInUse() > u.lpisReserved()) {
                                throw new AssertionError("storm over its share: " + u);
                            }
                            its.mappings();
                        }
                    }
                } catch (Throwable x) {
                    failure.compareAndSet(null, x);
                }
            });
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join(60_000);
        }
        assertThat(failure.get()).isNull();
        assertThat(mapdRcs(by)).as("the bystander never failed").hasSize(600).containsOnly(0);
        libxl.destroyDomain(s.domid());
        libxl.destroyDomain(b.domid());
        assertThat(its.ittPools().get(0).isWhole()).isTrue();
        assertThat(its.lpiPool()).isEqualTo(new LpiPool(8192, 8192, 0));
    }

    /** A driver-side command queue (one 4 KiB page) in the domain's RAM for the vITS at {@code vits}. */
    private static final class Queue {
        private final Domain d;
        private final long vits;
        private final long queue;
        private long writer;

        Queue(Domain d, long queue) {
            this(d, VITS, queue);
        }

        Queue(Domain d, long vits, long queue) {
            this.d = d;
            this.vits = vits;
            this.queue = queue;
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CBASER, 8, ItsRegs.GITS_CBASER_VALID | queue)).isTrue();
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CTLR, 4, ItsRegs.GITS_CTLR_ENABLED)).isTrue();
        }

        synchronized void send(ItsCommand... cmds) {
            for (ItsCommand c : cmds) {
                d.p2m().copyToGuest(queue + writer, c.toBytes());
                writer = (writer + 32) % 4096;
            }
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CWRITER, 8, writer)).isTrue();
        }
    }
}
