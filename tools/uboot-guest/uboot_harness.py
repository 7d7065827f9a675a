#!/usr/bin/env python3
"""Debian's U-Boot (u-boot-qemu, qemu_arm64) as the guest of a xenpci domain, under unicorn.

The CPU is unicorn's (Debian python3-unicorn, 2.0.1); xenpci, reached through `xenpci serve`
and clients/python/xenpci_client.py, is the hypervisor. Layout and workarounds:
docs/uboot-guest.md. In short:

- guest RAM: each bank is the file xenpci backs it with, mmapped here and handed to unicorn
  with mem_map_ptr, so CPU loads/stores and device DMA share the same bytes;
- the guest DT from GUEST_CREATE goes at the start of RAM (qemu_arm64's board_fdt_blob_setup
  reads it from CFG_SYS_SDRAM_BASE, as QEMU virt places it), edited for U-Boot's PL011 driver;
- u-boot.bin goes at 0 (qemu_arm64's CONFIG_TEXT_BASE, QEMU virt's flash), a harness ROM;
- every other guest-physical access is an unicorn MMIO region forwarded as MMIO_READ /
  MMIO_WRITE on vCPU 0, except the vpl011 (harness-local PL011; xenpci does not model it);
- the one instruction that sets SCTLR_EL1.M is found by encoding and context and made a nop
  (unicorn 2.0.1 prefetch-aborts with the stage-1 MMU on).

Run `uboot_harness.py --help`. Needs a python3 that can `import unicorn` (Debian's is
/usr/bin/python3). Prints the console as it goes (unless --quiet) and, with --json, writes
the run's result: the transcript per command, abort and access counters.
"""

import argparse
import ctypes
import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))

import fdt as fdtlib  # noqa: E402

try:
    import unicorn  # noqa: E402
    from unicorn import arm64_const as A  # noqa: E402
except ImportError:  # pragma: no cover - reported by main()
    unicorn = None

DEFAULT_UBOOT = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
# qemu_arm64's CONFIG_TEXT_BASE (configs/qemu_arm64_defconfig): U-Boot runs from QEMU virt's
# flash at 0 until it relocates itself to the top of the first RAM bank.
UBOOT_TEXT_BASE = 0x0
UBOOT_ROM_SIZE = 0x02000000  # up to GUEST_VIRTIO_MMIO_BASE (xen/include/public/arch-arm.h)
# xen/include/public/arch-arm.h guest memory map (as libxl-model's GuestMemoryMap)
GUEST_PL011_BASE = 0x22000000
GUEST_PL011_SIZE = 0x1000
# qemu_arm64 builds in a debug UART (CONFIG_DEBUG_UART_PL011, CONFIG_DEBUG_UART_BASE) at QEMU
# virt's PL011, which prints before the driver model is up. Nothing of a Xen guest lives
# there; the harness gives it a transmit-only PL011 on the same console.
DEBUG_UART_BASE = 0x09000000
PAGE = 0x1000
# qemu_arm64 keeps its environment in QEMU virt's second flash bank (CONFIG_ENV_IS_IN_FLASH,
# CONFIG_ENV_ADDR 0x04000000, CONFIG_ENV_SIZE 0x40000) and reads it as memory at boot: the
# CRC word, then a byte-wise crc32 over the whole area (env/flash.c). In Xen's guest map
# (xen/include/public/arch-arm.h) 0x04000000 is the last 128 KiB redistributor of the GICR0
# region (vCPU 127: unbacked unless the guest has 128 vCPUs, and a data abort in Xen), and
# 0x04020000 is the vITS, whose registers are 32/64-bit only. So the harness puts erased
# flash (0xff: "bad CRC, using default environment", as on a fresh QEMU virt) in the unbacked
# redistributor frame, answers the byte and halfword loads that reach into the vITS the same
# way, and forwards every 32/64-bit vITS access to xenpci.
ENV_FLASH_BASE = 0x04000000
ENV_FLASH_SIZE = 0x40000
ENV_FLASH_LOCAL = 0x20000  # [0x04000000, 0x04020000): vCPU 127's redistributor frames

