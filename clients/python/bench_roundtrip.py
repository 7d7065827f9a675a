#!/usr/bin/env python3
"""Round-trip cost of one MMIO read against `xenpci serve` (docs/benchmarks.md).

    python3 bench_roundtrip.py SOCKET_PATH [N]      (or: --tcp PORT [N])

Creates the default platform and a guest with the e1000e, then times N config-space reads of
the device's vendor/device ID through the guest's ECAM window (a vPCI trap, Xen's full path)
two ways: through Client.mmio_read (what a driver written with the client pays) and with a
pre-packed request frame on the raw socket (the protocol's own cost). Prints the mean and the
median per read in microseconds after a warm-up of N/10 reads.
"""

import socket
import statistics
import struct
import sys
import time

from xenpci_client import Client, MMIO_READ


def timed(fn, n):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.mean(samples) / 1000.0, statistics.median(samples) / 1000.0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--tcp":
        c = Client.connect_tcp(int(argv[2]))
        rest = argv[3:]
    elif len(argv) >= 2:
        c = Client.connect_unix(argv[1])
        rest = argv[2:]
    else:
        print(__doc__)
        return 2
    n = int(rest[0]) if rest else 20000
    with c:
        if not c.server_info.get("platform"):
            c.platform_create(profile="full")
        g = c.guest_create('name = "bench"\nmemory = 128\nvcpus = 1\npci = [ "0000:00:01.0" ]\n')
        addr = g.ecam[0].base
        assert c.mmio_read(g.domid, 0, addr, 4).data == 0x10D38086

        def api():
            c.mmio_read(g.domid, 0, addr, 4)

        frame = struct.pack("<IHHIi", 16, MMIO_READ, 0, 7, 0) + struct.pack("<HHB3xQ", g.domid, 0, 4, addr)
        w = c._w
        r = c._r

        def raw():
            w.write(frame)
            r.read(16 + 16)

        for name, fn in (("client", api), ("raw", raw)):
            timed(fn, max(1, n // 10))
            mean, median = timed(fn, n)
            print("%-6s MMIO_READ (vPCI config, 4 bytes): mean %.1f us, median %.1f us over %d reads"
                  % (name, mean, median, n))
        c.destroy(g.domid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
