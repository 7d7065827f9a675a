package org.xenpci.armpci.its;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.armpci.its.ItsRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.trace.Trace;

@DisplayName("GICv3 ITS hardware: registers, command queue in RAM, translation")
class ItsHardwareTest {
    private static final long ITS = 0x0808_0000L;
    private static final long RAM = 0x4000_0000L;
    private static final long QUEUE = RAM + 0x10000;
    private final PhysicalAddressSpace space = new PhysicalAddressSpace();
    private final SparseMemory ram = new SparseMemory(0x100000);
    private final Trace trace = new Trace();
    private final List<String> lpis = new ArrayList<>();
    private ItsHardware its;
    private long writer;

    @BeforeEach
    void setUp() {
        space.register("ram", RAM, ram.size(), ram);
        its = new ItsHardware(ITS, 16, 16);
        its.attach(space);
        its.trace(trace);
        its.connect(new LpiSink() {
            @Override
            public void lpi(int target, int intid) {
                lpis.add("cpu" + target + " lpi " + intid);
            }

            @Override
            public void clear(int target, int intid) {
                lpis.add("clear cpu" + target + " lpi " + intid);
            }
        });
        space.write(ITS + GITS_CBASER, 8, GITS_CBASER_VALID | QUEUE | 0);
        space.write(ITS + GITS_CTLR, 4, GITS_CTLR_ENABLED);
    }

    private void send(ItsCommand... cmds) {
        for (ItsCommand c : cmds) {
            ram.writeBytes(QUEUE - RAM + writer, c.toBytes());
            writer = (writer + 32) % 4096;
        }
        space.write(ITS + GITS_CWRITER, 8, writer);
    }

    @Test
    @DisplayName("GITS_TYPER reports Physical, 8-byte ITT entries, 16 ID bits, 16 device bits, PTA 0; IIDR is Arm")
    void identification() {
        assertThat(space.read(ITS + GITS_TYPER, 8)).isEqualTo(0x1_ef71L);
        assertThat(space.read(ITS + GITS_IIDR, 4)).isEqualTo(0x43bL);
        assertThat(space.read(ITS + GITS_BASER, 8) >>> 56).isEqualTo(1L);
        assertThat(space.read(ITS + GITS_BASER + 8, 8) >>> 56).isEqualTo(4L);
        space.write(ITS + GITS_CTLR, 4, 0);
        assertThat(space.read(ITS + GITS_CTLR, 4)).isEqualTo(0x8000_0000L);
    }

    @Test
    @DisplayName("MAPD + MAPC + MAPTI: a message (DeviceID 8, EventID 3) becomes LPI 8195 on the collection's processor")
    void translate() {
        send(ItsCommand.mapd(8, 5, RAM + 0x20000, true), ItsCommand.mapc(1, 1, true), ItsCommand.mapti(8, 3, 8195, 1),
                ItsCommand.sync(1));
        assertThat(space.read(ITS + GITS_CREADR, 8)).isEqualTo(0x80L);
        its.translate(8, 3);
        assertThat(lpis).containsExactly("cpu1 lpi 8195");
        assertThat(trace.events(ItsEvents.Translated.class)).containsExactly(new ItsEvents.Translated(ITS, 8, 3, 8195, 1));
    }

    @Test
    @DisplayName("MOVI retargets, INT triggers, CLEAR reaches the sink, DISCARD unmaps (later messages dropped and traced)")
    void moviIntDiscard() {
        send(ItsCommand.mapd(8, 5, RAM + 0x20000, true), ItsCommand.mapc(0, 0, true), ItsCommand.mapc(1, 1, true),
                ItsCommand.mapi(8, 8200, 0));
        its.translate(8, 8200);
        assertThat(lpis).as("event beyond 2^5").isEmpty();
        send(ItsCommand.mapd(8, 16, RAM + 0x20000, true), ItsCommand.mapi(8, 8200, 0), ItsCommand.movi(8, 8200, 1),
                ItsCommand.event(GITS_CMD_INT, 8, 8200), ItsCommand.event(GITS_CMD_CLEAR, 8, 8200),
                ItsCommand.event(GITS_CMD_DISCARD, 8, 8200));
        its.translate(8, 8200);
        assertThat(lpis).containsExactly("cpu1 lpi 8200", "clear cpu1 lpi 8200");
        assertThat(trace.events(ItsEvents.TranslationDropped.class)).extracting(ItsEvents.TranslationDropped::reason)
                .containsExactly("EventID beyond the device's ITT", "EventID not mapped");
    }

    @Test
    @DisplayName("bad commands are ignored with a CommandError trace and the queue keeps going")
    void commandErrors() {
        send(ItsCommand.mapd(0x10000, 5, 0, true), ItsCommand.mapti(9, 0, 8192, 0), ItsCommand.mapd(9, 5, 0, true),
                ItsCommand.mapti(9, 0, 100, 0), new ItsCommand(0x3f, 0, 0, 0), ItsCommand.mapc(0, 2, true),
                ItsCommand.mapti(9, 0, 8192, 0));
        assertThat(trace.events(ItsEvents.CommandError.class)).extracting(ItsEvents.CommandError::reason).containsExactly(
                "DeviceID 0x10000 exceeds Devbits 16", "DeviceID 0x9 is not mapped", "pINTID 100 is not an LPI this ITS supports",
                "unknown command opcode 0x3f");
        its.translate(9, 0);
        assertThat(lpis).containsExactly("cpu2 lpi 8192");
        assertThat(space.read(ITS + GITS_CREADR, 8)).isEqualTo(0xe0L);
    }

    @Test
    @DisplayName("a CPU write to GITS_TRANSLATER has no DeviceID and is dropped; a disabled ITS drops messages")
    void dropped() {
        send(ItsCommand.mapd(0, 5, 0, true), ItsCommand.mapc(0, 0, true), ItsCommand.mapti(0, 0, 8192, 0));
        space.write(ITS + GITS_TRANSLATER, 4, 0);
        space.write(ITS + GITS_CTLR, 4, 0);
        its.translate(0, 0);
        assertThat(lpis).isEmpty();
        assertThat(trace.events(ItsEvents.TranslationDropped.class)).extracting(ItsEvents.TranslationDropped::reason)
                .containsExactly("CPU write to GITS_TRANSLATER carries no DeviceID", "ITS disabled");
    }

    @Test
    @DisplayName("end to end: an NVMe MSI-X write through the host bridge's msi-map reaches the ITS with DeviceID = RID")
    void throughTheBridge() {
        PciFunction nvme = DeviceCatalog.QEMU_NVME.newFunction();
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0x40_1000_0000L, 0x1000_0000L)
                .msiMap(MsiMap.single(0, 0x8004, 0x100, 0x10000)).msiController(0x8004, its).slot(2, 0, nvme).build();
        hb.attach(space);
        send(ItsCommand.mapd(0x110, 5, 0, true), ItsCommand.mapc(0, 0, true), ItsCommand.mapti(0x110, 7, 8300, 0));
        nvme.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        nvme.barWrite(0, 0x2000 + 5 * 16, 8, its.doorbell());
        nvme.barWrite(0, 0x2000 + 5 * 16 + 8, 8, 7);
        nvme.config().write(0x42, 2, PciRegs.PCI_MSIX_FLAGS_ENABLE);
        assertThat(nvme.signal(5)).isEqualTo(SignalResult.SENT);
        assertThat(lpis).containsExactly("cpu0 lpi 8300");
    }
}