# Forwarded guest-physical windows: everything Xen traps for a guest that is not RAM. The
# GIC and vITS, the vPCI ECAM window, and the vPCI MEM and prefetchable MEM windows.
FORWARDED = (
    ("gic", 0x03000000, 0x01000000),
    ("its", 0x04020000, 0x000E0000),
    ("vpci-ecam", 0x10000000, 0x10000000),
    ("vpci-mem", 0x23000000, 0x10000000),
    ("vpci-prefetch-mem", 0x100000000, 0x100000000),
)

# A64 encodings (Arm ARM C6): the read-modify-write of SCTLR_EL1 that turns the MMU on.
MRS_X0_SCTLR_EL1 = 0xD5381000
MSR_SCTLR_EL1_X0 = 0xD5181000
ORR_W0_W0_1 = 0x32000000  # orr w0, w0, #0x1 (SCTLR_ELx.M)
NOP = 0xD503201F


class HarnessError(Exception):
    """A precondition of the harness failed (image, DT, tools); the message says which."""


def patch_mmu_enable(image):
    """Nop the `orr w0, w0, #0x1` that feeds `msr sctlr_el1, x0` in U-Boot's mmu_setup.

    Context, not offset: the orr must directly follow `mrs x0, sctlr_el1`, and the next
    write of x0/w0 within eight instructions must be that `msr sctlr_el1, x0` (between
    them U-Boot's set_sctlr only reads CurrentEL into x1 and branches on it). Exactly one
    such site must exist, otherwise HarnessError: a different U-Boot build needs a look.
    Returns (patched image, byte offset of the patched instruction).
    """
    n = len(image) // 4
    words = struct.unpack_from("<%dI" % n, image)
    sites = []
    for i in range(1, n):
        if words[i] != ORR_W0_W0_1 or words[i - 1] != MRS_X0_SCTLR_EL1:
            continue
        for j in range(i + 1, min(n, i + 9)):
            w = words[j]
            if w == MSR_SCTLR_EL1_X0:
                sites.append(i)
                break
            if _writes_x0(w):
                break
    if len(sites) != 1:
        raise HarnessError("expected one MMU-enable site (mrs x0, sctlr_el1; orr w0, w0, #1; "
                           "... msr sctlr_el1, x0), found %d" % len(sites))
    off = sites[0] * 4
    out = bytearray(image)
    struct.pack_into("<I", out, off, NOP)
    return bytes(out), off


def _writes_x0(w):
    """Whether a data-processing or load instruction writes x0/w0 (Rd/Rt field 0).

    Conservative for the few instruction classes between the orr and the msr: system
    register reads (mrs), ALU, moves and loads whose destination field is 0.
    """
    if w & 0x1F != 0:
        return False
    if (w & 0xFFF00000) == 0xD5300000:  # mrs Xt, sysreg
        return True
    op0 = (w >> 25) & 0xF
    # data processing immediate (100x), register (x101), loads (x1x0) with Rd/Rt == 0
    return op0 in (0x8, 0x9, 0x5, 0xD, 0x4, 0x6, 0xC, 0xE)


def uboot_dt(dtb):
    """The guest DT from GUEST_CREATE, made usable by U-Boot 2023.01's PL011 driver.

    libxl writes the vuart as `sbsa-pl011 { compatible = "arm,sbsa-uart"; }`
    (libxl_arm.c: make_vpl011_uart_node) and no stdout-path. U-Boot's serial_pl01x.c matches
    only "arm,pl011"/"arm,pl010", and its serial uclass picks the console from
    /chosen/stdout-path. So: the compatible becomes "arm,pl011" (an SBSA UART is a PL011
    subset), `skip-init` keeps U-Boot off the baud-rate registers the SBSA UART lacks, and
    /chosen/stdout-path names the node. Nothing else changes.
    """
    tree = fdtlib.Fdt.parse(dtb)
    uarts = tree.find_compatible("arm,sbsa-uart")
    if len(uarts) != 1:
        raise HarnessError("the guest DT has %d arm,sbsa-uart nodes; give the guest vuart = \"sbsa_uart\""
                           % len(uarts))
    uart = tree.node(uarts[0])
    uart.set_string("compatible", "arm,pl011", "arm,primecell")
    uart.set_empty("skip-init")
    chosen = tree.root.child("chosen")
    if chosen is None:
        chosen = fdtlib.Node("chosen")
        tree.root.children.insert(0, chosen)
    chosen.set_string("stdout-path", uarts[0])
    return tree.to_bytes(), uarts[0]


