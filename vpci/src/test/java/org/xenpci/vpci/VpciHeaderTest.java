package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.vpci.VpciAssert.assertConfigRead;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.P2m;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.pci.Sbdf;

/** xen/drivers/vpci/header.c: header init, BAR registers, COMMAND, modify_bars and the p2m. */
class VpciHeaderTest {
    private static final Sbdf DEV_A = Sbdf.of(1, 0, 0);
    private static final Sbdf DEV_B = Sbdf.of(2, 0, 0);

    private Xen xen;
    private Vpci vpci;
    private Domain dom0;
    private Domain domU;

    /**
     * Type-0 endpoint 1234:5678: BAR0 MEM32 0xE0000000/16 KiB, BAR1-2 MEM64 prefetchable
     * 0x8_0000_0000/1 MiB, BAR3 IO 0x1000/256, BAR4-5 unimplemented, ROM 0xE0100000/64 KiB off;
     * COMMAND = IO|MEMORY|MASTER|PARITY|SERR.
     */
    static FakeConfig endpoint() {
        FakeConfig f = new FakeConfig();
        f.set(0x00, 4, 0x56781234).mask(0x00, 4, 0);
        f.set(0x04, 2, 0x0147);
        f.set(0x08, 4, 0x02000001).mask(0x08, 4, 0);
        f.set(0x0e, 1, 0x00).mask(0x0e, 1, 0);
        f.bar32(0, 0xE0000000, 0x4000, 0);
        f.bar64(1, 0x8_0000_0000L, 0x100000, 0x8);
        f.barIo(3, 0x1000, 0x100);
        f.barNone(4).barNone(5);
        f.rom(0x30, 0xE0100000, 0x10000, false);
        return f;
    }

    @BeforeEach
    void setUp() {
        xen = VpciAssert.xen(VpciAssert.UPSTREAM_VPCI);
        vpci = new Vpci(xen, List.of(), Vpci.Passthrough.NONE);
        dom0 = xen.hardwareDomain();
        domU = VpciAssert.guest(xen);
    }

    private VpciDevice attach(Domain d, FakeConfig hw, Sbdf sbdf) {
        int rc = vpci.assignDevice(d, VpciDeviceSpec.of(sbdf, hw), d.vcpu(0));
        assertThat(rc).isZero();
        d.vcpu(0).processPendingWork();
        return vpci.device(d, sbdf);
    }

    private static P2m.DirectMmio mmio(long gpa, long size, long maddr) {
        return new P2m.DirectMmio(gpa, size, maddr);
    }

    @Test
    @DisplayName("only memory BARs and the ROM have objects of their own; MEM64_HI, IO and empty slots are shared, equal in index and type")
    void unimplementedSlotsAreShared() {
        VpciHeader a = attach(dom0, endpoint(), DEV_A).header();
        VpciHeader b = attach(dom0, endpoint(), DEV_B).header();
        for (int i : new int[] {0, 1, 6}) {
            assertThat(a.bar(i)).as("slot %d", i).isNotSameAs(b.bar(i));
        }
        for (int i : new int[] {2, 3, 4, 5}) {
            assertThat(a.bar(i)).as("slot %d", i).isSameAs(b.bar(i));
            assertThat(a.bar(i).index()).isEqualTo(i);
            assertThat(a.bar(i).size()).isZero();
            assertThat(a.bar(i).enabled()).isFalse();
        }
        assertThat(a.bar(2).type()).isEqualTo(VpciBar.Type.MEM64_HI);
        assertThat(a.bar(3).type()).isEqualTo(VpciBar.Type.IO);
        assertThat(a.bar(4).type()).isEqualTo(VpciBar.Type.EMPTY);
        assertThat(a.bar(6).type()).isEqualTo(VpciBar.Type.ROM);
        assertThat(a.bar(0).enabled()).as("decoding was on: A's own BAR0 mapped").isTrue();
    }

