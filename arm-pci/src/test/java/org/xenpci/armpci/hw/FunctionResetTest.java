package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Function reset: FLR through Device Control, PM soft reset on D3hot -> D0, power states")
class FunctionResetTest {
    private static final long DOORBELL = 0x0808_0040L;
    private static final long NVME_BAR = 0x1000_0000L;
    private static final long NIC_MSIX_BAR = 0x1010_0000L;
    /** QEMU NVMe: MSI-X at 0x40 (table BAR0+0x2000, PBA +0x3000), PM at 0x60, PCIe at 0x80 (FLR). */
    private static final int NVME_MSIX = 0x40;
    private static final int NVME_PMCSR = 0x64;
    private static final int NVME_DEVCTL = 0x80 + PciRegs.PCI_EXP_DEVCTL;
    /** e1000e: PM at 0xc8 (No_Soft_Reset clear), MSI at 0xd0 (64-bit), PCIe v1 at 0xe0 (no FLR), MSI-X at 0xa0 (BAR3). */
    private static final int NIC_PMCSR = 0xc8 + PciRegs.PCI_PM_CTRL;
    private static final int NIC_MSI = 0xd0;
    private static final int NIC_DEVCTL = 0xe0 + PciRegs.PCI_EXP_DEVCTL;
    private static final int NIC_MSIX = 0xa0;
    private static final int MEM_MASTER = PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER;

    private final List<String> messages = Collections.synchronizedList(new ArrayList<>());
    private PciFunction nvme;
    private PciFunction nic;

    @BeforeEach
    void setUp() {
        nvme = DeviceCatalog.QEMU_NVME.newFunction();
        nic = DeviceCatalog.E1000E.newFunction();
        MsiController ctrl = new MsiController() {
            @Override
            public boolean isDoorbell(long maddr, int size) {
                return maddr == DOORBELL;
            }

            @Override
            public void message(int deviceId, long maddr, int size, long value) {
                messages.add(String.format("dev %#x data %#x", deviceId, value));
            }
        };
        HostBridgeHardware bridge = HostBridgeHardware.builder().ecam(0x40_1000_0000L, 0x1000_0000L)
                .aperture(0x1000_0000L, 0x1000_0000L, 0x2eff_0000L, ApertureKind.MEM32, false)
                .msiMap(MsiMap.single(0, 0x8004, 0, 0x10000)).msiController(0x8004, ctrl)
                .slot(1, 0, nvme).slot(2, 0, nic).build();
        bridge.attach(new PhysicalAddressSpace());
    }

    /** What a guest driver leaves behind: BAR0 placed, decoding and mastering on, MSI-X entries 0..2 live. */
    private void programNvme() {
        nvme.config().write(PciRegs.PCI_BASE_ADDRESS_0, 4, (int) NVME_BAR);
        nvme.config().write(PciRegs.PCI_COMMAND, 2, MEM_MASTER);
        nvme.config().write(PciRegs.PCI_CACHE_LINE_SIZE, 1, 0x10);
        nvme.config().write(PciRegs.PCI_INTERRUPT_LINE, 1, 0x2a);
        for (int i = 0; i < 3; i++) {
            nvme.barWrite(0, 0x2000 + 16L * i, 8, DOORBELL);
            nvme.barWrite(0, 0x2000 + 16L * i + 8, 4, 0x20 + i);
            nvme.barWrite(0, 0x2000 + 16L * i + 12, 4, 0);
        }
        nvme.config().write(NVME_MSIX + PciRegs.PCI_MSIX_FLAGS, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        nvme.barWrite(0, 0x0014, 4, 0x00460001L); // a device register behind BAR0 (NVMe CC)
    }

    @Test
    @DisplayName("FLR on the NVMe: MSI-X disabled, every entry masked and cleared, PBA clear, COMMAND and BAR0 at power-on, BAR memory zero")
    void flrReturnsToPowerOn() {
        byte[] powerOn = nvme.config().toBytes();
        programNvme();
        nvme.config().write(NVME_MSIX + PciRegs.PCI_MSIX_FLAGS, 2,
                PciRegs.PCI_MSIX_FLAGS_ENABLE | PciRegs.PCI_MSIX_FLAGS_MASKALL);
        assertThat(nvme.signal(1)).as("function-masked: pending").isEqualTo(SignalResult.PENDING);
        assertThat(nvme.msixPending(1)).isTrue();

        nvme.config().write(NVME_DEVCTL, 2, PciRegs.PCI_EXP_DEVCTL_BCR_FLR);

        assertThat(nvme.config().read(NVME_MSIX + PciRegs.PCI_MSIX_FLAGS, 2)
                & (PciRegs.PCI_MSIX_FLAGS_ENABLE | PciRegs.PCI_MSIX_FLAGS_MASKALL)).isZero();
        for (int i = 0; i < 65; i++) {
            assertThat(nvme.barRead(0, 0x2000 + 16L * i, 8)).as("entry %d address", i).isZero();
            assertThat(nvme.barRead(0, 0x2000 + 16L * i + 8, 4)).as("entry %d data", i).isZero();
            assertThat(nvme.barRead(0, 0x2000 + 16L * i + 12, 4)).as("entry %d vector control", i).isEqualTo(1L);
        }
        assertThat(nvme.msixPending(1)).isFalse();
        assertThat(nvme.barRead(0, 0x3000, 8)).as("PBA").isZero();
        assertThat(nvme.config().read(PciRegs.PCI_COMMAND, 2)).isZero();
        assertThat(nvme.barAddress(0)).isZero();
        assertThat(nvme.barRead(0, 0x0014, 4)).as("register behind BAR0").isZero();
        assertThat(nvme.config().toBytes()).as("whole config space back at power-on").isEqualTo(powerOn);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.DISABLED);
        assertThat(messages).isEmpty();
    }

