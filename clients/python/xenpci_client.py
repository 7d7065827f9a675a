"""Python client of the xenpci simulator protocol (docs/simulator-protocol.md), version 1.0.

Standard library only; Python 3.9+. One Client is one connection and one driver: it is not
thread-safe (use one Client per thread). Guest RAM is shared: Guest.ram_read / ram_write go
through the server's RAM files mapped into this process, never over the socket.

    from xenpci_client import Client
    with Client.connect_unix("/tmp/xenpci.sock") as c:
        c.platform_create(profile="full")
        g = c.guest_create('name="g"\\nmemory=256\\npci=["0000:00:01.0"]\\n')
        r = c.mmio_read(g.domid, 0, g.ecam[0].base, 4)
"""

import base64
import json
import mmap
import os
import socket
import struct
import subprocess

__all__ = [
    "Client", "Guest", "RamBank", "EcamWindow", "MmioResult", "HvcResult", "IrqEvent",
    "XenpciError", "ProtocolError",
]

MAGIC = 0x49435058  # b"XPCI"
MAJOR = 1
MINOR = 0

FEATURE_IRQ_EVENTS = 1 << 0
FEATURE_SHARED_RAM = 1 << 1

FLAG_REPLY = 1 << 0
FLAG_ERROR = 1 << 1
FLAG_EVENT = 1 << 2

HELLO = 0x0001
PLATFORM_CREATE = 0x0002
GUEST_CREATE = 0x0003
SCENARIO_LOAD = 0x0004
MMIO_READ = 0x0010
MMIO_WRITE = 0x0011
HVC = 0x0012
IRQ_ACK = 0x0013
IRQ_PENDING = 0x0014
PAUSE = 0x0020
UNPAUSE = 0x0021
DESTROY = 0x0022
SNAPSHOT = 0x0023
DEVICE_SIGNAL = 0x0030
SHUTDOWN = 0x00FF
IRQ_EVENT = 0x4001

XEN_HYPERCALL_TAG = 0xEA1

SIGNAL_RESULTS = ["SENT", "PENDING", "DISABLED", "BUS_MASTER_DISABLED", "NO_SUCH_VECTOR",
                  "NO_CAPABILITY", "NOT_CONNECTED"]

_HEADER = struct.Struct("<IHHIi")
# Whole MMIO request frames (header + payload) and the reply's fixed part: one pack, one unpack.
_MMIO_READ_FRAME = struct.Struct("<IHHIiHHB3xQ")
_MMIO_WRITE_FRAME = struct.Struct("<IHHIiHHB3xQQ")
_MMIO_REPLY = struct.Struct("<IHHIiIIQ")
_MAX_PAYLOAD = 16 << 20


class ProtocolError(Exception):
    """The peer broke the framing (not a refused request: that is XenpciError)."""


class XenpciError(Exception):
    """An error reply: errno is the negative Xen errno, detail a libxl error code or 0."""

    def __init__(self, request_type, errno, detail, message):
        super().__init__("request 0x%04x failed: %d (detail %d): %s" % (request_type, errno, detail, message))
        self.request_type = request_type
        self.errno = errno
        self.detail = detail
        self.message = message


class MmioResult:
    """A load or store's outcome: data, or a data abort with its reason."""
    __slots__ = ("aborted", "retryable", "data", "reason")

    def __init__(self, aborted, retryable, data, reason):
        self.aborted = aborted
        self.retryable = retryable
        self.data = data
        self.reason = reason

    def __repr__(self):
        if self.aborted:
            return "MmioResult(abort %r%s)" % (self.reason, ", retryable" if self.retryable else "")
        return "MmioResult(data=0x%x)" % self.data


class HvcResult:
    """x0..x5 after the HVC (x[0] is the return value); undefined: Xen injected an UNDEF."""
    __slots__ = ("undefined", "x")

    def __init__(self, undefined, x):
        self.undefined = undefined
        self.x = x

    @property
    def rc(self):
        """x0 as a signed 64-bit value (a negative errno on failure)."""
        v = self.x[0]
        return v - (1 << 64) if v >= 1 << 63 else v