class Pl011:
    """The vpl011 as U-Boot's pl01x driver uses it: DR, FR, and registers that read 0.

    Register offsets: Arm PrimeCell UART (PL011) TRM, 3.2 (UARTDR 0x000, UARTFR 0x018 with
    TXFE bit 7, RXFE bit 4). Transmit is immediate; receive comes from `feed`.
    """

    FR_RXFE = 1 << 4
    FR_TXFE = 1 << 7

    def __init__(self, on_rx_empty):
        self.out = bytearray()
        self.rx = bytearray()
        self.on_rx_empty = on_rx_empty

    def read(self, uc, offset, size, _data):
        if offset == 0x000:
            if self.rx:
                return self.rx.pop(0)
            return 0
        if offset == 0x018:
            if not self.rx:
                self.on_rx_empty(uc)
            return self.FR_TXFE | (0 if self.rx else self.FR_RXFE)
        return 0

    def read_tx_only(self, uc, offset, size, _data):
        return self.FR_TXFE | self.FR_RXFE if offset == 0x018 else 0

    def write(self, uc, offset, size, value, _data):
        if offset == 0x000:
            self.out.append(value & 0xFF)
            if Harness.echo:
                sys.stdout.write(chr(value & 0xFF))
                sys.stdout.flush()


class ServeLink:
    """The guest side of a `xenpci serve` connection: one domain, vCPU 0.

    The thin adapter between this harness and clients/python/xenpci_client.py: the harness
    needs only the guest's DT, its RAM banks (as the client's shared mappings) and MMIO
    forwarding. `ram` is a list of (guest-physical base, size, writable buffer).
    """

    def __init__(self, client, guest):
        self.client = client
        self.guest = guest
        self.domid = guest.domid
        self.dtb = guest.dtb
        self.ram = [(b.gpa, b.size, b.map) for b in guest.ram]
        self.vcpus = guest.vcpus

    def mmio_read(self, addr, width):
        r = self.client.mmio_read(self.domid, 0, addr, width)
        return (None, r.reason) if r.aborted else (r.data, None)

    def mmio_write(self, addr, width, value):
        r = self.client.mmio_write(self.domid, 0, addr, width, value)
        return r.reason if r.aborted else None