    @Test
    @DisplayName("hwdom init sizes every BAR, restores them, registers the ROM and maps the enabled BARs 1:1")
    void hwdomInit() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(dom0, hw, DEV_A);
        VpciHeader h = dev.header();
        assertThat(h.numBars()).isEqualTo(6);
        assertThat(h.bar(0).type()).isEqualTo(VpciBar.Type.MEM32);
        assertThat(h.bar(0).size()).isEqualTo(0x4000);
        assertThat(h.bar(1).type()).isEqualTo(VpciBar.Type.MEM64_LO);
        assertThat(h.bar(1).addr()).isEqualTo(0x8_0000_0000L);
        assertThat(h.bar(1).size()).isEqualTo(0x100000);
        assertThat(h.bar(1).prefetchable()).isTrue();
        assertThat(h.bar(2).type()).isEqualTo(VpciBar.Type.MEM64_HI);
        assertThat(h.bar(3).type()).isEqualTo(VpciBar.Type.IO);
        assertThat(h.bar(4).type()).isEqualTo(VpciBar.Type.EMPTY);
        assertThat(h.bar(6).type()).isEqualTo(VpciBar.Type.ROM);
        assertThat(h.bar(6).addr()).isEqualTo(0xE0100000L);
        assertThat(h.bar(6).size()).isEqualTo(0x10000);
        assertThat(h.romEnabled()).isFalse();
        assertThat(hw.get(0x10, 4)).isEqualTo(0xE0000000);
        assertThat(hw.get(0x14, 4)).isEqualTo(0x0000000C);
        assertThat(hw.get(0x18, 4)).isEqualTo(0x8);
        assertThat(dom0.p2m().mmioMappings()).containsExactly(
                mmio(0xE0000000L, 0x4000, 0xE0000000L), mmio(0x8_0000_0000L, 0x100000, 0x8_0000_0000L));
        assertThat(h.barsMapped()).isTrue();
        assertThat(h.bar(6).enabled()).isFalse();
        // COMMAND: MEMORY off before sizing, back on only after the p2m work.
        assertThat(hw.writes.get(0)).isEqualTo(new FakeConfig.Access(0x04, 2, 0x0145));
        assertThat(hw.writes.get(hw.writes.size() - 1)).isEqualTo(new FakeConfig.Access(0x04, 2, 0x0147));
        assertConfigRead(dev, 0x04, 2, 0x0147);
        assertConfigRead(dev, 0x00, 4, 0x56781234);
    }

    @Test
    @DisplayName("while Xen boots, hwdom BARs are mapped before assignDevice returns (no deferral)")
    void bootMapsImmediately() {
        FakeConfig hw = endpoint();
        List<Integer> rcs = new ArrayList<>();
        List<Integer> mappingsAtAttach = new ArrayList<>();
        Xen booting = Xen.builder().profile(VpciAssert.UPSTREAM_VPCI)
                .hardware(VpciAssert.hardware())
                .extension(new XenExtension() {
                    @Override
                    public void domainCreated(Domain d) {
                        if (d.isHardwareDomain()) {
                            Vpci v = new Vpci(d.xen(), List.of(), Vpci.Passthrough.NONE);
                            rcs.add(v.assignDevice(d, VpciDeviceSpec.of(DEV_A, hw), d.vcpu(0)));
                            mappingsAtAttach.add(d.p2m().mmioMappings().size());
                            assertThat(d.vcpu(0).hasPendingWork()).isFalse();
                        }
                    }
                }).build();
        assertThat(rcs).containsExactly(0);
        assertThat(mappingsAtAttach).containsExactly(2);
        assertThat(booting.hardwareDomain().p2m().mmioMappings()).hasSize(2);
    }

    @Test
    @DisplayName("guest init: COMMAND cleared in hardware, BARs show host addresses, IO/empty/ROM read 0, IDs read all-ones")
    void guestInit() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(domU, hw, DEV_A);
        assertThat(dev.header().guestCmd()).isEqualTo(0x0140);
        assertThat(hw.writes.get(0)).isEqualTo(new FakeConfig.Access(0x04, 2, 0x0140));
        assertThat(hw.get(0x04, 2)).isEqualTo(0x0140);
        assertConfigRead(dev, 0x04, 2, 0x0000);
        assertConfigRead(dev, 0x10, 4, 0xE0000000);
        assertConfigRead(dev, 0x14, 4, 0x0000000C);
        assertConfigRead(dev, 0x18, 4, 0x00000008);
        assertConfigRead(dev, 0x1c, 4, 0);
        assertConfigRead(dev, 0x20, 4, 0);
        assertConfigRead(dev, 0x24, 4, 0);
        assertConfigRead(dev, 0x30, 4, 0);
        assertConfigRead(dev, 0x00, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x08, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x2c, 4, 0xFFFFFFFF);
        assertThat(dev.header().bar(6).type()).isEqualTo(VpciBar.Type.EMPTY);
        assertThat(domU.p2m().mmioMappings()).isEmpty();
        assertThat(dev.guestSbdfRecord()).isEqualTo(new Sbdf(0, 0, 0, 0));
    }

    @Test
    @DisplayName("guest sizing a 32-bit BAR of 16 KiB reads back 0xFFFFC000, and hardware is never written")
    void guestSizing32() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(domU, hw, DEV_A);
        hw.clearLog();
        dev.write(domU.vcpu(0), 0x10, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x10, 4, 0xFFFFC000);
        dev.write(domU.vcpu(0), 0x10, 4, 0x23000000);
        assertConfigRead(dev, 0x10, 4, 0x23000000);
        assertThat(hw.writes).isEmpty();
    }

    @Test
    @DisplayName("guest sizing a 64-bit 1 MiB BAR reads ~(size-1) split across both halves, with type and prefetch bits")
    void guestSizing64() {
        VpciDevice dev = attach(domU, endpoint(), DEV_A);
        dev.write(domU.vcpu(0), 0x14, 4, 0xFFFFFFFF);
        dev.write(domU.vcpu(0), 0x18, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x14, 4, 0xFFF0000C);
        assertConfigRead(dev, 0x18, 4, 0xFFFFFFFF);
        dev.write(domU.vcpu(0), 0x18, 4, 0x1);
        dev.write(domU.vcpu(0), 0x14, 4, 0x0);
        assertThat(dev.header().bar(1).guestAddr()).isEqualTo(0x1_0000_0000L);
    }

    @Test
    @DisplayName("guest MEMORY on maps guest BARs onto host BARs after the vCPU's deferred work; hardware COMMAND follows")
    void guestMap() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(domU, hw, DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000000);
        dev.write(v, 0x14, 4, 0x0);
        dev.write(v, 0x18, 4, 0x1);
        hw.clearLog();
        WriteOutcome o = dev.write(v, 0x04, 2, 0x0002);
        assertThat(o).isInstanceOf(WriteOutcome.DecodingChanged.class);
        assertThat(((WriteOutcome.DecodingChanged) o).plan().ranges()).containsExactly(
                new MapPlan.Range(0, 0x23000, 4, 0xE0000), new MapPlan.Range(1, 0x100000, 0x100, 0x800000));
        assertThat(v.hasPendingWork()).isTrue();
        assertThat(domU.p2m().mmioMappings()).isEmpty();
        assertThat(hw.writes).isEmpty();
        assertConfigRead(dev, 0x04, 2, 0x0002);
        v.processPendingWork();
        assertThat(domU.p2m().mmioMappings()).containsExactly(
                mmio(0x23000000L, 0x4000, 0xE0000000L), mmio(0x1_0000_0000L, 0x100000, 0x8_0000_0000L));
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x04, 2, 0x0142));
        assertThat(dev.header().bar(0).enabled()).isTrue();
        assertThat(dev.header().barsMapped()).isTrue();
    }

    @Test
    @DisplayName("guest BAR writes are ignored while the BAR is mapped, and accepted again after decoding is off")
    void barWriteWhileMapped() {
        VpciDevice dev = attach(domU, endpoint(), DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000000);
        dev.write(v, 0x04, 2, 0x0002);
        v.processPendingWork();
        dev.write(v, 0x10, 4, 0x24000000);
        assertConfigRead(dev, 0x10, 4, 0x23000000);
        dev.write(v, 0x04, 2, 0x0000);
        v.processPendingWork();
        dev.write(v, 0x10, 4, 0x24000000);
        assertConfigRead(dev, 0x10, 4, 0x24000000);
    }

    @Test
    @DisplayName("MEMORY off unmaps every BAR and writes COMMAND without MEMORY")
    void guestUnmap() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(domU, hw, DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000000);
        dev.write(v, 0x14, 4, 0x0);
        dev.write(v, 0x18, 4, 0x1);
        dev.write(v, 0x04, 2, 0x0006);
        v.processPendingWork();
        dev.write(v, 0x04, 2, 0x0004);
        v.processPendingWork();
        assertThat(domU.p2m().mmioMappings()).isEmpty();
        assertThat(hw.get(0x04, 2)).isEqualTo(0x0144);
        assertThat(dev.header().bar(0).enabled()).isFalse();
        assertThat(dev.header().barsMapped()).isFalse();
    }

    @Test
    @DisplayName("a guest address with a different page offset than the host BAR makes modify_bars fail with -EINVAL")
    void pageOffsetMismatch() {
        FakeConfig hw = endpoint();
        hw.bar32(0, 0xE0000100, 0x100, 0);
        VpciDevice dev = attach(domU, hw, DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000200);
        hw.clearLog();
        WriteOutcome o = dev.write(v, 0x04, 2, 0x0002);
        assertThat(o).isEqualTo(new WriteOutcome.DecodingRefused(Errno.EINVAL.rc()));
        v.processPendingWork();
        assertThat(hw.writes).isEmpty();
        assertThat(domU.p2m().mmioMappings()).isEmpty();
        assertConfigRead(dev, 0x04, 2, 0x0002);
    }

    @Test
    @DisplayName("frames already mapped by another device of the domain are neither mapped again nor unmapped")
    void overlapBetweenDevices() {
        FakeConfig hwA = endpoint();
        FakeConfig hwB = endpoint();
        hwB.bar32(0, 0xE1000000, 0x4000, 0);
        hwB.bar64(1, 0x9_0000_0000L, 0x100000, 0x8);
        VpciDevice a = attach(domU, hwA, DEV_A);
        VpciDevice b = attach(domU, hwB, DEV_B);
        assertThat(b.guestSbdfRecord()).isEqualTo(new Sbdf(0, 0, 1, 0));
        Vcpu v = domU.vcpu(0);
        // A: BAR0 at guest 0x23000000 (16 KiB), BAR1 at guest 0x1_0000_0000 (1 MiB), mapped.
        a.write(v, 0x10, 4, 0x23000000);
        a.write(v, 0x14, 4, 0x0);
        a.write(v, 0x18, 4, 0x1);
        a.write(v, 0x04, 2, 0x0002);
        v.processPendingWork();
        // B: BAR0 next to A's at 0x23004000, BAR1 at the SAME guest range as A's BAR1.
        b.write(v, 0x10, 4, 0x23004000);
        b.write(v, 0x14, 4, 0x0);
        b.write(v, 0x18, 4, 0x1);
        WriteOutcome o = b.write(v, 0x04, 2, 0x0002);
        assertThat(((WriteOutcome.DecodingChanged) o).plan().ranges()).containsExactly(
                new MapPlan.Range(0, 0x23004, 4, 0xE1000));
        v.processPendingWork();
        assertThat(domU.p2m().mmioMappings()).containsExactly(
                mmio(0x23000000L, 0x4000, 0xE0000000L), mmio(0x23004000L, 0x4000, 0xE1000000L),
                mmio(0x1_0000_0000L, 0x100000, 0x8_0000_0000L));
        assertThat(b.header().bar(1).enabled()).isTrue();
        // Turning B off must not unmap A's frames that B's 64-bit BAR shadows.
        o = b.write(v, 0x04, 2, 0x0000);
        assertThat(((WriteOutcome.DecodingChanged) o).plan().ranges()).containsExactly(
                new MapPlan.Range(0, 0x23004, 4, 0xE1000));
        v.processPendingWork();
        assertThat(domU.p2m().mmioMappings()).containsExactly(
                mmio(0x23000000L, 0x4000, 0xE0000000L), mmio(0x1_0000_0000L, 0x100000, 0x8_0000_0000L));
    }

    @Test
    @DisplayName("BARs of one device that overlap are mapped once, the later BAR winning")
    void overlapWithinDevice() {
        FakeConfig hw = endpoint();
        hw.bar32(4, 0xE0200000, 0x2000, 0);
        VpciDevice dev = attach(domU, hw, DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000000);
        dev.write(v, 0x20, 4, 0x23002000);
        dev.write(v, 0x14, 4, 0x0);
        dev.write(v, 0x18, 4, 0x1);
        WriteOutcome o = dev.write(v, 0x04, 2, 0x0002);
        assertThat(((WriteOutcome.DecodingChanged) o).plan().ranges()).containsExactly(
                new MapPlan.Range(0, 0x23000, 2, 0xE0000),
                new MapPlan.Range(1, 0x100000, 0x100, 0x800000),
                new MapPlan.Range(4, 0x23002, 2, 0xE0200));
    }

    @Test
    @DisplayName("a BAR failing pci_check_bar is skipped: not mapped and not marked enabled")
    void checkBarHook() {
        FakeConfig hw = endpoint();
        PciCheckBar onlyBar0 = (sbdf, s, e) -> s == 0xE0000;
        assertThat(vpci.assignDevice(domU, VpciDeviceSpec.of(DEV_A, hw).withCheckBar(onlyBar0), null)).isZero();
        VpciDevice dev = vpci.device(domU, DEV_A);
        dev.write(domU.vcpu(0), 0x04, 2, 0x0002);
        domU.vcpu(0).processPendingWork();
        assertThat(domU.p2m().mmioMappings()).containsExactly(mmio(0xE0000000L, 0x4000, 0xE0000000L));
        assertThat(dev.header().bar(1).enabled()).isFalse();
        assertThat(dev.header().barsMapped()).isTrue();
    }

    @Test
    @DisplayName("a p2m failure rolls back, turns decoding off and crashes the domU")
    void mapFailureCrashesGuest() {
        FakeConfig hw = endpoint();
        domU.p2m().addRam(0x4000_0000L, new SparseMemory(0x10_0000));
        VpciDevice dev = attach(domU, hw, DEV_A);
        Vcpu v = domU.vcpu(0);
        dev.write(v, 0x10, 4, 0x23000000);
        dev.write(v, 0x14, 4, 0x40000000);
        dev.write(v, 0x18, 4, 0x0);
        dev.write(v, 0x04, 2, 0x0002);
        v.processPendingWork();
        assertThat(domU.p2m().mmioMappings()).isEmpty();
        assertThat(VpciDomain.of(domU).crashed()).isTrue();
        assertThat(dev.header().barsMapped()).isFalse();
        assertThat(dev.header().bar(0).enabled()).isFalse();
        assertThat(hw.get(0x04, 2) & 0x2).isZero();
    }

    @Test
    @DisplayName("hwdom BAR writes update the identity address, keep RO type bits, and are ignored while mapped")
    void hwdomBarWrite() {
        FakeConfig hw = endpoint();
        hw.set(0x04, 2, 0x0000);
        VpciDevice dev = attach(dom0, hw, DEV_A);
        Vcpu v = dom0.vcpu(0);
        hw.clearLog();
        dev.write(v, 0x14, 4, 0xFFFFFFFF);
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x14, 4, 0xFFFFFFFC));
        assertConfigRead(dev, 0x14, 4, 0xFFF0000C);
        dev.write(v, 0x14, 4, 0x00200000);
        dev.write(v, 0x18, 4, 0x00000009);
        assertThat(dev.header().bar(1).addr()).isEqualTo(0x9_0020_0000L);
        assertThat(dev.header().bar(1).guestAddr()).isEqualTo(0x9_0020_0000L);
        dev.write(v, 0x04, 2, 0x0002);
        v.processPendingWork();
        assertThat(dom0.p2m().mmioMappings()).contains(mmio(0x9_0020_0000L, 0x100000, 0x9_0020_0000L));
        hw.clearLog();
        dev.write(v, 0x10, 4, 0xE8000000);
        assertThat(hw.writes).isEmpty();
        assertThat(dev.header().bar(0).addr()).isEqualTo(0xE0000000L);
    }

    @Test
    @DisplayName("hwdom ROM enable while decoding is on maps only the ROM and writes the ROM register afterwards")
    void hwdomRomEnable() {
        FakeConfig hw = endpoint();
        VpciDevice dev = attach(dom0, hw, DEV_A);
        Vcpu v = dom0.vcpu(0);
        hw.clearLog();
        WriteOutcome o = dev.write(v, 0x30, 4, 0xE0100001);
        assertThat(o).isInstanceOf(WriteOutcome.DecodingChanged.class);
        assertThat(((WriteOutcome.DecodingChanged) o).romOnly()).isTrue();
        assertThat(hw.writes).isEmpty();
        v.processPendingWork();
        assertThat(dom0.p2m().mmioMappings()).contains(mmio(0xE0100000L, 0x10000, 0xE0100000L));
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x30, 4, 0xE0100001));
        assertThat(dev.header().romEnabled()).isTrue();
        assertThat(dev.header().bar(6).enabled()).isTrue();
    }

    @Test
    @DisplayName("hwdom ROM write while decoding is off just records it and writes hardware")
    void hwdomRomWriteDecodingOff() {
        FakeConfig hw = endpoint();
        hw.set(0x04, 2, 0);
        VpciDevice dev = attach(dom0, hw, DEV_A);
        hw.clearLog();
        assertThat(dev.write(dom0.vcpu(0), 0x30, 4, 0xE0200001)).isEqualTo(WriteOutcome.NO_EFFECT);
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x30, 4, 0xE0200001));
        assertThat(dev.header().romEnabled()).isTrue();
        assertThat(dev.header().bar(6).addr()).isEqualTo(0xE0200000L);
    }

    @Test
    @DisplayName("a type-1 bridge has 2 BARs and its ROM at 0x38; a guest reads 0x38 as 0 and 0x18/0x30 as all-ones")
    void bridgeHeader() {
        FakeConfig hw = endpoint();
        hw.set(0x0e, 1, 0x01);
        hw.rom(0x38, 0xE0300000, 0x800, false);
        VpciDevice d0 = attach(dom0, hw, DEV_A);
        assertThat(d0.header().numBars()).isEqualTo(2);
        assertThat(d0.header().romReg()).isEqualTo(0x38);
        assertThat(d0.header().bar(2).type()).isEqualTo(VpciBar.Type.ROM);
        // BAR1 is 64-bit in the last slot: treated as size 0, so EMPTY.
        assertThat(d0.header().bar(1).type()).isEqualTo(VpciBar.Type.EMPTY);
        assertThat(d0.header().bar(1).size()).isZero();
        FakeConfig hwG = endpoint();
        hwG.set(0x0e, 1, 0x01);
        VpciDevice g = attach(domU, hwG, DEV_B);
        assertConfigRead(g, 0x38, 4, 0);
        assertConfigRead(g, 0x18, 4, 0xFFFFFFFF);
        assertConfigRead(g, 0x30, 4, 0xFFFFFFFF);
        assertConfigRead(g, 0x14, 4, 0);
    }

    @Test
    @DisplayName("a 64-bit BAR in the last slot is empty and its low register keeps the all-ones pattern")
    void last64BitBar() {
        FakeConfig hw = endpoint();
        hw.bar64(5, 0xF0000000L, 0x1000, 0);
        hw.set(0x28, 4, 0);
        VpciDevice dev = attach(dom0, hw, DEV_A);
        assertThat(dev.header().bar(5).type()).isEqualTo(VpciBar.Type.EMPTY);
        List<FakeConfig.Access> bar5 = hw.writes.stream().filter(a -> a.reg() == 0x24).toList();
        assertThat(bar5).containsExactly(new FakeConfig.Access(0x24, 4, 0xFFFFFFFF));
    }

    @Test
    @DisplayName("header type 2 (CardBus) is refused with -EOPNOTSUPP and leaves no vPCI state")
    void cardbus() {
        FakeConfig hw = endpoint();
        hw.set(0x0e, 1, 0x02);
        assertThat(vpci.assignDevice(domU, VpciDeviceSpec.of(DEV_A, hw), null)).isEqualTo(Errno.EOPNOTSUPP.rc());
        assertThat(vpci.device(domU, DEV_A)).isNull();
        assertThat(VpciDomain.of(domU).topology().assignedMap()).isZero();
    }

    @Test
    @DisplayName("the ignore_bars quirk registers COMMAND only and leaves guest_cmd at 0")
    void ignoreBars() {
        FakeConfig hw = endpoint();
        assertThat(vpci.assignDevice(domU, VpciDeviceSpec.of(DEV_A, hw).withIgnoreBars(true), null)).isZero();
        VpciDevice dev = vpci.device(domU, DEV_A);
        assertThat(dev.header().guestCmd()).isZero();
        assertConfigRead(dev, 0x10, 4, 0xFFFFFFFF);
        assertThat(dev.registers().getRegister(0x04, 2)).isNotNull();
    }

    @Test
    @DisplayName("a domU COMMAND write forces INTX_DISABLE while an emulator reports MSI enabled")
    void intxForcedWithMsi() {
        CapabilityEmulator msiOn = new CapabilityEmulator() {
            public int capId() {
                return 0x05;
            }

            public boolean isExtended() {
                return false;
            }

            public int init(VpciDevice dev) {
                return 0;
            }

            public int cleanup(VpciDevice dev, boolean hide) {
                return 0;
            }

            @Override
            public boolean messagesEnabled(VpciDevice dev) {
                return true;
            }
        };
        Vpci withMsi = new Vpci(xen, List.of(msiOn), Vpci.Passthrough.NONE);
        FakeConfig hw = endpoint();
        assertThat(withMsi.assignDevice(domU, VpciDeviceSpec.of(DEV_A, hw), null)).isZero();
        VpciDevice dev = withMsi.device(domU, DEV_A);
        dev.write(domU.vcpu(0), 0x04, 2, 0x0004);
        assertThat(dev.header().guestCmd()).isEqualTo(0x0544);
        assertThat(hw.get(0x04, 2)).isEqualTo(0x0544);
    }
}
