package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.lang.reflect.Method;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Extension points: capability behaviour, tags, overlays")
class ExtensionPointsTest {

    @Test
    @DisplayName("capabilities are read-only until a behaviour declares fields relative to the capability")
    void capabilityBehaviour() {
        ConfigImage img = DeviceCatalog.QEMU_NVME.image();
        PciFunction f = PciFunction.fromConfig(img.bytes(), img.barSizes(), img.romSize(), false);
        f.config().write(0x42, 2, 0xc000);
        assertThat(f.config().read(0x42, 2)).as("MSI-X control RO by default").isEqualTo(0x0040);
        List<String> changes = new ArrayList<>();
        f.installCapability(PciRegs.PCI_CAP_ID_MSIX, false, (fn, cap, layout) -> {
            assertThat(cap.offset()).isEqualTo(0x40);
            layout.word(PciRegs.PCI_MSIX_FLAGS, "MSIX_FLAGS")
                    .field(14, "MASKALL", AccessMode.RW)
                    .field(15, "ENABLE", AccessMode.RW).onChange((o, n) -> changes.add("enable " + o + "->" + n));
            fn.overlay(0, 0x2000, 65 * 16, new MmioDevice() {
                @Override
                public long read(long offset, int size) {
                    return 0x7ab1e;
                }

                @Override
                public void write(long offset, int size, long value) {
                }
            });
        });
        f.config().write(0x42, 2, 0xc7ff);
        assertThat(f.config().read(0x42, 2)).isEqualTo(0xc040);
        assertThat(changes).containsExactly("enable 0->1");
        assertThat(f.barRead(0, 0x2000, 4)).isEqualTo(0x7ab1eL);
        assertThat(f.barRead(0, 0x3000, 4)).isZero();
        assertThatThrownBy(() -> f.installCapability(PciRegs.PCI_CAP_ID_MSI, false, (a, b, c) -> { }))
                .isInstanceOf(HardwareConfigException.class).hasMessage("capability 0x5 not present");
    }

    @Test
    @DisplayName("a tagged field logs one WARN on the first write that changes it, not on later ones")
    void taggedLogsOnce() {
        Logger logger = (Logger) LoggerFactory.getLogger(ConfigLayout.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            PciFunction br = DeviceCatalog.QEMU_ROOT_PORT.newFunction();
            br.config().write(PciRegs.PCI_BRIDGE_CONTROL, 2, 0x0000);
            assertThat(appender.list).isEmpty();
            br.config().write(PciRegs.PCI_BRIDGE_CONTROL, 2, 0x0040);
            br.config().write(PciRegs.PCI_BRIDGE_CONTROL, 2, 0x0040);
            assertThat(appender.list).hasSize(1);
            assertThat(appender.list.get(0).getFormattedMessage())
                    .isEqualTo("software write to unmodelled config field BRIDGE_CONTROL.SEC_BUS_RESET at 0x3c (value 0x1) ignored");
            assertThat(br.config().read(PciRegs.PCI_BRIDGE_CONTROL, 2)).isZero();
        } finally {
            logger.detachAppender(appender);
        }
    }

    @Test
    @DisplayName("a failed topology build leaves every function unplaced and reusable")
    void noHalfPlacedTopology() {
        PciFunction a = DeviceCatalog.QEMU_NVME.newFunction();
        PciFunction orphan = DeviceCatalog.E1000E.newFunction();
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(0, 0x100000).slot(0, 0, a).slot(5, 2, orphan).build())
                .hasMessage("device 0x5 has functions but no function 0");
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0, 0x100000).slot(0, 0, a).slot(5, 0, orphan).build();
        assertThat(hb.functionAt(0, 5, 0)).isSameAs(orphan);
        assertThatThrownBy(() -> HostBridgeHardware.builder().ecam(0, 0x100000)
                .bridge(0, 0, DeviceCatalog.QEMU_ROOT_PORT.newFunction(), PciBus.builder().slot(0, 0, a)).build())
                .hasMessageContaining("already placed");
    }

    @Test
    @DisplayName("steady-state ECAM config accesses allocate nothing")
    void configPathAllocatesNothing() {
        // Reflection: the test is compiled into the named module, which does not read java.management.
        LongSupplier allocatedBytes = threadAllocationCounter();
        org.junit.jupiter.api.Assumptions.assumeTrue(allocatedBytes != null,
                "SKIPPED: no per-thread allocation counter on this JVM");
        PciFunction ep = DeviceCatalog.QEMU_NVME.newFunction();
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0, 0x1000_0000L)
                .bridge(1, 0, DeviceCatalog.QEMU_ROOT_PORT.newFunction(), PciBus.builder().slot(0, 0, ep)).build();
        MmioDevice ecam = hb.ecamWindow();
        ecam.write(0x8018, 4, 0x00010100);
        long sink = 0;
        for (int i = 0; i < 20_000; i++) {
            sink += access(ecam, i);
        }
        long before = allocatedBytes.getAsLong();
        for (int i = 0; i < 100_000; i++) {
            sink += access(ecam, i);
        }
        long allocated = allocatedBytes.getAsLong() - before;
        assertThat(sink).isNotZero();
        // The counter itself may cost a few bytes; 100k accesses allocating would cost megabytes.
        assertThat(allocated).isLessThan(4096);
    }

    private static LongSupplier threadAllocationCounter() {
        try {
            Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> sunMx = Class.forName("com.sun.management.ThreadMXBean");
            if (!sunMx.isInstance(mx) || !(Boolean) sunMx.getMethod("isThreadAllocatedMemorySupported").invoke(mx)) {
                return null;
            }
            Method m = sunMx.getMethod("getThreadAllocatedBytes", long.class);
            long tid = Thread.currentThread().getId();
            m.invoke(mx, tid);
            return () -> {
                try {
                    return (Long) m.invoke(mx, tid);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            };
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static long access(MmioDevice ecam, int i) {
        ecam.write(0x10_0004, 2, i & 0x6);
        ecam.write(0x10_0006, 2, 0xf900);
        return ecam.read(0x10_0000, 4) + ecam.read(0x10_0010 + (i & 4), 4) + ecam.read(0x50_0000, 1)
                + ecam.read(0x10_0002, 8);
    }
}