class Harness:
    echo = True

    def __init__(self, link, uboot_image, commands, timeout_s=60.0):
        self.link = link
        self.timeout_s = timeout_s
        self.pending = list(commands)
        self.transcript = []  # [command, output]
        self.aborts = []
        self.forwarded = {name: 0 for name, _b, _s in FORWARDED}
        self.env_flash_reads = 0
        self.stopped = False
        self.autoboot_stopped = False
        self.cursor = 0  # console offset where the current command's output starts
        image, self.patched_at = patch_mmu_enable(uboot_image)
        dtb, self.stdout_path = uboot_dt(link.dtb)
        self.uart = Pl011(self._rx_empty)
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
        self.uc = uc
        uc.mem_map(UBOOT_TEXT_BASE, UBOOT_ROM_SIZE, unicorn.UC_PROT_ALL)
        uc.mem_write(UBOOT_TEXT_BASE, image)
        for gpa, size, buf in link.ram:
            self._map_bank(gpa, size, buf)
        ram_base = link.ram[0][0]
        uc.mem_write(ram_base, dtb)
        uc.mmio_map(GUEST_PL011_BASE, GUEST_PL011_SIZE, self.uart.read, None, self.uart.write, None)
        uc.mmio_map(DEBUG_UART_BASE, PAGE, self.uart.read_tx_only, None, self.uart.write, None)
        for name, base, size in FORWARDED:
            uc.mmio_map(base, size, self._fwd_read, (name, base), self._fwd_write, (name, base))
        if link.vcpus > 127:
            raise HarnessError("a guest with 128 vCPUs has a redistributor where qemu_arm64 reads its environment")
        uc.mem_map(ENV_FLASH_BASE, ENV_FLASH_LOCAL, unicorn.UC_PROT_READ)
        uc.mem_write(ENV_FLASH_BASE, b"\xff" * ENV_FLASH_LOCAL)
        uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, self._unmapped)
        uc.hook_add(unicorn.UC_HOOK_INTR, self._exception)
        uc.reg_write(A.UC_ARM64_REG_X0, ram_base)  # the DT's address, as QEMU passes it
        uc.reg_write(A.UC_ARM64_REG_PC, UBOOT_TEXT_BASE)

    def _map_bank(self, gpa, size, buf):
        if size % PAGE or gpa % PAGE:
            raise HarnessError("RAM bank 0x%x+0x%x is not page aligned" % (gpa, size))
        if buf is None:  # no shared file: RAM only the CPU sees (no device can DMA into it)
            self.uc.mem_map(gpa, size, unicorn.UC_PROT_ALL)
            return
        # The client's MAP_SHARED mapping of xenpci's bank file: unicorn's loads and stores
        # and xenpci's device DMA then hit the same page cache.
        ptr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        self.uc.mem_map_ptr(gpa, size, unicorn.UC_PROT_ALL, ptr)

    # -- forwarded MMIO -------------------------------------------------------------------
    def _fwd_read(self, uc, offset, size, user):
        name, base = user
        if size < 4 and ENV_FLASH_BASE <= base + offset < ENV_FLASH_BASE + ENV_FLASH_SIZE:
            self.env_flash_reads += 1
            return (1 << (8 * size)) - 1
        self.forwarded[name] += 1
        value, reason = self.link.mmio_read(base + offset, size)
        if reason is not None:
            self._abort("data abort on %d-byte load at 0x%x (%s): %s" % (size, base + offset, name, reason))
            return 0
        return value

    def _fwd_write(self, uc, offset, size, value, user):
        name, base = user
        self.forwarded[name] += 1
        reason = self.link.mmio_write(base + offset, size, value)
        if reason is not None:
            self._abort("data abort on %d-byte store at 0x%x (%s): %s" % (size, base + offset, name, reason))

    def _unmapped(self, uc, access, address, size, value, _data):
        self._abort("%s of %d bytes at 0x%x outside every guest region (or to the read-only "
                    "flash), near pc 0x%x" % ("store" if access in (unicorn.UC_MEM_WRITE_UNMAPPED, unicorn.UC_MEM_WRITE_PROT)
                                             else "load", size, address, uc.reg_read(A.UC_ARM64_REG_PC)))
        return False

    def _exception(self, uc, intno, _data):
        self._abort("exception %d taken at pc 0x%x" % (intno, uc.reg_read(A.UC_ARM64_REG_PC)))

    def _abort(self, what):
        # Xen would inject an abort into the guest; unicorn cannot, so the run stops there
        # and the abort is reported: a faithful guest run has none.
        self.aborts.append(what)
        self._stop()

    def _stop(self):
        if not self.stopped:
            self.stopped = True
            self.uc.emu_stop()

    # -- the console ----------------------------------------------------------------------
    def _rx_empty(self, uc):
        text = bytes(self.uart.out)
        if not self.autoboot_stopped:
            if b"Hit any key to stop autoboot" in text:
                self.autoboot_stopped = True
                self.uart.rx.extend(b" ")
            return
        # U-Boot's prompt at the start of a line (crc32 prints "... ==> " before its value)
        if not text.endswith(b"\n=> "):
            return
        if self.transcript:
            self.transcript[-1][1] = text[self.cursor: len(text) - 3].decode("latin-1")
        if not self.pending:
            self._stop()
            return
        cmd = self.pending.pop(0)
        self.uart.rx.extend(cmd.encode("ascii") + b"\r")
        # the echo of the command line is part of the output; cut it after the next prompt
        self.cursor = len(text)
        self.transcript.append([cmd, ""])

    def run(self):
        start = time.monotonic()
        error = None
        try:
            self.uc.emu_start(UBOOT_TEXT_BASE, -1 & 0xFFFFFFFFFFFFFFFF, timeout=int(self.timeout_s * 1e6))
        except unicorn.UcError as e:
            error = "unicorn: %s at pc 0x%x" % (e, self.uc.reg_read(A.UC_ARM64_REG_PC))
        elapsed = time.monotonic() - start
        console = bytes(self.uart.out).decode("latin-1")
        for entry in self.transcript:
            # drop the echoed command line
            out = entry[1]
            nl = out.find("\n")
            entry[1] = out[nl + 1:] if nl >= 0 else ""
        finished = self.stopped and not self.pending and not self.aborts and error is None
        if not finished and error is None and not self.aborts:
            error = "U-Boot did not finish the commands within %.0f s" % self.timeout_s
        return {
            "finished": finished,
            "error": error,
            "aborts": self.aborts,
            "mmuEnablePatchedAt": "0x%x" % self.patched_at,
            "stdoutPath": self.stdout_path,
            "forwarded": self.forwarded,
            "envFlashReads": self.env_flash_reads,
            "seconds": round(elapsed, 3),
            "transcript": [{"command": c, "output": o} for c, o in self.transcript],
            "console": console,
        }


