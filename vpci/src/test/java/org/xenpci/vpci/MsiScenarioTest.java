package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.core.pci.PciRegs.*;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.Sbdf;

@DisplayName("MSI and MSI-X end to end: device -> host bridge msi-map -> ITS -> Xen -> vCPU")
class MsiScenarioTest {
    private static final long VITS = GicV3Its.GUEST_GICV3_ITS_BASE;
    private static final long VDOORBELL = GicV3Its.GUEST_GICV3_ITS_DOORBELL;

    /** A guest with 2 vCPUs owning the NVMe (65 MSI-X vectors) at guest 00:00.0, BAR0 at 0x23000000, decoding on. */
    private static final class NvmeGuest {
        final MsiPlatform p = new MsiPlatform(Profile.FULL);
        final Domain g = p.guest(2);
        final long cfg;
        final long table = MsiPlatform.GUEST_BAR + 0x2000;
        final long pba = MsiPlatform.GUEST_BAR + 0x3000;
        final int rid;

        NvmeGuest() {
            p.assign(MsiPlatform.NVME, g);
            Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.NVME).guestSbdfRecord();
            rid = v.bdf();
            cfg = MsiPlatform.guestCfg(v.device());
            assertThat(g.mmioRead(cfg, 4)).as("vendor/device").hasValue(0x0010_1b36L);
            g.mmioWrite(cfg + 0x10, 4, MsiPlatform.GUEST_BAR | 0x4);
            g.mmioWrite(cfg + 0x14, 4, 0);
            g.mmioWrite(cfg + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        }

        void entry(int i, long addr, int data, boolean masked) {
            g.mmioWrite(table + 16L * i, 8, addr);
            g.mmioWrite(table + 16L * i + 8, 4, data);
            g.mmioWrite(table + 16L * i + 12, 4, masked ? 1 : 0);
        }

        /** The guest's vITS: device mapped with 128 events, collection 0 on vCPU 0, 1 on vCPU 1, events 0-3 to LPIs 8192-8195. */
        void vits() {
            MsiPlatform.Queue q = new MsiPlatform.Queue(g, VITS, MsiPlatform.GUEST_QUEUE);
            q.send(ItsCommand.mapd(rid, 7, MsiPlatform.GUEST_RAM + 0x200000, true), ItsCommand.mapc(0, 0, true),
                    ItsCommand.mapc(1, 1, true), ItsCommand.mapti(rid, 0, 8192, 0), ItsCommand.mapti(rid, 1, 8193, 1),
                    ItsCommand.mapti(rid, 2, 8194, 0), ItsCommand.mapti(rid, 3, 8195, 1), ItsCommand.sync(0));
        }
    }

    @Nested
    @DisplayName("(a) NVMe with 65 MSI-X vectors in a guest with 2 vCPUs")
    class Nvme {
        private NvmeGuest s;