class IrqEvent:
    """IRQ_EVENT: interrupt intid became pending on vCPU vcpu of domain domid."""
    __slots__ = ("domid", "vcpu", "intid")

    def __init__(self, domid, vcpu, intid):
        self.domid = domid
        self.vcpu = vcpu
        self.intid = intid

    def __eq__(self, other):
        return isinstance(other, IrqEvent) and (self.domid, self.vcpu, self.intid) == (other.domid, other.vcpu, other.intid)

    def __hash__(self):
        return hash((self.domid, self.vcpu, self.intid))

    def __repr__(self):
        return "IrqEvent(d%d v%d intid %d)" % (self.domid, self.vcpu, self.intid)


def _hex(v):
    return int(v, 16) if isinstance(v, str) else v


class RamBank:
    """One guest RAM bank, mapped from the server's file."""

    def __init__(self, j):
        self.gpa = _hex(j["gpa"])
        self.size = _hex(j["size"])
        self.path = j["path"]
        self.offset = _hex(j.get("offset", 0))
        fd = os.open(self.path, os.O_RDWR)
        try:
            self.map = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                                 offset=self.offset)
        finally:
            os.close(fd)

    def contains(self, gpa, length=1):
        return self.gpa <= gpa and gpa + length <= self.gpa + self.size

    def close(self):
        self.map.close()


class EcamWindow:
    """A vPCI host bridge node of the guest DT: its ECAM window and bus range."""

    def __init__(self, j):
        self.base = _hex(j["base"])
        self.size = _hex(j["size"])
        self.bus_start = j.get("busStart", 0)
        self.bus_end = j.get("busEnd", 255)
        self.mem32 = j.get("mem32")
        self.mem64 = j.get("mem64")
        if self.mem32:
            self.mem32 = (_hex(self.mem32["base"]), _hex(self.mem32["size"]))
        if self.mem64:
            self.mem64 = (_hex(self.mem64["base"]), _hex(self.mem64["size"]))

    def config_address(self, bus, dev, fn, reg):
        """ECAM: bus << 20 | dev << 15 | fn << 12 | reg, from the window base."""
        return self.base + ((bus - self.bus_start) << 20 | dev << 15 | fn << 12 | reg)


class Guest:
    """What GUEST_CREATE returned, with the RAM banks mapped."""

    def __init__(self, j):
        self.json = j
        self.domid = j["domid"]
        self.name = j.get("name")
        self.vcpus = j.get("vcpus", 1)
        self.ram = [RamBank(b) for b in j.get("ram", [])]
        self.dtb = base64.b64decode(j["dtb"]) if j.get("dtb") else b""
        self.ecam = [EcamWindow(e) for e in j.get("ecam", [])]
        self.its = _hex(j["its"]) if j.get("its") else None
        self.devices = j.get("devices", [])

    def _bank(self, gpa, length):
        for b in self.ram:
            if b.contains(gpa, length):
                return b
        raise ValueError("0x%x+%d is not inside one RAM bank of d%d" % (gpa, length, self.domid))

    def ram_read(self, gpa, length):
        b = self._bank(gpa, length)
        o = gpa - b.gpa
        return bytes(b.map[o:o + length])

    def ram_write(self, gpa, data):
        b = self._bank(gpa, len(data))
        o = gpa - b.gpa
        b.map[o:o + len(data)] = data

    def ram_read64(self, gpa):
        return struct.unpack("<Q", self.ram_read(gpa, 8))[0]

    def ram_write64(self, gpa, value):
        self.ram_write(gpa, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))

    def close(self):
        for b in self.ram:
            b.close()


