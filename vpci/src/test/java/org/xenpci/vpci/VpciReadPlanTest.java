package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Xen;

/**
 * The register table's per-dword read plan (VpciRegisters' fast path for aligned dword reads)
 * against the generic {@code vpci_read} walk (xen/drivers/vpci/vpci.c: vpci_read), which stays
 * the oracle: same value, same handler calls in the same order, same hardware reads.
 */
class VpciReadPlanTest {
    private static final int SPAN = 0x120; // the header, the capability area and a bit of extended space

    @Test
    @DisplayName("the plan picks one handler call for a plain dword register, one pass for registers inside a dword")
    void planKinds() {
        VpciRegisters t = new VpciRegisters();
        t.addRegister(VpciHandlers.HW_READ32, null, 0x00, 4);                    // dword 0: one register
        t.addRegister(VpciHandlers.READ_ZERO, null, 0x04, 2);                    // dword 1: two words
        t.addRegisterMask(VpciHandlers.HW_READ16, null, 0x06, 2, 0, 0, 0, 0x8000);
        t.addRegisterMask(VpciHandlers.READ_ZERO, null, 0x08, 4, 0, 0, 0x0F, 0); // dword 2: reserved bits
        t.addRegister(VpciHandlers.HW_READ8, null, 0x0d, 1);                     // dword 3: a byte, gaps around
        // dword 4: nothing; dword 5: one register again
        t.addRegister(VpciHandlers.READ_ZERO, null, 0x14, 4);
        assertThat(t.planKind(0)).isEqualTo(VpciRegisters.PLAN_SINGLE);
        assertThat(t.planKind(1)).isEqualTo(VpciRegisters.PLAN_CONTAINED);
        assertThat(t.planKind(2)).isEqualTo(VpciRegisters.PLAN_CONTAINED);
        assertThat(t.planKind(3)).isEqualTo(VpciRegisters.PLAN_CONTAINED_GAPS);
        assertThat(t.planKind(4)).isEqualTo(VpciRegisters.PLAN_EMPTY);
        assertThat(t.planKind(5)).isEqualTo(VpciRegisters.PLAN_SINGLE);
        assertThat(t.planKind(6)).as("past the last register").isEqualTo(VpciRegisters.PLAN_EMPTY);
        assertThat(t.removeRegisters(0x04, 4)).isZero();
        assertThat(t.planKind(1)).as("re-planned after a removal").isEqualTo(VpciRegisters.PLAN_EMPTY);
    }

    @Test
    @DisplayName("stock handlers run inline still read live state: a cached value rewritten later, the hardware now")
    void stockHandlersReadLiveState() {
        Xen xen = VpciAssert.xen(VpciAssert.UPSTREAM_VPCI);
        FakeConfig hw = FakeConfig.ramp();
        VpciDevice dev = VpciAssert.bareDevice(VpciAssert.guest(xen), hw);
        VpciHandlers.CachedValue next = new VpciHandlers.CachedValue(0x40);
        dev.registers().addRegister(next, null, 0x34, 1);
        dev.registers().addRegister(VpciHandlers.HW_READ32, null, 0x08, 4);
        dev.registers().addRegister(VpciHandlers.HW_READ16, null, 0x2c, 2);
        next.value(0x50); // as vpci_capability_hide re-points a list pointer
        hw.set(0x08, 4, 0x01080000).set(0x2c, 2, 0x1af4);
        VpciAssert.assertConfigRead(dev, 0x34, 4, 0xFFFFFF50);
        VpciAssert.assertConfigRead(dev, 0x08, 4, 0x01080000);
        VpciAssert.assertConfigRead(dev, 0x2c, 4, 0xFFFF1af4);
        VpciAssert.assertConfigRead(dev, 0x34, 1, 0x50);
    }