        @BeforeEach
        void setUp() {
            s = new NvmeGuest();
            s.vits();
            s.g.mmioWrite(s.cfg + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
            for (int i = 0; i < 4; i++) {
                s.entry(i, VDOORBELL, i, i == 3);
            }
        }

        @Test
        @DisplayName("three vectors land on the vCPUs the guest chose with its LPI numbers; the masked one pends and arrives on unmask")
        void fourVectors() {
            assertThat(s.p.nvme.signal(0)).isEqualTo(SignalResult.SENT);
            assertThat(s.p.nvme.signal(1)).isEqualTo(SignalResult.SENT);
            assertThat(s.p.nvme.signal(2)).isEqualTo(SignalResult.SENT);
            assertThat(s.p.nvme.signal(3)).isEqualTo(SignalResult.PENDING);
            assertThat(s.g.vcpu(0).pendingInterrupts()).containsExactly(8192, 8194);
            assertThat(s.g.vcpu(1).pendingInterrupts()).containsExactly(8193);
            assertThat(s.g.mmioRead(s.pba, 8)).as("PBA read from the device").hasValue(0x8L);
            s.g.mmioWrite(s.pba, 8, 0);
            assertThat(s.g.mmioRead(s.pba, 8)).as("PBA writes ignored for a domU").hasValue(0x8L);
            s.g.mmioWrite(s.table + 16 * 3 + 12, 4, 0);
            assertThat(s.g.vcpu(1).pendingInterrupts()).containsExactly(8193, 8195);
            assertThat(s.g.mmioRead(s.pba, 8)).hasValue(0x0L);
            assertThat(s.p.xen.hardwareDomain().vcpu(0).pendingInterrupts()).isEmpty();
        }

        @Test
        @DisplayName("the guest reads its own entries back; the physical entries hold the host doorbell and the same EventIDs")
        void entriesReadBack() {
            assertThat(s.g.mmioRead(s.table + 16, 8)).hasValue(VDOORBELL);
            assertThat(s.g.mmioRead(s.table + 16 + 8, 8)).as("data with the mask bit in the high half").hasValue(0x1L);
            assertThat(s.g.mmioRead(s.table + 16 * 3 + 8, 8)).hasValue(0x1_0000_0003L);
            assertThat(s.g.mmioRead(s.table + 16 * 64 + 12, 4)).as("untouched entries masked").hasValue(1L);
            assertThat(s.g.mmioRead(s.table + 2, 2)).as("unaligned").hasValue(0xffffL);
            assertThat(s.p.nvme.barRead(0, 0x2010, 8)).isEqualTo(MsiPlatform.HOST_DOORBELL);
            assertThat(s.p.nvme.barRead(0, 0x2018, 4)).isEqualTo(1L);
            assertThat(s.p.nvme.barRead(0, 0x2030 + 12, 4)).as("entry 3 physically masked").isEqualTo(1L);
        }

        @Test
        @DisplayName("the table and PBA pages stay trapped while the rest of the BAR is mapped")
        void pagesPunched() {
            assertThat(s.g.p2m().lookup(MsiPlatform.GUEST_BAR)).isInstanceOf(org.xenpci.core.P2m.DirectMmio.class);
            assertThat(s.g.p2m().lookup(s.table)).isInstanceOf(org.xenpci.core.P2m.Trapped.class);
            assertThat(s.g.p2m().lookup(s.pba)).isInstanceOf(org.xenpci.core.P2m.Trapped.class);
            s.g.mmioWrite(s.cfg + PCI_COMMAND, 2, PCI_COMMAND_MASTER);
            assertThat(s.g.p2m().lookup(s.table)).as("decoding off: traps gone").isNull();
            assertThat(s.g.p2m().lookup(MsiPlatform.GUEST_BAR)).isNull();
        }

        @Test
        @DisplayName("enabling MSI-X disabled INTx for the guest; the control reads back enable and the 65-entry size")
        void control() {
            assertThat(s.g.mmioRead(s.cfg + 0x42, 2)).hasValue(0x8040L);
            assertThat(s.g.mmioRead(s.cfg + PCI_COMMAND, 2).getAsLong() & PCI_COMMAND_INTX_DISABLE).isNotZero();
            assertThat(s.p.nvme.config().read(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE).isNotZero();
            s.g.mmioWrite(s.cfg + 0x42, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
            assertThat(s.p.nvme.signal(0)).isEqualTo(SignalResult.PENDING);
            s.g.mmioWrite(s.cfg + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
            assertThat(s.g.vcpu(0).pendingInterrupts()).containsExactly(8192);
        }

        @Test
        @DisplayName("PHYSDEVOP_pci_device_reset rebuilds vPCI state but keeps the guest's ITS mappings: restoring the table (as Linux does after an FLR) brings MSIs back without a new MAPD")
        void resetKeepsItsMappings() {
            assertThat(PhysdevCalls.pciDeviceReset(s.p.dom0.vcpu(0), MsiPlatform.RAM + 0x1000, MsiPlatform.NVME, 3).rc())
                    .isZero();
            assertThat(s.p.itsLayer().mappedDevices(s.g)).isEqualTo(1);
            // vPCI state came back from hardware: decoding off, entries masked; the guest restores them.
            s.g.mmioWrite(s.cfg + 0x10, 4, MsiPlatform.GUEST_BAR | 0x4);
            s.g.mmioWrite(s.cfg + 0x14, 4, 0);
            s.g.mmioWrite(s.cfg + PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
            s.g.mmioWrite(s.cfg + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
            s.entry(1, VDOORBELL, 1, false);
            assertThat(s.p.nvme.signal(1)).isEqualTo(SignalResult.SENT);
            assertThat(s.g.vcpu(1).pendingInterrupts()).containsExactly(8193);
        }

        /** A function that ignores its reset state: MSI-X on, unmasked, entry 0 unmasked (written straight into hardware). */
        private void misbehave() {
            s.p.nvme.config().write(0x42, 2, PCI_MSIX_FLAGS_ENABLE | (s.p.nvme.config().read(0x42, 2) & PCI_MSIX_FLAGS_QSIZE));
            s.p.nvme.config().write(PCI_COMMAND, 2, s.p.nvme.config().read(PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
            s.p.nvme.barWrite(0, 0x2000 + 12, 4, 0);
        }

        @Test
        @DisplayName("(c) deassigning the device clears every ITS mapping: a later write is dropped and traced, never delivered")
        void deassign() {
            assertThat(s.p.itsLayer().mappedDevices(s.g)).isEqualTo(1);
            s.p.assign(MsiPlatform.NVME, s.p.dom0);
            assertThat(s.p.itsLayer().mappedDevices(s.g)).isZero();
            assertThat(s.p.its.deviceMapped(0x0008)).isFalse();
            assertThat(s.p.nvme.barRead(0, 0x2000 + 12, 4)).as("vPCI detach masked the entries").isEqualTo(1L);
            assertThat(s.p.nvme.signal(0)).as("vPCI detach disabled MSI-X through config space").isEqualTo(SignalResult.DISABLED);
            // A device that still has a stale entry (or misbehaves) writes anyway:
            misbehave();
            assertThat(s.p.nvme.signal(0)).isEqualTo(SignalResult.SENT);
            assertThat(s.g.vcpu(0).pendingInterrupts()).isEmpty();
            assertThat(s.p.xen.trace().events(ItsEvents.TranslationDropped.class))
                    .extracting(ItsEvents.TranslationDropped::deviceId, ItsEvents.TranslationDropped::reason)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(0x0008, "DeviceID not mapped"));
        }

        @Test
        @DisplayName("(c) removing the device (PHYSDEVOP_pci_device_remove) also clears its ITS mappings")
        void remove() {
            assertThat(PhysdevCalls.pciDeviceRemove(s.p.dom0.vcpu(0), MsiPlatform.RAM + 0x1000, MsiPlatform.NVME).rc())
                    .isZero();
            assertThat(s.p.its.deviceMapped(0x0008)).isFalse();
            misbehave();
            s.p.nvme.signal(0);
            assertThat(s.g.vcpu(0).pendingInterrupts()).isEmpty();
            assertThat(s.p.xen.trace().events(ItsEvents.TranslationDropped.class)).hasSize(1);
        }

        @Test
        @DisplayName("(c) destroying the guest unmaps its devices from the host ITS")
        void destroy() {
            s.p.xen.destroyDomain(s.g);
            assertThat(s.p.its.deviceMapped(0x0008)).isFalse();
            assertThat(s.p.itsLayer().vits(s.g)).isEmpty();
        }

        @Test
        @DisplayName("concurrent fires on 3 threads while the guest toggles entry 3's mask: nothing is lost, nothing deadlocks")
        void concurrentFires() throws Exception {
            Thread[] t = new Thread[3];
            for (int k = 0; k < 3; k++) {
                int vector = k;
                t[k] = new Thread(() -> {
                    for (int n = 0; n < 2000; n++) {
                        s.p.nvme.signal(vector);
                        s.p.nvme.signal(3);
                    }
                });
                t[k].start();
            }
            for (int n = 0; n < 500; n++) {
                s.g.mmioWrite(s.table + 16 * 3 + 12, 4, n & 1);
            }
            for (Thread x : t) {
                x.join();
            }
            s.g.mmioWrite(s.table + 16 * 3 + 12, 4, 0);
            s.p.nvme.signal(3);
            assertThat(s.g.vcpu(0).pendingInterrupts()).containsExactly(8192, 8194);
            assertThat(s.g.vcpu(1).pendingInterrupts()).containsExactly(8193, 8195);
            assertThat(s.g.mmioRead(s.pba, 8)).hasValue(0x0L);
        }

        @Test
        @DisplayName("DISCARD unbinds one event: Xen drops its host LPI; MOVI moves another to vCPU 1")
        void discardAndMovi() {
            MsiPlatform.Queue q = new MsiPlatform.Queue(s.g, VITS, MsiPlatform.GUEST_QUEUE + 0x1000);
            q.send(ItsCommand.event(ItsRegs.GITS_CMD_DISCARD, s.rid, 0), ItsCommand.movi(s.rid, 2, 1));
            s.p.nvme.signal(0);
            s.p.nvme.signal(2);
            assertThat(s.g.vcpu(0).pendingInterrupts()).isEmpty();
            assertThat(s.g.vcpu(1).pendingInterrupts()).containsExactly(8194);
            assertThat(s.p.xen.trace().events(ItsEvents.LpiDropped.class)).extracting(ItsEvents.LpiDropped::reason)
                    .containsExactly("no guest LPI mapped");
        }
    }

    @Nested
    @DisplayName("(d) containment")
    class Containment {
        private NvmeGuest s;

        @BeforeEach
        void setUp() {
            s = new NvmeGuest();
            s.vits();
            s.g.mmioWrite(s.cfg + 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
        }

        @Test
        @DisplayName("an entry aimed at the physical doorbell (= dom0's vITS doorbell) or at RAM is not delivered anywhere")
        void foreignDoorbell() {
            s.entry(0, MsiPlatform.HOST_DOORBELL, 0, false);
            s.entry(1, MsiPlatform.RAM + 0x100, 1, false);
            assertThat(s.p.nvme.barRead(0, 0x2000 + 12, 4)).as("physical entry stays masked").isEqualTo(1L);
            assertThat(s.p.nvme.signal(0)).isEqualTo(SignalResult.PENDING);
            assertThat(s.p.nvme.signal(1)).isEqualTo(SignalResult.PENDING);
            for (Domain d : new Domain[] {s.g, s.p.dom0}) {
                for (int v = 0; v < d.vcpus().size(); v++) {
                    assertThat(d.vcpu(v).pendingInterrupts()).isEmpty();
                }
            }
            assertThat(s.p.xen.trace().events(ItsEvents.MsiRefused.class)).extracting(ItsEvents.MsiRefused::address)
                    .containsExactly(MsiPlatform.HOST_DOORBELL, MsiPlatform.RAM + 0x100);
            assertThat(s.p.dom0.p2m().copyFromGuest(MsiPlatform.RAM + 0x100, 4)).containsOnly(0);
        }

        @Test
        @DisplayName("a guest cannot map a DeviceID it does not own on its vITS, and a second guest cannot reach the first's device")
        void foreignDevice() {
            Domain other = s.p.guest(1);
            MsiPlatform.Queue q = new MsiPlatform.Queue(other, VITS, MsiPlatform.GUEST_QUEUE);
            q.send(ItsCommand.mapd(s.rid, 7, 0, true), ItsCommand.mapd(0x0008, 7, 0, true));
            MsiPlatform.Queue q1 = new MsiPlatform.Queue(s.g, VITS, MsiPlatform.GUEST_QUEUE + 0x1000);
            q1.send(ItsCommand.mapd(0x0010, 7, 0, true));
            assertThat(s.p.xen.trace().events(ItsEvents.VitsCommand.class)).filteredOn(e -> e.opcode() == ItsRegs.GITS_CMD_MAPD)
                    .extracting(ItsEvents.VitsCommand::domid, ItsEvents.VitsCommand::rc)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(s.g.domid(), 0),
                            org.assertj.core.groups.Tuple.tuple(other.domid(), -19),
                            org.assertj.core.groups.Tuple.tuple(other.domid(), -19),
                            org.assertj.core.groups.Tuple.tuple(s.g.domid(), -19));
            assertThat(s.p.itsLayer().mappedDevices(other)).isZero();
        }

        @Test
        @DisplayName("a guest CPU write to its own GITS_TRANSLATER raises nothing")
        void cpuDoorbellWrite() {
            s.entry(0, VDOORBELL, 0, false);
            s.g.mmioWrite(VDOORBELL, 4, 0);
            assertThat(s.g.vcpu(0).pendingInterrupts()).isEmpty();
        }
    }

    @Nested
    @DisplayName("(b) MSI with multiple messages")
    class MultiMsi {
        @Test
        @DisplayName("hwdom (vPCI on) enables 4 MSI vectors through its vITS at the host ITS address; vector i raises EventID data|i")
        void hwdom() {
            MsiPlatform p = new MsiPlatform(Profile.FULL);
            Domain d0 = p.dom0;
            long cfg = MsiPlatform.ECAM + (3 << 15);
            int pos = p.msi4.capability(PCI_CAP_ID_MSI, false).orElseThrow().offset();
            MsiPlatform.Queue q = new MsiPlatform.Queue(d0, MsiPlatform.ITS, MsiPlatform.RAM + 0x10_0000);
            q.send(ItsCommand.mapd(0x18, 5, MsiPlatform.RAM + 0x20_0000, true), ItsCommand.mapc(0, 0, true),
                    ItsCommand.mapc(1, 1, true), ItsCommand.mapti(0x18, 4, 8300, 0), ItsCommand.mapti(0x18, 5, 8301, 1),
                    ItsCommand.mapti(0x18, 6, 8302, 0), ItsCommand.mapti(0x18, 7, 8303, 1));
            d0.mmioWrite(cfg + pos + 4, 4, MsiPlatform.HOST_DOORBELL);
            d0.mmioWrite(cfg + pos + 8, 4, 0);
            d0.mmioWrite(cfg + pos + 0xc, 2, 4);
            d0.mmioWrite(cfg + pos + 0x10, 4, 0x2);
            d0.mmioWrite(cfg + pos + 2, 2, 0x21);
            d0.mmioWrite(cfg + PCI_COMMAND, 2, PCI_COMMAND_MASTER);
            assertThat(d0.mmioRead(cfg + pos + 2, 2).getAsLong() & 0x71).isEqualTo(0x21L);
            for (int v = 0; v < 4; v++) {
                p.msi4.signal(v);
            }
            assertThat(d0.vcpu(0).pendingInterrupts()).containsExactly(8300, 8302);
            assertThat(d0.vcpu(1).pendingInterrupts()).as("vector 1 is masked").containsExactly(8303);
            d0.mmioWrite(cfg + pos + 0x10, 4, 0);
            assertThat(d0.vcpu(1).pendingInterrupts()).containsExactly(8301, 8303);
        }

        @Test
        @DisplayName("a guest's MSI to its vITS doorbell is routed; to any other address hardware MSI stays disabled")
        void guest() {
            MsiPlatform p = new MsiPlatform(Profile.FULL);
            Domain g = p.guest(1);
            p.assign(MsiPlatform.MSI4, g);
            Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.MSI4).guestSbdfRecord();
            long cfg = MsiPlatform.guestCfg(v.device());
            int pos = p.msi4.capability(PCI_CAP_ID_MSI, false).orElseThrow().offset();
            new MsiPlatform.Queue(g, VITS, MsiPlatform.GUEST_QUEUE).send(ItsCommand.mapd(v.bdf(), 5, 0, true),
                    ItsCommand.mapc(0, 0, true), ItsCommand.mapti(v.bdf(), 8, 9000, 0), ItsCommand.mapti(v.bdf(), 9, 9001, 0));
            g.mmioWrite(cfg + PCI_COMMAND, 2, PCI_COMMAND_MASTER);
            g.mmioWrite(cfg + pos + 4, 4, MsiPlatform.HOST_DOORBELL);
            g.mmioWrite(cfg + pos + 8, 4, 0);
            g.mmioWrite(cfg + pos + 0xc, 2, 8);
            g.mmioWrite(cfg + pos + 2, 2, 0x11);
            assertThat(g.mmioRead(cfg + pos + 2, 2).getAsLong() & 0x1).as("guest sees MSI enabled").isEqualTo(1L);
            assertThat(p.msi4.signal(0)).as("hardware MSI left disabled").isEqualTo(SignalResult.DISABLED);
            g.mmioWrite(cfg + pos + 4, 4, VDOORBELL);
            assertThat(p.msi4.signal(0)).isEqualTo(SignalResult.SENT);
            assertThat(p.msi4.signal(1)).isEqualTo(SignalResult.SENT);
            assertThat(g.vcpu(0).pendingInterrupts()).containsExactly(9000, 9001);
            assertThat(p.msi4.config().read(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE).isNotZero();
        }
    }

    @Nested
    @DisplayName("(e) profiles")
    class Profiles {
        @Test
        @DisplayName("upstream: no MSI emulators, guests get no vITS (its address aborts), dom0 keeps its vITS")
        void upstream() {
            MsiPlatform p = new MsiPlatform(Profile.UPSTREAM);
            assertThat(p.xen.service(Vpci.class).orElseThrow().emulators()).isEmpty();
            Domain g = p.guest(1);
            assertThat(g.mmioRead(VITS + ItsRegs.GITS_TYPER, 8)).isEmpty();
            assertThat(p.itsLayer().vits(g)).isEmpty();
            assertThat(p.itsLayer().vits(p.dom0)).hasSize(1);
        }

        @Test
        @DisplayName("full: MSI and MSI-X emulators in Xen's link order, and a guest vITS at 0x04020000")
        void full() {
            MsiPlatform p = new MsiPlatform(Profile.FULL);
            assertThat(p.xen.service(Vpci.class).orElseThrow().emulators()).extracting(CapabilityEmulator::capId)
                    .containsExactly(PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX);
            Domain g = p.guest(1);
            assertThat(g.mmioRead(VITS + ItsRegs.GITS_TYPER, 8)).hasValue(0x1_ef71L);
            assertThat(g.mmioRead(VITS + ItsRegs.GITS_IIDR, 4)).hasValue(0x43bL);
        }

        @Test
        @DisplayName("full without vpciMsi: a guest's MSI-X control is unhandled and reads all-ones")
        void noVpciMsi() {
            MsiPlatform p = new MsiPlatform(Profile.FULL.toBuilder().vpciMsi(false).build());
            Domain g = p.guest(1);
            p.assign(MsiPlatform.NVME, g);
            Sbdf v = p.xen.service(Vpci.class).orElseThrow().device(g, MsiPlatform.NVME).guestSbdfRecord();
            assertThat(g.mmioRead(MsiPlatform.guestCfg(v.device()) + 0x42, 2)).hasValue(0xffffL);
        }
    }
}
