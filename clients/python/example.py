#!/usr/bin/env python3
"""Example driver of `xenpci serve` (docs/simulator-protocol.md), playing the CPU of a guest.

    python3 example.py SOCKET_PATH        (or: python3 example.py --tcp PORT)

Creates the default platform and a guest with the e1000e (machine 0000:00:01.0) passed through,
then does what a guest kernel does, every access a forwarded MMIO fault or a store to the shared
RAM: reads the device's IDs through the guest's ECAM window, places its BARs in the guest's
32-bit window, points the vITS's command queue at guest RAM and maps the device's event 0 to LPI
8192, programs and unmasks MSI-X entry 0. Then the test-driver side makes the device signal
vector 0 (DEVICE_SIGNAL) and the example waits for the LPI's IRQ_EVENT and acknowledges it.
Prints one line per step and "example: OK" at the end; exits 1 on the first failure.
"""

import struct
import sys

from xenpci_client import Client, IrqEvent

DEVICE = "0000:00:01.0"
GUEST_CFG = 'name = "example"\nmemory = 256\nvcpus = 1\npci = [ "%s" ]\n' % DEVICE

PCI_COMMAND = 0x04
PCI_CAPABILITY_LIST = 0x34
PCI_CAP_ID_MSIX = 0x11
GITS_CTLR, GITS_CBASER, GITS_CWRITER, GITS_CREADR, GITS_TRANSLATER = 0x0, 0x80, 0x88, 0x90, 0x10040
CMD_SYNC, CMD_MAPD, CMD_MAPC, CMD_MAPTI = 0x05, 0x08, 0x09, 0x0A
FIRST_LPI = 8192


def check(cond, what):
    if not cond:
        print("example: FAILED: " + what)
        sys.exit(1)
    print("example: " + what)


class GuestCpu:
    """The guest's vCPU 0: loads and stores forwarded to xenpci, aborts are failures here."""

    def __init__(self, client, guest):
        self.c = client
        self.g = guest

    def load(self, addr, width):
        r = self.c.mmio_read(self.g.domid, 0, addr, width)
        if r.aborted:
            raise RuntimeError("load 0x%x aborted: %s" % (addr, r.reason))
        return r.data

    def store(self, addr, width, value):
        r = self.c.mmio_write(self.g.domid, 0, addr, width, value)
        if r.aborted:
            raise RuntimeError("store 0x%x aborted: %s" % (addr, r.reason))


