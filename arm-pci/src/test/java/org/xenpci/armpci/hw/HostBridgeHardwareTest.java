package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.EcamAddress;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Host bridge hardware: ECAM, bridge routing and apertures")
class HostBridgeHardwareTest {
    static final long ECAM = 0x40_1000_0000L;
    static final long MEM32 = 0x1000_0000L;
    static final long MEM64 = 0x80_0000_0000L;
    static final long IO_CPU = 0x3eff_0000L;

    static PciFunction endpoint(int vendor, int device) {
        return ConfigImage.endpoint(vendor, device).classCode(0x010802).interruptPin(1)
                .bar(0, BarKind.MEM64, 0x4000, false).bar(2, BarKind.IO, 0x20, false)
                .bar(3, BarKind.MEM32, 0x1000, false).rom(0x800)
                .pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).build().newFunction();
    }

    static PciFunction rootPort() {
        return ConfigImage.bridge(0x1b36, 0x000c).classCode(0x060400)
                .pcie(PciRegs.PCI_EXP_TYPE_ROOT_PORT).build().newFunction();
    }

    static PciFunction pciBridge() {
        return ConfigImage.bridge(0x1b36, 0x0001).classCode(0x060400).build().newFunction();
    }

    /** QEMU virt's high ECAM and windows (QEMU hw/arm/virt.c: create_pcie), bus-range starting at {@code firstBus}. */
    static final class Platform {
        final PhysicalAddressSpace pas = new PhysicalAddressSpace();
        final PciFunction ep0 = endpoint(0x1234, 0x5678);
        final PciFunction rp = rootPort();
        final PciFunction behindRp = endpoint(0x1b36, 0x0010);
        final PciFunction fn0 = ConfigImage.endpoint(0x8086, 0x293e).classCode(0x040300).build().newFunction();
        final PciFunction fn1 = ConfigImage.endpoint(0x1b36, 0x0002).classCode(0x070002).build().newFunction();
        final HostBridgeHardware hb;
        final int first;

        Platform(int firstBus) {
            first = firstBus;
            hb = HostBridgeHardware.builder().name("pcie@10000000").ecam(ECAM, 0x1000_0000L - ((long) firstBus << 20))
                    .firstBus(firstBus)
                    .aperture(IO_CPU, 0, 0x10000, ApertureKind.IO, false)
                    .aperture(MEM32, MEM32, 0x2eff_0000L, ApertureKind.MEM32, false)
                    .aperture(MEM64, MEM64, 0x80_0000_0000L, ApertureKind.MEM64, false)
                    .slot(0, 0, ep0)
                    .bridge(1, 0, rp, PciBus.builder().slot(0, 0, behindRp))
                    .slot(2, 0, fn0).slot(2, 1, fn1)
                    .build();
            hb.attach(pas);
        }

        long cfg(int bus, int dev, int fn, int reg) {
            return ECAM + EcamAddress.offsetOf(bus - first, dev, fn, reg);
        }

        int read(int bus, int dev, int fn, int reg, int size) {
            return (int) pas.read(cfg(bus, dev, fn, reg), size);
        }

        void write(int bus, int dev, int fn, int reg, int size, int value) {
            pas.write(cfg(bus, dev, fn, reg), size, value);
        }

        void busNumbers(int primary, int secondary, int subordinate) {
            write(first, 1, 0, 0x18, 4, primary | secondary << 8 | subordinate << 16);
        }
    }

    @Nested
    @DisplayName("with bus-range starting at 0")
    class BusZero {
        final Platform p = new Platform(0);

        @Test
        @DisplayName("attach registers the ECAM window and each aperture on the address space")
        void regions() {
            assertThat(p.pas.regions()).extracting(PhysicalAddressSpace.Region::name).containsExactly(
                    "pcie@10000000-mem32@0x10000000", "pcie@10000000-io@0x3eff0000",
                    "pcie@10000000-ecam", "pcie@10000000-mem64@0x8000000000");
            assertThat(p.pas.find(ECAM).size()).isEqualTo(0x1000_0000L);
        }

        @Test
        @DisplayName("a dword read at the window base returns 00:00.0's vendor and device")
        void rootBusDevice() {
            assertThat(p.read(0, 0, 0, 0, 4)).isEqualTo(0x56781234);
            assertThat(p.read(0, 0, 0, 0x08, 4)).isEqualTo(0x01080200);
            assertThat(p.read(0, 1, 0, 0x0e, 1)).isEqualTo(0x01);
        }

        @Test
        @DisplayName("an absent device and an absent function of a present device read all-ones; writes vanish")
        void absent() {
            assertThat(p.read(0, 5, 0, 0, 4)).isEqualTo(0xffffffff);
            assertThat(p.read(0, 0, 3, 0, 2)).isEqualTo(0xffff);
            assertThat(p.read(0, 2, 7, 0, 1)).isEqualTo(0xff);
            p.write(0, 5, 0, 0x04, 2, 0x0006);
            assertThat(p.pas.read(ECAM + EcamAddress.offsetOf(0x20, 0, 0, 0), 8)).isEqualTo(-1L);
        }

        @Test
        @DisplayName("a two-function device sets the multi-function bit on function 0 only")
        void multiFunction() {
            assertThat(p.read(0, 2, 0, 0x0c, 4)).isEqualTo(0x00800000);
            assertThat(p.read(0, 2, 1, 0, 4)).isEqualTo(0x00021b36);
            assertThat(p.read(0, 2, 1, 0x0e, 1)).isEqualTo(0x00);
            assertThat(p.hb.rootBus().device(2).isMultiFunction()).isTrue();
            assertThat(p.hb.rootBus().device(0).isMultiFunction()).isFalse();
        }

        @Test
        @DisplayName("bus 1 is unreachable until the root port's bus numbers are programmed")
        void routingNeedsBusNumbers() {
            assertThat(p.read(1, 0, 0, 0, 4)).isEqualTo(0xffffffff);
            p.busNumbers(0, 1, 1);
            assertThat(p.read(0, 1, 0, 0x18, 4)).isEqualTo(0x00010100);
            assertThat(p.read(1, 0, 0, 0, 4)).isEqualTo(0x00101b36);
        }

        @Test
        @DisplayName("a root port forwards type 0 only to device 0 of its secondary bus")
        void downstreamPortDeviceZeroOnly() {
            p.busNumbers(0, 1, 1);
            assertThat(p.read(1, 1, 0, 0, 4)).isEqualTo(0xffffffff);
            assertThat(p.read(1, 0, 1, 0, 4)).isEqualTo(0xffffffff);
        }

        @Test
        @DisplayName("reprogramming secondary/subordinate moves the subtree to the new bus")
        void subtreeMoves() {
            p.busNumbers(0, 1, 1);
            p.busNumbers(0, 5, 7);
            assertThat(p.read(1, 0, 0, 0, 4)).isEqualTo(0xffffffff);
            assertThat(p.read(5, 0, 0, 0, 4)).isEqualTo(0x00101b36);
            assertThat(p.read(6, 0, 0, 0, 4)).as("bus 6 is in range but has nothing").isEqualTo(0xffffffff);
            // The moved function keeps its config state.
            p.write(5, 0, 0, 0x3c, 1, 0x2a);
            p.busNumbers(0, 9, 9);
            assertThat(p.read(9, 0, 0, 0x3c, 1)).isEqualTo(0x2a);
        }

        @Test
        @DisplayName("8-byte ECAM reads split into two dwords; dword-crossing accesses split into bytes")
        void accessWidths() {
            assertThat(p.pas.read(p.cfg(0, 0, 0, 0), 8)).isEqualTo(0x00100000_56781234L);
            assertThat(p.read(0, 0, 0, 0x01, 2)).as("unaligned inside the dword").isEqualTo(0x7812);
            assertThat(p.read(0, 0, 0, 0x02, 4)).as("crosses 0x04: bytes 02..05").isEqualTo(0x00005678);
            p.write(0, 0, 0, 0x3b, 2, 0x55aa);
            assertThat(p.read(0, 0, 0, 0x3c, 1)).as("the second byte landed in INTERRUPT_LINE").isEqualTo(0x55);
            assertThat(p.pas.read(p.cfg(0, 0, 0, 0xffe), 4)).as("last two bytes belong to 00:00.1 (absent)")
                    .isEqualTo(0xffff0000L);
            MmioDevice window = p.hb.ecamWindow();
            assertThat(window.read(0, 3)).isEqualTo(0xffffffL);
            window.write(0, 3, 0);
        }

        @Test
        @DisplayName("nested bridges: a config to bus 2 crosses the root port as type 1, then the PCI bridge as type 0")
        void nestedBridges() {
            PciFunction inner = pciBridge();
            PciFunction leaf = endpoint(0xaaaa, 0xbbbb);
            PciFunction outer = rootPort();
            HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0x3f00_0000L, 0x100_0000L)
                    .bridge(0, 0, outer, PciBus.builder().bridge(0, 0, inner, PciBus.builder().slot(3, 0, leaf)))
                    .build();
            hb.configWrite(0, 0, 0, 0x18, 4, 0x00030100);
            hb.configWrite(1, 0, 0, 0x18, 4, 0x00020201);
            assertThat(hb.configRead(2, 3, 0, 0, 4)).isEqualTo(0xbbbbaaaa);
            assertThat(hb.functionAt(2, 3, 0)).isSameAs(leaf);
            hb.configWrite(0, 0, 0, 0x1a, 1, 0x01);
            assertThat(hb.configRead(2, 3, 0, 0, 4)).as("subordinate 1 no longer covers bus 2").isEqualTo(0xffffffff);
        }
    }

    @Nested
    @DisplayName("with bus-range starting at 0x10")
    class BusSixteen {
        final Platform p = new Platform(0x10);

        @Test
        @DisplayName("ECAM offset 0 is bus 0x10, the root bus")
        void offsetZeroIsFirstBus() {
            assertThat(p.pas.read(ECAM, 4)).isEqualTo(0x56781234L);
            assertThat(p.hb.lastBus()).isEqualTo(0xff);
            assertThat(p.hb.functionAt(0, 0, 0)).isNull();
            assertThat(p.hb.functionAt(0x10, 0, 0)).isSameAs(p.ep0);
        }

        @Test
        @DisplayName("a root port with secondary 0x11 shows its device at ECAM offset 1 MiB")
        void secondaryAtOneMiB() {
            p.busNumbers(0x10, 0x11, 0x11);
            assertThat(p.pas.read(ECAM + 0x10_0000L, 4)).isEqualTo(0x00101b36L);
            assertThat(p.pas.read(ECAM + 0x20_0000L, 4)).isEqualTo(0xffffffffL);
        }
    }

    @Nested
    @DisplayName("BAR memory through apertures")
    class Memory {
        final Platform p = new Platform(0);

        @Test
        @DisplayName("a root-bus BAR answers only with COMMAND.MEMORY and only at its programmed address")
        void decodeGate() {
            p.write(0, 0, 0, 0x10, 4, 0x1004_0000);
            p.write(0, 0, 0, 0x14, 4, 0);
            assertThat(p.pas.read(MEM32 + 0x4_0010L, 4)).isEqualTo(0xffffffffL);
            p.pas.write(MEM32 + 0x4_0010L, 4, 0x1111_2222L);
            assertThat(p.ep0.memory(0).read(0x10, 4)).as("write before decode dropped").isZero();
            p.write(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            p.pas.write(MEM32 + 0x4_0010L, 4, 0xdead_beefL);
            assertThat(p.pas.read(MEM32 + 0x4_0010L, 4)).isEqualTo(0xdead_beefL);
            assertThat(p.ep0.memory(0).read(0x10, 4)).isEqualTo(0xdead_beefL);
            assertThat(p.pas.read(MEM32 + 0x4_4000L, 4)).as("past the 16 KiB BAR").isEqualTo(0xffffffffL);
            p.write(0, 0, 0, 0x10, 4, 0x1008_0000);
            assertThat(p.pas.read(MEM32 + 0x4_0010L, 4)).as("old address after the move").isEqualTo(0xffffffffL);
            assertThat(p.pas.read(MEM32 + 0x8_0010L, 4)).isEqualTo(0xdead_beefL);
        }

        @Test
        @DisplayName("an I/O BAR answers through the I/O aperture only with COMMAND.IO")
        void ioBar() {
            p.write(0, 0, 0, 0x18, 4, 0x1000);
            p.write(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(p.pas.read(IO_CPU + 0x1004, 2)).isEqualTo(0xffffL);
            p.write(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_IO);
            p.pas.write(IO_CPU + 0x1004, 2, 0xabcd);
            assertThat(p.pas.read(IO_CPU + 0x1004, 2)).isEqualTo(0xabcdL);
            assertThat(p.pas.read(MEM32 + 0x1004, 2)).as("memory space does not reach the I/O BAR").isEqualTo(0xffffL);
        }

        @Test
        @DisplayName("the ROM answers only with its enable bit and COMMAND.MEMORY")
        void romNeedsBoth() {
            p.ep0.memory(BarSpec.ROM_INDEX).write(0, 2, 0xaa55);
            p.write(0, 0, 0, 0x30, 4, 0x2000_0000);
            p.write(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(p.pas.read(0x2000_0000L, 2)).isEqualTo(0xffffL);
            p.write(0, 0, 0, 0x30, 4, 0x2000_0001);
            assertThat(p.pas.read(0x2000_0000L, 2)).isEqualTo(0xaa55L);
            p.write(0, 0, 0, 0x04, 2, 0);
            assertThat(p.pas.read(0x2000_0000L, 2)).isEqualTo(0xffffL);
        }

        @Test
        @DisplayName("a device behind a root port is reached only through the port's enabled memory window")
        void throughRootPortWindow() {
            p.busNumbers(0, 1, 1);
            p.write(1, 0, 0, 0x10, 4, 0x1010_0000);
            p.write(1, 0, 0, 0x14, 4, 0);
            p.write(1, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            p.behindRp.memory(0).write(0x2000, 4, 0x0000_c0de);
            assertThat(p.pas.read(MEM32 + 0x10_2000L, 4)).as("no window yet").isEqualTo(0xffffffffL);
            p.write(0, 1, 0, 0x20, 4, 0x1010_1010); // memory base = limit = 0x101xxxxx
            assertThat(p.pas.read(MEM32 + 0x10_2000L, 4)).as("window set, port decode off").isEqualTo(0xffffffffL);
            p.write(0, 1, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(p.pas.read(MEM32 + 0x10_2000L, 4)).isEqualTo(0xc0deL);
            assertThat(p.hb.memoryTarget(0x1010_2000L, false)).isSameAs(p.behindRp);
            p.write(0, 1, 0, 0x20, 4, 0x1020_1020);
            assertThat(p.pas.read(MEM32 + 0x10_2000L, 4)).as("window moved away").isEqualTo(0xffffffffL);
        }

        @Test
        @DisplayName("a prefetchable 64-bit window forwards a BAR above 4 GiB behind the port")
        void prefetchWindow() {
            PciFunction gpu = ConfigImage.endpoint(0x1af4, 0x1110).classCode(0x050000)
                    .bar(2, BarKind.MEM64, 8L << 30, true).build().newFunction();
            PciFunction port = rootPort();
            PhysicalAddressSpace pas = new PhysicalAddressSpace();
            HostBridgeHardware hb = HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L)
                    .aperture(MEM64, MEM64, 0x80_0000_0000L, ApertureKind.MEM64, true)
                    .bridge(0, 0, port, PciBus.builder().slot(0, 0, gpu)).build();
            hb.attach(pas);
            hb.configWrite(0, 0, 0, 0x18, 4, 0x00010100);
            hb.configWrite(1, 0, 0, 0x18, 4, 0x00000000);
            hb.configWrite(1, 0, 0, 0x1c, 4, 0x00000082); // 0x82_0000_0000
            hb.configWrite(1, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            hb.configWrite(0, 0, 0, 0x24, 4, 0xfff1_0001); // pref base 0x..0000_0000, limit 0x..fff0_0000
            hb.configWrite(0, 0, 0, 0x28, 4, 0x82);
            hb.configWrite(0, 0, 0, 0x2c, 4, 0x83);
            hb.configWrite(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            pas.write(0x83_ffff_fff8L, 8, 0x0123_4567_89ab_cdefL);
            assertThat(gpu.memory(2).read(0x1_ffff_fff8L, 8)).isEqualTo(0x0123_4567_89ab_cdefL);
            assertThat(pas.read(0x83_ffff_fff8L, 8)).isEqualTo(0x0123_4567_89ab_cdefL);
            assertThat(pas.read(0x84_0000_0000L, 4)).isEqualTo(0xffffffffL);
        }

        @Test
        @DisplayName("an overlay inside a BAR serves its range; the rest stays plain memory")
        void overlay() {
            MmioDevice regs = new MmioDevice() {
                @Override
                public long read(long offset, int size) {
                    return 0x5000 + offset;
                }

                @Override
                public void write(long offset, int size, long value) {
                }
            };
            p.ep0.overlay(0, 0x2000, 0x1000, regs);
            p.write(0, 0, 0, 0x10, 4, 0x1004_0000);
            p.write(0, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
            assertThat(p.pas.read(MEM32 + 0x4_2010L, 4)).isEqualTo(0x5010L);
            p.pas.write(MEM32 + 0x4_2010L, 4, 1);
            assertThat(p.ep0.memory(0).read(0x2010, 4)).isZero();
            assertThat(p.pas.read(MEM32 + 0x4_1ffcL, 8)).as("runs into the overlay: plain memory serves the first byte")
                    .isZero();
            assertThatThrownBy(() -> p.ep0.overlay(0, 0x2800, 0x1000, regs)).isInstanceOf(HardwareConfigException.class)
                    .hasMessageContaining("overlaps 0x2000+0x1000");
            assertThatThrownBy(() -> p.ep0.overlay(1, 0, 0x10, regs)).hasMessageContaining("BAR 1: BAR not implemented");
            assertThatThrownBy(() -> p.ep0.overlay(0, 0x3800, 0x1000, regs)).hasMessageContaining("outside BAR 0");
        }
    }

    @Test
    @DisplayName("topology mistakes are typed errors naming the slot")
    void builderErrors() {
        PciFunction a = endpoint(1, 2);
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L).slot(0, 0, a).slot(0, 0, endpoint(1, 3)))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("slot 0x0.0 already holds");
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L).slot(3, 1, endpoint(1, 2)).build())
                .isInstanceOf(HardwareConfigException.class).hasMessage("device 0x3 has functions but no function 0");
        assertThatThrownBy(() -> HostBridgeHardware.builder().bridge(0, 0, endpoint(1, 2), PciBus.builder()))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("is not a type 1 bridge");
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(ECAM + 0x1000, 0x100000))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("1 MiB aligned");
        HostBridgeHardware.builder().ecam(ECAM, 0x100000).slot(0, 0, a).build();
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(ECAM, 0x100000).slot(0, 0, a).build())
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("already placed");
    }
}
