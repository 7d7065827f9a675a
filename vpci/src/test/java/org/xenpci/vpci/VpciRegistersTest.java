package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.vpci.VpciAssert.assertConfigRead;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenpci.core.Errno;
import org.xenpci.core.Xen;

/** xen/drivers/vpci/vpci.c: vpci_add_register_mask, vpci_read, vpci_write: the register table's validation and merge rules. */
class VpciRegistersTest {
    private static final int EINVAL = Errno.EINVAL.rc();
    private static final int EEXIST = Errno.EEXIST.rc();
    private static final int ERANGE = Errno.ERANGE.rc();

    /** A register whose storage is a mutable cell; records the last value its write got. */
    static final class Cell {
        int value;
        int lastWrite = -1;
        int writes;

        Cell(int v) {
            value = v;
        }

        ReadHandler reader() {
            return (d, r) -> value;
        }

        WriteHandler writer() {
            return (d, r, v) -> {
                lastWrite = v;
                writes++;
                value = v;
                return WriteOutcome.NO_EFFECT;
            };
        }
    }

    private final VpciRegisters t = new VpciRegisters();

    @Nested
    @DisplayName("addRegister / addRegisterMask (vpci_add_register_mask)")
    class Add {
        @ParameterizedTest(name = "size {0} at 0x{1} is rejected with -EINVAL")
        @CsvSource({"0,0", "3,0", "8,0", "2,1", "4,2", "4,4096", "1,4096", "1,-1"})
        void badSizeOrOffset(int size, String offHex) {
            int off = Integer.parseInt(offHex.replace("-", ""), 16) * (offHex.startsWith("-") ? -1 : 1);
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, off, size)).isEqualTo(EINVAL);
            assertThat(t.count()).isZero();
        }

        @Test
        @DisplayName("both callbacks null is -EINVAL")
        void bothNull() {
            assertThat(t.addRegister(null, null, 0x10, 4)).isEqualTo(EINVAL);
        }

        @Test
        @DisplayName("any two masks sharing a bit is -EINVAL, for each of the six pairs")
        void masksDisjoint() {
            ReadHandler r = VpciHandlers.READ_ZERO;
            assertThat(t.addRegisterMask(r, null, 0, 4, 1, 1, 0, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 1, 0, 1, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 1, 0, 0, 1)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 0, 2, 2, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 0, 2, 0, 2)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 0, 0, 4, 4)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 4, 1, 2, 4, 8)).isZero();
        }

        @Test
        @DisplayName("mask bits at or above 8*size are -EINVAL for sizes 1 and 2, but all 32 bits are fine for size 4")
        void maskWidth() {
            ReadHandler r = VpciHandlers.READ_ZERO;
            assertThat(t.addRegisterMask(r, null, 0, 1, 0x100, 0, 0, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 2, 0, 0x10000, 0, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 2, 0, 0, 0, 0x8000_0000)).isEqualTo(EINVAL);
            assertThat(t.addRegisterMask(r, null, 0, 1, 0x80, 0, 0, 0)).isZero();
            assertThat(t.addRegisterMask(r, null, 4, 4, 0x8000_0000, 0x7FFF_FFFF, 0, 0)).isZero();
        }

        @Test
        @DisplayName("overlapping an existing register by one byte is -EEXIST; adjacent is fine")
        void overlap() {
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, 0x10, 4)).isZero();
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, 0x13, 1)).isEqualTo(EEXIST);
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, 0x10, 2)).isEqualTo(EEXIST);
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, 0x0c, 4)).isZero();
            assertThat(t.addRegister(VpciHandlers.READ_ZERO, null, 0x14, 4)).isZero();
            assertThat(t.registers()).extracting(VpciRegister::offset).containsExactly(0x0c, 0x10, 0x14);
        }

        @Test
        @DisplayName("EINVAL takes precedence over EEXIST")
        void precedence() {
            t.addRegister(VpciHandlers.READ_ZERO, null, 0x10, 4);
            assertThat(t.addRegisterMask(VpciHandlers.READ_ZERO, null, 0x10, 2, 0x1_0000, 0, 0, 0)).isEqualTo(EINVAL);
            assertThat(t.addRegister(null, null, 0x10, 4)).isEqualTo(EINVAL);
        }

        @Test
        @DisplayName("getRegister matches offset and size exactly")
        void get() {
            t.addRegister(VpciHandlers.READ_ZERO, null, 0x10, 4);
            assertThat(t.getRegister(0x10, 4)).isNotNull();
            assertThat(t.getRegister(0x10, 2)).isNull();
            assertThat(t.getRegister(0x12, 2)).isNull();
            assertThat(t.getRegister(0x14, 4)).isNull();
        }
    }

    @Nested
    @DisplayName("removeRegisters (vpci_remove_registers)")
    class Remove {
        @BeforeEach
        void fill() {
            t.addRegister(VpciHandlers.READ_ZERO, null, 0x10, 4);
            t.addRegister(VpciHandlers.READ_ZERO, null, 0x14, 2);
            t.addRegister(VpciHandlers.READ_ZERO, null, 0x18, 4);
        }

        @Test
        @DisplayName("removes every register entirely inside the range")
        void contained() {
            assertThat(t.removeRegisters(0x10, 8)).isZero();
            assertThat(t.registers()).extracting(VpciRegister::offset).containsExactly(0x18);
        }

        @Test
        @DisplayName("a partly covered register gives -ERANGE and earlier deletions stay deleted")
        void partial() {
            assertThat(t.removeRegisters(0x10, 0x0a)).isEqualTo(ERANGE);
            assertThat(t.registers()).extracting(VpciRegister::offset).containsExactly(0x18);
        }

        @Test
        @DisplayName("a range starting inside a register gives -ERANGE and removes nothing")
        void partialFirst() {
            assertThat(t.removeRegisters(0x12, 4)).isEqualTo(ERANGE);
            assertThat(t.count()).isEqualTo(3);
        }

        @Test
        @DisplayName("an empty range or one covering nothing returns 0")
        void nothing() {
            assertThat(t.removeRegisters(0x10, 0)).isZero();
            assertThat(t.removeRegisters(0x40, 0x10)).isZero();
            assertThat(t.count()).isEqualTo(3);
        }
    }

    @Nested
    @DisplayName("reads and writes across handlers and gaps (vpci_read, vpci_write)")
    class Access {
        private Xen xen;
        private FakeConfig hw;
        private VpciDevice hwdom;
        private VpciDevice guest;
        private final Cell c12 = new Cell(0xBBCC);
        private final Cell c10 = new Cell(0xAA);

        @BeforeEach
        void setUp() {
            xen = VpciAssert.xen(VpciAssert.UPSTREAM_VPCI);
            hw = FakeConfig.ramp();
            hwdom = VpciAssert.bareDevice(xen.hardwareDomain(), hw);
            guest = VpciAssert.bareDevice(VpciAssert.guest(xen), hw);
            for (VpciDevice d : new VpciDevice[] {hwdom, guest}) {
                VpciRegisters r = d.registers();
                r.addRegister(c10.reader(), c10.writer(), 0x10, 1);
                r.addRegister(c12.reader(), c12.writer(), 0x12, 2);
                r.addRegister((dv, reg) -> 0x11223344, null, 0x14, 4);
                r.addRegister((dv, reg) -> 0xEE, null, 0x20, 1);
                r.addRegister((dv, reg) -> 0xDD, null, 0x27, 1);
                r.addRegister(null, c10.writer(), 0x30, 2);
            }
        }

        @Test
        @DisplayName("hwdom: a dword read merges handlers with a hardware gap byte")
        void hwdomDword() {
            assertConfigRead(hwdom, 0x10, 4, 0xBBCC11AA);
            assertConfigRead(hwdom, 0x14, 4, 0x11223344);
        }

        @Test
        @DisplayName("guest: the same dword read shows all-ones in the gap")
        void guestDword() {
            assertConfigRead(guest, 0x10, 4, 0xBBCCFFAA);
            assertConfigRead(guest, 0x18, 4, 0xFFFFFFFF);
            assertConfigRead(guest, 0x1a, 2, 0xFFFF);
        }

        @Test
        @DisplayName("byte and word reads inside one register are shifted out of it")
        void narrow() {
            assertConfigRead(hwdom, 0x13, 1, 0xBB);
            assertConfigRead(hwdom, 0x15, 1, 0x33);
            assertConfigRead(hwdom, 0x16, 2, 0x1122);
            assertConfigRead(guest, 0x14, 2, 0x3344);
            assertConfigRead(guest, 0x11, 1, 0xFF);
            assertConfigRead(hwdom, 0x11, 1, 0x11);
        }

        @Test
        @DisplayName("hwdom: a 3-byte gap at an odd offset is read as 1+2 bytes")
        void gapOdd() {
            hw.clearLog();
            assertConfigRead(hwdom, 0x20, 4, 0x232221EE);
            assertThat(hw.reads).containsExactly(new FakeConfig.Access(0x21, 1, 0x21), new FakeConfig.Access(0x22, 2, 0x2322));
        }

        @Test
        @DisplayName("hwdom: a 3-byte gap at an even offset is read as 2+1 bytes")
        void gapEven() {
            hw.clearLog();
            assertConfigRead(hwdom, 0x24, 4, 0xDD262524);
            assertThat(hw.reads).containsExactly(new FakeConfig.Access(0x24, 2, 0x2524), new FakeConfig.Access(0x26, 1, 0x26));
        }

        @Test
        @DisplayName("a register without read handler reads all-ones")
        void noReadHandler() {
            assertConfigRead(hwdom, 0x30, 2, 0xFFFF);
            assertConfigRead(hwdom, 0x30, 4, 0x3332FFFF);
            assertConfigRead(guest, 0x30, 4, 0xFFFFFFFF);
        }

        @Test
        @DisplayName("hwdom: a dword write splits into handler writes and a hardware byte write")
        void hwdomWrite() {
            hw.clearLog();
            hwdom.write(null, 0x10, 4, 0x44332211);
            assertThat(c10.lastWrite).isEqualTo(0x11);
            assertThat(c12.lastWrite).isEqualTo(0x4433);
            assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x11, 1, 0x22));
        }

        @Test
        @DisplayName("guest: gap bytes of a write are dropped, handlers still get theirs")
        void guestWrite() {
            hw.clearLog();
            guest.write(null, 0x10, 4, 0x44332211);
            assertThat(c10.lastWrite).isEqualTo(0x11);
            assertThat(c12.lastWrite).isEqualTo(0x4433);
            guest.write(null, 0x18, 4, 0x12345678);
            assertThat(hw.writes).isEmpty();
        }

        @Test
        @DisplayName("a byte write into a word register merges with the current value")
        void partialWrite() {
            hwdom.write(null, 0x13, 1, 0x77);
            assertThat(c12.lastWrite).isEqualTo(0x77CC);
            hwdom.write(null, 0x12, 1, 0x01);
            assertThat(c12.lastWrite).isEqualTo(0x7701);
        }

        @Test
        @DisplayName("hwdom: 3-byte gap writes are split 1+2 at odd and 2+1 at even offsets")
        void gapWrites() {
            hw.clearLog();
            hwdom.write(null, 0x20, 4, 0xA3A2A1A0);
            hwdom.write(null, 0x24, 4, 0xB3B2B1B0);
            assertThat(hw.writes).containsExactly(
                    new FakeConfig.Access(0x21, 1, 0xA1), new FakeConfig.Access(0x22, 2, 0xA3A2),
                    new FakeConfig.Access(0x24, 2, 0xB1B0), new FakeConfig.Access(0x26, 1, 0xB2));
        }

        @Test
        @DisplayName("a register without write handler ignores writes, and nothing reaches hardware")
        void noWriteHandler() {
            hw.clearLog();
            hwdom.write(null, 0x14, 4, 0);
            assertConfigRead(hwdom, 0x14, 4, 0x11223344);
            assertThat(hw.writes).isEmpty();
        }
    }

    @Nested
    @DisplayName("masks (vpci_write_helper)")
    class Masks {
        private VpciDevice dev;

        @BeforeEach
        void setUp() {
            Xen xen = VpciAssert.xen(VpciAssert.UPSTREAM_VPCI);
            dev = VpciAssert.bareDevice(VpciAssert.guest(xen), FakeConfig.ramp());
        }

        @Test
        @DisplayName("RO bits keep their current value on a full-width write")
        void ro() {
            Cell c = new Cell(0x0050);
            dev.registers().addRegisterMask(c.reader(), c.writer(), 0x40, 2, 0x00F0, 0, 0, 0);
            dev.write(null, 0x40, 2, 0xFFFF);
            assertThat(c.lastWrite).isEqualTo(0xFF5F);
            dev.write(null, 0x40, 2, 0x0000);
            assertThat(c.lastWrite).isEqualTo(0x0050);
        }

        @Test
        @DisplayName("RsvdZ bits read as 0 and are always written as 0")
        void rsvdz() {
            Cell c = new Cell(0xFFFF);
            dev.registers().addRegisterMask(c.reader(), c.writer(), 0x40, 2, 0, 0, 0, 0x0F00);
            assertConfigRead(dev, 0x40, 2, 0xF0FF);
            dev.write(null, 0x40, 2, 0xFFFF);
            assertThat(c.lastWrite).isEqualTo(0xF0FF);
        }

        @Test
        @DisplayName("RsvdP bits read as 0 but keep their current value on writes")
        void rsvdp() {
            Cell c = new Cell(0x0300);
            dev.registers().addRegisterMask(c.reader(), c.writer(), 0x40, 2, 0, 0, 0x0F00, 0);
            assertConfigRead(dev, 0x40, 2, 0x0000);
            dev.write(null, 0x40, 2, 0xF0F0);
            assertThat(c.lastWrite).isEqualTo(0xF3F0);
        }

        @Test
        @DisplayName("RW1C: a full write passes the bits as given; a narrow write never sets RW1C bits of other bytes")
        void rw1c() {
            Cell c = new Cell(0xFF00_0000);
            dev.registers().addRegisterMask(c.reader(), c.writer(), 0x40, 4, 0, 0xFF00_0000, 0, 0);
            dev.write(null, 0x40, 4, 0x0100_0000);
            assertThat(c.lastWrite).isEqualTo(0x0100_0000);
            c.value = 0xFF00_0012;
            dev.write(null, 0x40, 1, 0x34);
            assertThat(Integer.toHexString(c.lastWrite)).isEqualTo("34");
            c.value = 0xFF00_0012;
            dev.write(null, 0x43, 1, 0x80);
            assertThat(Integer.toHexString(c.lastWrite)).isEqualTo("80000012");
        }

        @Test
        @DisplayName("with a preserved mask even a full-width write reads the current value, clearing RW1C from it")
        void rw1cWithRo() {
            Cell c = new Cell(0xFF01);
            dev.registers().addRegisterMask(c.reader(), c.writer(), 0x40, 2, 0x0001, 0xFF00, 0, 0);
            dev.write(null, 0x40, 2, 0x0800);
            assertThat(c.lastWrite).isEqualTo(0x0801);
        }
    }
}
