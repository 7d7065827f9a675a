#!/usr/bin/env python3
"""The comparison for bench_roundtrip.py: QEMU qtest's `readl` from a Python driver (docs/benchmarks.md).

    python3 bench_qtest.py [N] [QEMU]      (QEMU default: qemu-system-aarch64)

Listens on a Unix socket, starts `QEMU -machine virt -qtest unix:SOCKET -display none ...`
(QEMU connects to the driver, as libqtest does), then times N `readl` commands of the gpex
host bridge's vendor/device ID through the virt machine's ECAM window (0x4010000000: a
config-space read, like bench_roundtrip.py's) and of the PL011's flag register. Prints the mean
and the median per readl in microseconds after a warm-up of N/10.
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 20000
    qemu = argv[2] if len(argv) > 2 else "qemu-system-aarch64"
    d = tempfile.mkdtemp()
    path = os.path.join(d, "qtest.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    p = subprocess.Popen([qemu, "-machine", "virt", "-qtest", "unix:" + path,
                          "-display", "none", "-nodefaults", "-serial", "none", "-monitor", "none"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        srv.settimeout(30)
        s, _ = srv.accept()
        r = s.makefile("rb")

        def readl(addr):
            s.sendall(b"readl 0x%x\n" % addr)
            while True:
                line = r.readline()
                if not line:
                    raise RuntimeError("qemu closed the qtest socket")
                if line.startswith(b"OK"):
                    return int(line.split()[1], 16)
                if line.startswith(b"FAIL") or line.startswith(b"ERR"):
                    raise RuntimeError(line.decode())
                # IRQ lines and other asynchronous output are skipped

        ecam = 0x4010000000
        print("qtest: gpex ECAM 00:00.0 ID = 0x%08x" % readl(ecam))
        for name, addr in (("ECAM config", ecam), ("PL011 UARTFR", 0x09000018)):
            for _ in range(max(1, n // 10)):
                readl(addr)
            samples = []
            for _ in range(n):
                t0 = time.perf_counter_ns()
                readl(addr)
                samples.append(time.perf_counter_ns() - t0)
            print("qtest  readl (%s): mean %.1f us, median %.1f us over %d reads"
                  % (name, statistics.mean(samples) / 1000.0, statistics.median(samples) / 1000.0, n))
        s.close()
    finally:
        p.kill()
        p.wait()
        srv.close()
        os.unlink(path)
        os.rmdir(d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