    @Test
    @DisplayName("seeded random layouts: every (offset, size) read through the plan equals the generic walk, calls included")
    void planAgreesWithWalk() {
        Xen xen = VpciAssert.xen(VpciAssert.UPSTREAM_VPCI);
        int[] kinds = new int[4];
        for (long seed = 1; seed <= 300; seed++) {
            Random rnd = new Random(seed);
            FakeConfig hw = FakeConfig.ramp();
            List<String> calls = new ArrayList<>();
            VpciDevice hwdom = VpciAssert.bareDevice(xen.hardwareDomain(), hw);
            VpciDevice guest = VpciAssert.bareDevice(VpciAssert.guest(xen), hw);
            Layout layout = Layout.random(rnd, calls);
            layout.addTo(hwdom.registers());
            layout.addTo(guest.registers());
            if (rnd.nextInt(4) == 0) { // a removal re-plans the table
                int at = 4 * rnd.nextInt(SPAN / 4);
                int len = 4 * (1 + rnd.nextInt(4));
                hwdom.registers().removeRegisters(at, len);
                guest.registers().removeRegisters(at, len);
            }
            for (int d = 0; d < SPAN / 4; d++) {
                kinds[hwdom.registers().planKind(d)]++;
            }
            for (VpciDevice dev : new VpciDevice[] {hwdom, guest}) {
                VpciRegisters regs = dev.registers();
                for (int reg = 0; reg < SPAN + 8; reg++) {
                    for (int size = 1; size <= 4; size++) {
                        calls.clear();
                        hw.clearLog();
                        int walked = regs.readWalk(dev, reg, size);
                        List<String> walkCalls = List.copyOf(calls);
                        List<FakeConfig.Access> walkHw = List.copyOf(hw.reads);
                        calls.clear();
                        hw.clearLog();
                        int planned = regs.read(dev, reg, size);
                        String what = String.format("seed %d, %s, %d bytes at 0x%x", seed,
                                dev.hardwareDomainView() ? "hwdom" : "guest", size, reg);
                        assertThat(Integer.toHexString(planned)).as(what).isEqualTo(Integer.toHexString(walked));
                        assertThat(calls).as(what + ": handler calls").isEqualTo(walkCalls);
                        assertThat(hw.reads).as(what + ": hardware reads").isEqualTo(walkHw);
                    }
                }
            }
        }
        for (int k = 0; k < kinds.length; k++) {
            assertThat(kinds[k]).as("dwords planned as kind %d", k).isGreaterThan(50);
        }
    }

    /** Random registers over {@link #SPAN}: natural alignment, sizes 1/2/4, gaps, random disjoint masks and handlers. */
    private record Layout(List<int[]> regs, List<ReadHandler> reads) {
        static Layout random(Random rnd, List<String> calls) {
            List<int[]> regs = new ArrayList<>();
            List<ReadHandler> reads = new ArrayList<>();
            int at = 0;
            while (at < SPAN) {
                int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
                if ((at & (size - 1)) != 0 || rnd.nextInt(5) == 0) {
                    at++; // misaligned for this size, or a gap
                    continue;
                }
                int[] masks = new int[4]; // ro, rw1c, rsvdp, rsvdz
                if (rnd.nextInt(3) == 0) {
                    for (int bit = 0; bit < 8 * size; bit++) {
                        int which = rnd.nextInt(8);
                        if (which < 4) {
                            masks[which] |= 1 << bit;
                        }
                    }
                }
                regs.add(new int[] {at, size, masks[0], masks[1], masks[2], masks[3]});
                reads.add(handler(rnd, at, calls));
                at += size;
            }
            return new Layout(regs, reads);
        }

        /** A handler of one of the kinds the table meets; each logs its call. */
        private static ReadHandler handler(Random rnd, int at, List<String> calls) {
            int value = rnd.nextInt(); // may carry bits above the register's size: the table masks them
            switch (rnd.nextInt(12)) {
                case 6:
                    return VpciHandlers.HW_READ8; // stock handlers run inline (any register width)
                case 7:
                    return VpciHandlers.HW_READ16;
                case 8:
                    return VpciHandlers.HW_READ32;
                case 9:
                    return VpciHandlers.READ_ZERO;
                case 10:
                    return VpciHandlers.READ_ONES;
                case 11:
                    return new VpciHandlers.CachedValue(value);
                case 0:
                    return null; // reads all-ones (only with a write handler)
                case 1:
                    return (d, r) -> {
                        calls.add("hw@" + r);
                        return VpciHandlers.HW_READ32.read(d, r);
                    };
                case 2:
                    VpciHandlers.CachedValue cv = new VpciHandlers.CachedValue(value);
                    return (d, r) -> {
                        calls.add("cached@" + r);
                        return cv.read(d, r);
                    };
                default:
                    return (d, r) -> {
                        calls.add("const@" + r + "=" + at);
                        return value;
                    };
            }
        }

        void addTo(VpciRegisters t) {
            for (int i = 0; i < regs.size(); i++) {
                int[] r = regs.get(i);
                int rc = t.addRegisterMask(reads.get(i), VpciHandlers.IGNORE_WRITE, r[0], r[1], r[2], r[3], r[4], r[5]);
                assertThat(rc).isZero();
            }
        }
    }
}