class Client:
    """One connection to `xenpci serve`. Use connect_unix / connect_tcp / spawn_stdio."""

    def __init__(self, rfile, wfile, closer=None, features=FEATURE_IRQ_EVENTS | FEATURE_SHARED_RAM):
        self._r = rfile
        self._w = wfile
        self._closer = closer
        self._next_id = 1
        self.events = []  # IrqEvents received and not yet taken (take_events)
        self.guests = []
        magic, major, minor, feats, j = self._hello(features)
        self.server_version = (major, minor)
        self.features = feats
        self.server_info = j

    # ---- connecting ----

    @classmethod
    def connect_unix(cls, path, **kw):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return cls._over_socket(s, **kw)

    @classmethod
    def connect_tcp(cls, port, host="127.0.0.1", **kw):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls._over_socket(s, **kw)

    @classmethod
    def _over_socket(cls, s, **kw):
        r = s.makefile("rb", buffering=65536)
        w = s.makefile("wb", buffering=0)

        def close():
            r.close()
            w.close()
            s.close()
        return cls(r, w, close, **kw)

    @classmethod
    def spawn_stdio(cls, argv, **kw):
        """Starts `argv` (e.g. ["java", "-jar", "xenpci.jar", "serve", "--stdio"]) as a child."""
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

        def close():
            p.stdin.close()
            p.wait(timeout=30)
            p.stdout.close()
        return cls(p.stdout, p.stdin, close, **kw)

    def close(self):
        for g in self.guests:
            g.close()
        self.guests = []
        if self._closer:
            self._closer()
            self._closer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- framing ----

    def _read_exact(self, n):
        buf = self._r.read(n)
        if buf is None or len(buf) != n:
            raise ProtocolError("connection closed by the server")
        return buf

    def send(self, mtype, payload=b""):
        """Sends one request; returns its id (read the reply with wait)."""
        rid = self._next()
        self._w.write(_HEADER.pack(len(payload), mtype, 0, rid, 0) + payload)
        return rid

    def wait(self, rid):
        """Reads frames until the reply to request rid; events on the way go to self.events."""
        while True:
            size, mtype, flags, fid, status = _HEADER.unpack(self._read_exact(_HEADER.size))
            if size > _MAX_PAYLOAD:
                raise ProtocolError("frame of %d bytes" % size)
            payload = self._read_exact(size) if size else b""
            if flags & FLAG_EVENT:
                if mtype == IRQ_EVENT and len(payload) >= 8:
                    d, v, i = struct.unpack_from("<HHI", payload)
                    self.events.append(IrqEvent(d, v, i))
                continue  # unknown event types are ignored (versioning policy)
            if not flags & FLAG_REPLY or fid != rid:
                raise ProtocolError("unexpected frame type 0x%04x id %d (waiting for %d)" % (mtype, fid, rid))
            if flags & FLAG_ERROR:
                detail = struct.unpack_from("<i", payload)[0] if len(payload) >= 4 else 0
                raise XenpciError(mtype, status, detail, payload[4:].decode("utf-8", "replace"))
            return payload

    def call(self, mtype, payload=b""):
        return self.wait(self.send(mtype, payload))

    def call_json(self, mtype, obj=None):
        data = self.call(mtype, b"" if obj is None else json.dumps(obj).encode())
        return json.loads(data.decode()) if data else None

    # ---- messages ----

    def _hello(self, features):
        p = self.call(HELLO, struct.pack("<IHHQ", MAGIC, MAJOR, MINOR, features))
        magic, major, minor, feats = struct.unpack_from("<IHHQ", p)
        if magic != MAGIC:
            raise ProtocolError("bad magic 0x%x" % magic)
        j = json.loads(p[16:].decode()) if len(p) > 16 else {}
        return magic, major, minor, feats, j

    def platform_create(self, profile=None, platform=None):
        req = {}
        if profile:
            req["profile"] = profile
        if platform:
            req["platform"] = platform
        return self.call_json(PLATFORM_CREATE, req)

    def guest_create(self, config_text, probe=False):
        g = Guest(self.call_json(GUEST_CREATE, {"config": config_text, "probe": probe}))
        self.guests.append(g)
        return g

    def scenario_load(self, guests, profile=None, platform=None):
        req = {"guests": list(guests)}
        if profile:
            req["profile"] = profile
        if platform:
            req["platform"] = platform
        j = self.call_json(SCENARIO_LOAD, req)
        gs = [Guest(x) for x in j["guests"]]
        self.guests.extend(gs)
        return j["boot"], gs

    @staticmethod
    def _mmio_result(p):
        outcome, flags, data = struct.unpack_from("<IIQ", p)
        if outcome == 1:
            return MmioResult(True, bool(flags & 1), 0, p[16:].decode("utf-8", "replace"))
        return MmioResult(False, False, data, None)

    def _next(self):
        rid = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF or 1
        return rid

    def _mmio_reply(self, rid):
        # Fast path: the usual reply is exactly header + 16 bytes (no abort reason, no event before it).
        buf = self._r.peek(32)[:32] if hasattr(self._r, "peek") else b""
        if len(buf) == 32:
            size, mtype, flags, fid, status, outcome, aflags, data = _MMIO_REPLY.unpack(buf)
            if size == 16 and flags == FLAG_REPLY and fid == rid:
                self._r.read(32)
                return MmioResult(outcome == 1, bool(aflags & 1), data, "" if outcome == 1 else None)
        return self._mmio_result(self.wait(rid))

    def mmio_read(self, domid, vcpu, addr, width):
        rid = self._next()
        self._w.write(_MMIO_READ_FRAME.pack(16, MMIO_READ, 0, rid, 0, domid, vcpu, width, addr))
        return self._mmio_reply(rid)

    def mmio_write(self, domid, vcpu, addr, width, data):
        mask = (1 << (8 * width)) - 1 if width < 8 else 0xFFFFFFFFFFFFFFFF
        rid = self._next()
        self._w.write(_MMIO_WRITE_FRAME.pack(24, MMIO_WRITE, 0, rid, 0, domid, vcpu, width, addr, data & mask))
        return self._mmio_reply(rid)

    def hvc(self, domid, vcpu, x16, x=(), imm=XEN_HYPERCALL_TAG):
        regs = [v & 0xFFFFFFFFFFFFFFFF for v in list(x) + [0] * (6 - len(x))]
        p = self.call(HVC, struct.pack("<HHIQ6Q", domid, vcpu, imm, x16, *regs))
        outcome = struct.unpack_from("<I", p)[0]
        return HvcResult(outcome == 2, list(struct.unpack_from("<6Q", p, 8)))

    def irq_ack(self, domid, vcpu, intid):
        return struct.unpack(
            "<I", self.call(IRQ_ACK, struct.pack("<HHI", domid, vcpu, intid))[:4])[0] == 1

    def irq_pending(self, domid, vcpu):
        p = self.call(IRQ_PENDING, struct.pack("<HH", domid, vcpu))
        n = struct.unpack_from("<I", p)[0]
        return list(struct.unpack_from("<%dI" % n, p, 4))

    def take_events(self):
        ev, self.events = self.events, []
        return ev

    def pause(self, domid):
        self.call(PAUSE, struct.pack("<H", domid))

    def unpause(self, domid):
        self.call(UNPAUSE, struct.pack("<H", domid))

    def destroy(self, domid):
        self.call(DESTROY, struct.pack("<H", domid))
        for g in [g for g in self.guests if g.domid == domid]:
            g.close()
            self.guests.remove(g)

    def snapshot(self):
        return self.call_json(SNAPSHOT)

    def device_signal(self, sbdf, vector):
        """Test driver: the function at machine sbdf ("0000:00:01.0") signals MSI(-X) vector."""
        seg, bus, devfn = _parse_sbdf(sbdf)
        p = self.call(DEVICE_SIGNAL, struct.pack("<HBBI", seg, bus, devfn, vector))
        return SIGNAL_RESULTS[struct.unpack_from("<I", p)[0]]

    def shutdown(self):
        self.call(SHUTDOWN)


def _parse_sbdf(s):
    parts = s.split(":")
    if len(parts) == 2:
        parts = ["0"] + parts
    seg = int(parts[0], 16)
    bus = int(parts[1], 16)
    dev, fn = parts[2].split(".")
    return seg, bus, int(dev, 16) << 3 | int(fn, 16)
