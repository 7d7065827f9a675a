#!/bin/sh
# Builds Xen's vpci.c with its unit-test harness (as tools/tests/vpci/Makefile does) and this
# directory's timing main, then runs it: the same-machine reference for docs/performance.md.
# Usage: tools/xen-vpci-bench/run.sh XEN_SOURCE_TREE   (a checkout of xen-project/xen)
set -eu
if [ $# -ne 1 ] || [ ! -f "$1/xen/drivers/vpci/vpci.c" ]; then
    echo "usage: $0 XEN_SOURCE_TREE (a checkout of xen-project/xen)" >&2
    exit 2
fi
xen=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The harness's own preparation (tools/tests/vpci/Makefile): the hypervisor files without their includes.
sed -e '/#include/d' "$xen/xen/drivers/vpci/vpci.c" > "$work/vpci.c"
sed -e '/#include/d' "$xen/xen/drivers/vpci/private.h" > "$work/private.h"
for h in list vpci; do sed -e '/#include/d' "$xen/xen/include/xen/$h.h" > "$work/$h.h"; done
cp "$xen/tools/tests/vpci/emul.h" "$work/"
cc -O2 -I"$xen/tools/include" -I"$work" -include "$work/emul.h" -o "$work/bench" "$work/vpci.c" "$here/bench.c"
echo "xen: $(git -C "$xen" rev-parse --short HEAD 2>/dev/null || echo unknown); cc: $(cc --version | head -n 1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/bench"