    @Test
    @DisplayName("Initiate FLR reads 0, before and after; DEVCAP keeps its FLR bit; vendor, class, capability chain untouched")
    void flrBitReadsZero() {
        assertThat(nvme.config().read(0x80 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isNotZero();
        assertThat(nvme.config().read(NVME_DEVCTL, 2) & PciRegs.PCI_EXP_DEVCTL_BCR_FLR).isZero();
        programNvme();
        nvme.config().write(NVME_DEVCTL, 2, 0xffff);
        assertThat(nvme.config().read(NVME_DEVCTL, 2) & PciRegs.PCI_EXP_DEVCTL_BCR_FLR).isZero();
        assertThat(nvme.config().read(0x80 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isNotZero();
        assertThat(nvme.vendorId()).isEqualTo(0x1b36);
        assertThat(nvme.classCode()).isEqualTo(0x010802);
        assertThat(nvme.capabilities()).hasSize(3);
        assertThat(nvme.config().read(PciRegs.PCI_COMMAND, 2)).as("the write did reset").isZero();
    }

    @Test
    @DisplayName("writing 0 to Initiate FLR does not reset")
    void flrBitZeroWriteNoReset() {
        programNvme();
        nvme.config().write(NVME_DEVCTL, 2, 0);
        assertThat(nvme.config().read(PciRegs.PCI_COMMAND, 2)).isEqualTo(MEM_MASTER);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.SENT);
    }

    @Test
    @DisplayName("the e1000e has no FLR capability: writing Initiate FLR is ignored and the function keeps its state")
    void noFlrCapabilityIgnoresWrite() {
        assertThat(nic.config().read(0xe0 + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isZero();
        nic.config().write(PciRegs.PCI_BASE_ADDRESS_0 + 12, 4, (int) NIC_MSIX_BAR);
        nic.config().write(PciRegs.PCI_COMMAND, 2, MEM_MASTER);
        nic.config().write(NIC_MSIX + PciRegs.PCI_MSIX_FLAGS, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        nic.barWrite(3, 0, 8, DOORBELL);
        nic.barWrite(3, 12, 4, 0);

        nic.config().write(NIC_DEVCTL, 2, PciRegs.PCI_EXP_DEVCTL_BCR_FLR);

        assertThat(nic.config().read(NIC_DEVCTL, 2)).isZero();
        assertThat(nic.config().read(PciRegs.PCI_COMMAND, 2)).isEqualTo(MEM_MASTER);
        assertThat(nic.barAddress(3)).isEqualTo(NIC_MSIX_BAR);
        assertThat(nic.signal(0)).isEqualTo(SignalResult.SENT);
    }

    @Test
    @DisplayName("e1000e PM reset: D3hot -> D0 with No_Soft_Reset clear disables MSI and MSI-X, masks the table, clears COMMAND and BARs")
    void pmResetOnD3hotToD0() {
        assertThat(nic.config().read(NIC_PMCSR, 2) & PciRegs.PCI_PM_CTRL_NO_SOFT_RESET).isZero();
        nic.config().write(PciRegs.PCI_BASE_ADDRESS_0 + 12, 4, (int) NIC_MSIX_BAR);
        nic.config().write(PciRegs.PCI_COMMAND, 2, MEM_MASTER);
        nic.barWrite(3, 0, 8, DOORBELL);
        nic.barWrite(3, 12, 4, 0);
        nic.config().write(NIC_MSIX + PciRegs.PCI_MSIX_FLAGS, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        nic.config().write(NIC_MSI + PciRegs.PCI_MSI_ADDRESS_LO, 4, (int) DOORBELL);
        nic.config().write(NIC_MSI + PciRegs.PCI_MSI_DATA_64, 2, 0x55);

        nic.config().write(NIC_PMCSR, 2, PciRegs.PCI_D3HOT);
        assertThat(nic.powerState()).isEqualTo(PciRegs.PCI_D3HOT);
        assertThat(nic.config().read(PciRegs.PCI_COMMAND, 2)).as("D3hot alone resets nothing").isEqualTo(MEM_MASTER);
        nic.config().write(NIC_PMCSR, 2, PciRegs.PCI_D0);

        assertThat(nic.powerState()).isEqualTo(PciRegs.PCI_D0);
        assertThat(nic.config().read(NIC_PMCSR, 2) & PciRegs.PCI_PM_CTRL_STATE_MASK).isZero();
        assertThat(nic.config().read(NIC_MSIX + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_ENABLE).isZero();
        assertThat(nic.barRead(3, 0, 8)).isZero();
        assertThat(nic.barRead(3, 12, 4)).isEqualTo(1L);
        assertThat(nic.config().read(NIC_MSI + PciRegs.PCI_MSI_ADDRESS_LO, 4)).isZero();
        assertThat(nic.config().read(NIC_MSI + PciRegs.PCI_MSI_DATA_64, 2)).isZero();
        assertThat(nic.config().read(PciRegs.PCI_COMMAND, 2)).isZero();
        assertThat(nic.barAddress(3)).isZero();
        assertThat(nic.config().toBytes()).isEqualTo(DeviceCatalog.E1000E.newFunction().config().toBytes());
    }

    @Test
    @DisplayName("NVMe PM: No_Soft_Reset set, so D3hot -> D0 keeps every register and table entry")
    void noSoftResetRespected() {
        assertThat(nvme.config().read(NVME_PMCSR, 2) & PciRegs.PCI_PM_CTRL_NO_SOFT_RESET).isNotZero();
        programNvme();
        nvme.config().write(NVME_PMCSR, 2, PciRegs.PCI_D3HOT);
        nvme.config().write(NVME_PMCSR, 2, PciRegs.PCI_D0);
        assertThat(nvme.config().read(PciRegs.PCI_COMMAND, 2)).isEqualTo(MEM_MASTER);
        assertThat(nvme.barAddress(0)).isEqualTo(NVME_BAR);
        assertThat(nvme.barRead(0, 0x2000 + 12, 4)).isZero();
        assertThat(nvme.barRead(0, 0x0014, 4)).isEqualTo(0x00460001L);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.SENT);
    }

    @Test
    @DisplayName("outside D0 the function decodes nothing and sends no MSI; unsupported D1/D2 writes are discarded")
    void powerStatesGateDecodeAndMastering() {
        programNvme();
        assertThat(nvme.decodeBar(NVME_BAR, false)).isZero();
        nvme.config().write(NVME_PMCSR, 2, PciRegs.PCI_D3HOT);
        assertThat(nvme.decodeBar(NVME_BAR, false)).isEqualTo(-1);
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.BUS_MASTER_DISABLED);
        nvme.config().write(NVME_PMCSR, 2, PciRegs.PCI_D0);
        assertThat(nvme.decodeBar(NVME_BAR, false)).isZero();
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.SENT);

        // The catalog's PM capability advertises neither D1 nor D2 (PMC bits 9, 10 clear).
        nvme.config().write(NVME_PMCSR, 2, 1);
        assertThat(nvme.config().read(NVME_PMCSR, 2) & PciRegs.PCI_PM_CTRL_STATE_MASK).isZero();
        assertThat(nvme.powerState()).isZero();
        nvme.config().write(NVME_PMCSR, 2, 2);
        assertThat(nvme.powerState()).isZero();
    }

    @Test
    @DisplayName("MSI (e1000e): FLR via the Java entry point clears enable, address, data")
    void msiReset() {
        nic.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        nic.config().write(NIC_MSI + PciRegs.PCI_MSI_ADDRESS_LO, 4, (int) DOORBELL);
        nic.config().write(NIC_MSI + PciRegs.PCI_MSI_DATA_64, 2, 0x55);
        nic.config().write(NIC_MSI + PciRegs.PCI_MSI_FLAGS, 2, PciRegs.PCI_MSI_FLAGS_ENABLE);
        assertThat(nic.signal(0)).isEqualTo(SignalResult.SENT);
        nic.functionLevelReset();
        assertThat(nic.config().read(NIC_MSI + PciRegs.PCI_MSI_FLAGS, 2) & PciRegs.PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(nic.config().read(NIC_MSI + PciRegs.PCI_MSI_ADDRESS_LO, 4)).isZero();
        assertThat(nic.signal(0)).isEqualTo(SignalResult.DISABLED);
        assertThat(messages).containsExactly("dev 0x10 data 0x55");
    }

    @Test
    @DisplayName("ConfigImage: flr() sets DEVCAP bit 28 of the PCIe capability placed before, and needs one")
    void imageFlrDeclaration() {
        PciFunction f = ConfigImage.endpoint(0x1234, 0x5678).bar(0, BarKind.MEM32, 0x1000, false)
                .pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).flr().build().newFunction();
        int exp = f.capability(PciRegs.PCI_CAP_ID_EXP, false).orElseThrow().offset();
        assertThat(f.config().read(exp + PciRegs.PCI_EXP_DEVCAP, 4) & PciRegs.PCI_EXP_DEVCAP_FLR).isNotZero();
        f.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        f.config().write(exp + PciRegs.PCI_EXP_DEVCTL, 2, PciRegs.PCI_EXP_DEVCTL_BCR_FLR);
        assertThat(f.config().read(PciRegs.PCI_COMMAND, 2)).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConfigImage.endpoint(0x1234, 0x5678).flr())
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("pcie(type)");
    }

    @Test
    @DisplayName("concurrent: FLRs racing with signals and table writes leave the function consistent; after the last FLR it is at power-on")
    void concurrentResets() throws InterruptedException {
        byte[] powerOn = nvme.config().toBytes();
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 2000; i++) {
                        switch (id) {
                            case 0 -> nvme.config().write(NVME_DEVCTL, 2, PciRegs.PCI_EXP_DEVCTL_BCR_FLR);
                            case 1 -> programNvme();
                            case 2 -> {
                                SignalResult r = nvme.signal(i % 3);
                                if (r == SignalResult.NO_SUCH_VECTOR || r == SignalResult.NOT_CONNECTED) {
                                    throw new AssertionError(r.toString());
                                }
                            }
                            default -> {
                                int ctrl = nvme.config().read(NVME_DEVCTL, 2);
                                if ((ctrl & PciRegs.PCI_EXP_DEVCTL_BCR_FLR) != 0) {
                                    throw new AssertionError("Initiate FLR read as 1");
                                }
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
            th.start();
        }
        start.countDown();
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(failure.get()).isNull();
        // Whatever interleaving: every message that reached the doorbell carried a programmed entry.
        synchronized (messages) {
            assertThat(messages).allMatch(m -> m.matches("dev 0x8 data 0x2[0-2]"));
        }
        nvme.config().write(NVME_DEVCTL, 2, PciRegs.PCI_EXP_DEVCTL_BCR_FLR);
        assertThat(nvme.config().toBytes()).isEqualTo(powerOn);
        assertThat(nvme.barRead(0, 0x2000 + 12, 4)).isEqualTo(1L);
    }
}