def main(argv):
    if len(argv) == 3 and argv[1] == "--tcp":
        c = Client.connect_tcp(int(argv[2]))
    elif len(argv) == 2:
        c = Client.connect_unix(argv[1])
    else:
        print(__doc__)
        return 2
    with c:
        if not c.server_info.get("platform"):  # a server another driver already set up is reused
            c.platform_create(profile="full")
        g = c.guest_create(GUEST_CFG)
        cpu = GuestCpu(c, g)
        check(len(g.ram) >= 1 and g.ecam and g.its, "guest d%d: RAM %s, ECAM 0x%x, vITS 0x%x"
              % (g.domid, ["0x%x+0x%x" % (b.gpa, b.size) for b in g.ram], g.ecam[0].base, g.its))

        # 1. The device's IDs through the guest's ECAM window (guest 00:00.0).
        ecam = g.ecam[0]
        cfg = ecam.config_address(0, 0, 0, 0)
        ids = cpu.load(cfg, 4)
        check(ids == 0x10D38086, "config read of 00:00.0: vendor %04x device %04x" % (ids & 0xFFFF, ids >> 16))

        # 2. Size and place the memory BARs in the 32-bit window, enable memory decoding and bus mastering.
        base, size = ecam.mem32
        nxt = base
        bars = {}
        i = 0
        while i < 6:
            reg = cfg + 0x10 + 4 * i
            orig = cpu.load(reg, 4)
            if orig & 1:  # I/O BAR: the guest has no I/O window to place it in
                i += 1
                continue
            is64 = (orig >> 1) & 3 == 2
            cpu.store(reg, 4, 0xFFFFFFFF)
            lo = cpu.load(reg, 4)
            hi = 0xFFFFFFFF
            if is64:
                cpu.store(reg + 4, 4, 0xFFFFFFFF)
                hi = cpu.load(reg + 4, 4)
            mask = (hi << 32 | (lo & ~0xF)) if is64 else (0xFFFFFFFF00000000 | (lo & ~0xF))
            bar_size = (~mask + 1) & 0xFFFFFFFFFFFFFFFF
            if lo & ~0xF:
                nxt = (nxt + bar_size - 1) & ~(bar_size - 1)
                cpu.store(reg, 4, nxt & 0xFFFFFFFF)
                if is64:
                    cpu.store(reg + 4, 4, nxt >> 32)
                bars[i] = nxt
                nxt += bar_size
            i += 2 if is64 else 1
        check(nxt <= base + size, "BARs placed: %s" % {k: hex(v) for k, v in bars.items()})
        cpu.store(cfg + PCI_COMMAND, 2, cpu.load(cfg + PCI_COMMAND, 2) | 0x6)

        # 3. Find MSI-X.
        pos = cpu.load(cfg + PCI_CAPABILITY_LIST, 1) & 0xFC
        while pos and cpu.load(cfg + pos, 1) != PCI_CAP_ID_MSIX:
            pos = cpu.load(cfg + pos + 1, 1) & 0xFC
        check(pos != 0, "MSI-X capability at 0x%x" % pos)
        table_reg = cpu.load(cfg + pos + 4, 4)
        table = bars[table_reg & 7] + (table_reg & ~7)

        # 4. The vITS: command queue in guest RAM (written through the shared mapping).
        its = g.its
        queue = g.ram[0].gpa + 0x100000
        itt = queue + 0x1000
        cpu.store(its + GITS_CTLR, 4, 0)
        cpu.store(its + GITS_CBASER, 8, 1 << 63 | queue)
        cpu.store(its + GITS_CWRITER, 8, 0)
        cpu.store(its + GITS_CTLR, 4, 1)
        writer = [0]

        def its_cmd(dw0, dw1, dw2, dw3=0):
            g.ram_write(queue + writer[0], struct.pack("<4Q", dw0, dw1, dw2, dw3))
            writer[0] = (writer[0] + 32) % 0x1000
            cpu.store(its + GITS_CWRITER, 8, writer[0])
            if cpu.load(its + GITS_CREADR, 8) != writer[0]:
                raise RuntimeError("the vITS did not consume the command")

        device_id = 0  # msi-map <0 &its 0 0x10000>: DeviceID = guest requester ID (00:00.0)
        its_cmd(CMD_MAPC, 0, 1 << 63 | 0 << 16 | 0)  # collection 0 -> vCPU 0
        its_cmd(CMD_MAPD | device_id << 32, 1 - 1, 1 << 63 | itt)  # 2^1 events
        its_cmd(CMD_MAPTI | device_id << 32, 0 | FIRST_LPI << 32, 0)  # event 0 -> LPI 8192, collection 0
        its_cmd(CMD_SYNC, 0, 0)
        check(True, "vITS: event 0 of device %d mapped to LPI %d" % (device_id, FIRST_LPI))

        # 5. MSI-X entry 0 -> the ITS doorbell, EventID 0; enable (masked), program, unmask.
        ctrl = cpu.load(cfg + pos + 2, 2)
        cpu.store(cfg + pos + 2, 2, (ctrl & ~0xC000) | 0xC000)
        doorbell = its + GITS_TRANSLATER
        cpu.store(table + 0, 4, doorbell & 0xFFFFFFFF)
        cpu.store(table + 4, 4, doorbell >> 32)
        cpu.store(table + 8, 4, 0)
        cpu.store(table + 12, 4, 0)
        cpu.store(cfg + pos + 2, 2, (ctrl & ~0xC000) | 0x8000)
        check(True, "MSI-X entry 0 programmed (table at 0x%x)" % table)

        # 6. Test driver: the device signals vector 0; the LPI arrives as an event.
        result = c.device_signal(DEVICE, 0)
        check(result == "SENT", "DEVICE_SIGNAL %s vector 0: %s" % (DEVICE, result))
        events = c.take_events()
        check(IrqEvent(g.domid, 0, FIRST_LPI) in events, "IRQ_EVENT: %s" % events)
        check(c.irq_ack(g.domid, 0, FIRST_LPI), "IRQ_ACK of LPI %d" % FIRST_LPI)
        check(c.irq_pending(g.domid, 0) == [], "nothing pending after the ack")

        # 7. Shared RAM: a store through the mapping is what the server loads, and back.
        spot = g.ram[0].gpa + 0x200000
        g.ram_write64(spot, 0x1122334455667788)
        check(cpu.load(spot, 8) == 0x1122334455667788, "RAM store through the mapping seen by xenpci")
        cpu.store(spot + 8, 4, 0xCAFEF00D)
        check(g.ram_read(spot + 8, 4) == struct.pack("<I", 0xCAFEF00D), "xenpci's store seen through the mapping")

        # 8. An HVC with a wrong immediate is an undefined instruction; an unknown hypercall -ENOSYS.
        check(c.hvc(g.domid, 0, 33, imm=0x1234).undefined, "HVC #0x1234: undefined instruction")
        check(c.hvc(g.domid, 0, 9999).rc == -38, "HVC #0xEA1 x16=9999: -ENOSYS")

        # 9. Pause: accesses abort, retryable.
        c.pause(g.domid)
        r = c.mmio_read(g.domid, 0, cfg, 4)
        check(r.aborted and r.retryable, "paused: %r" % r)
        c.unpause(g.domid)
        snap = c.snapshot()
        check(snap["domains"][0]["domid"] == g.domid, "snapshot lists d%d" % g.domid)
        c.destroy(g.domid)
    print("example: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