def connect(args):
    import xenpci_client  # clients/python: the protocol of docs/simulator-protocol.md

    if args.socket:
        return xenpci_client.Client.connect_unix(args.socket)
    return xenpci_client.Client.spawn_stdio(["java", "-jar", args.jar, "serve", "--stdio"])


def main(argv=None):
    p = argparse.ArgumentParser(description="Run Debian's U-Boot as a xenpci guest under unicorn "
                                            "(docs/uboot-guest.md).")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="connect to a running `xenpci serve --socket PATH`")
    where.add_argument("--jar", help="start `java -jar JAR serve --stdio` as a child (libxl-model/target/xenpci.jar)")
    p.add_argument("--profile", default="full", choices=("full", "upstream"))
    p.add_argument("--platform", help="platform file for PLATFORM_CREATE (default: the built-in platform, "
                                        "whose QEMU NVMe at 00:02.0 has the NVMe controller model)")
    p.add_argument("--no-platform", action="store_true", help="the server already has a platform")
    p.add_argument("--config", default=os.path.join(HERE, "uboot.cfg"),
                   help="the guest's xl.cfg, with vuart = \"sbsa_uart\" (default: %(default)s)")
    p.add_argument("--uboot", default=DEFAULT_UBOOT, help="u-boot.bin (default: %(default)s)")
    p.add_argument("--cmd", action="append", default=[], help="a U-Boot command (repeatable, in order)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds of emulation at most")
    p.add_argument("--json", help="write the run's result here")
    p.add_argument("--ram-dump", nargs=3, metavar=("GPA", "LENGTH", "FILE"),
                   help="after the run, copy guest RAM [GPA, GPA+LENGTH) from the shared file to FILE")
    p.add_argument("--quiet", action="store_true", help="do not echo the console")
    args = p.parse_args(argv)
    if unicorn is None:
        print("uboot_harness: this python3 (%s) cannot import unicorn; use /usr/bin/python3 with "
              "Debian's python3-unicorn" % sys.executable, file=sys.stderr)
        return 2
    Harness.echo = not args.quiet
    with open(args.uboot, "rb") as f:
        image = f.read()
    with open(args.config, encoding="utf-8") as f:
        config = f.read()
    client = connect(args)
    try:
        if not args.no_platform:
            client.platform_create(profile=args.profile,
                                   platform=os.path.abspath(args.platform) if args.platform else None)
        guest = client.guest_create(config)
        harness = Harness(ServeLink(client, guest), image, args.cmd, args.timeout)
        result = harness.run()
        result["domid"] = guest.domid
        result["profile"] = args.profile
        if args.ram_dump:
            # what the guest left in RAM, read through the shared file (not over the socket)
            gpa, length, path = args.ram_dump
            with open(path, "wb") as f:
                f.write(guest.ram_read(int(gpa, 0), int(length, 0)))
    finally:
        client.close()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    if not args.quiet:
        print()
    status = "finished" if result["finished"] else "FAILED: %s" % (result["error"] or result["aborts"])
    print("uboot_harness: %s in %.2f s, %d abort(s), forwarded %s"
          % (status, result["seconds"], len(result["aborts"]), result["forwarded"]), file=sys.stderr)
    return 0 if result["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
