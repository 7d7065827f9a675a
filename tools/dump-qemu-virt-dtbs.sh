#!/bin/sh
# Regenerates the QEMU 'virt' host DTB fixtures of
# src-test-fixtures/src/main/resources/org/xenpci/fixtures/dtb/ (documentation of how they were made).
#
# Needs: qemu-system-aarch64 (Debian 12: qemu-system-arm), dtc (device-tree-compiler), and
# ipxe-qemu (the default virtio-net-pci NIC of 'virt' needs efi-virtio.rom; without it QEMU
# stops with 'failed to find romfile "efi-virtio.rom"'. Adding '-nic none' works as well and
# gives the same DTB).
#
# NOTE: QEMU 7.2 writes a fresh random /chosen/rng-seed and /chosen/kaslr-seed on every run,
# so a re-dump never matches the committed files byte for byte (sha256 differs); everything
# else is identical. Compare with: dtc -I dtb -O dts F | grep -vE 'rng-seed|kaslr-seed'
#
# Usage: tools/dump-qemu-virt-dtbs.sh OUTDIR [--check-devices]
set -eu
out=${1:?usage: $0 OUTDIR [--check-devices]}
mkdir -p "$out"
qemu-system-aarch64 --version | head -n1

dump() { # file machine-options [extra qemu args...]
    f=$1; m=$2; shift 2
    echo "+ qemu-system-aarch64 -machine $m,dumpdtb=$out/$f -cpu cortex-a57 -m 1G -smp 2 -nographic $*"
    qemu-system-aarch64 -machine "$m,dumpdtb=$out/$f" -cpu cortex-a57 -m 1G -smp 2 -nographic "$@"
}

dump qemu-virt-gicv3-its.dtb             virt,gic-version=3,its=on
dump qemu-virt-gicv3-its-highmem-off.dtb virt,gic-version=3,its=on,highmem=off
dump qemu-virt-gicv3-noits.dtb           virt,gic-version=3,its=off
dump qemu-virt-gicv2.dtb                 virt,gic-version=2
dump qemu-virt-gicv3-smmuv3.dtb          virt,gic-version=3,its=on,iommu=smmuv3

for f in "$out"/qemu-virt-*.dtb; do
    echo "+ dtc -I dtb -O dts $f"
    dtc -I dtb -O dts -o /dev/null "$f"
done

if [ "${2:-}" = "--check-devices" ]; then
    # Does plugging PCI(e) devices change the DTB? (Answer with QEMU 7.2: no, only the seeds differ.)
    tmp=$(mktemp -d)
    m=virt,gic-version=3,its=on
    strip() { dtc -I dtb -O dts "$1" | grep -vE 'rng-seed|kaslr-seed'; }
    out_save=$out; out=$tmp
    dump base.dtb "$m"
    dump e1000e.dtb "$m" -device e1000e
    dump nvme.dtb "$m" -device nvme,serial=x
    dump many.dtb "$m" -device e1000e -device nvme,serial=x \
        -device pcie-root-port,id=rp0,chassis=1 -device e1000e,bus=rp0
    dump nicnone.dtb "$m" -nic none
    strip "$tmp/base.dtb" > "$tmp/base.dts"
    rc=0
    for v in e1000e nvme many nicnone; do
        if strip "$tmp/$v.dtb" | diff -u "$tmp/base.dts" - ; then
            echo "$v: DTB identical to base (except rng-seed/kaslr-seed)"
        else
            echo "$v: DTB DIFFERS from base"; rc=1
        fi
    done
    out=$out_save
    rm -rf "$tmp"
    exit $rc
fi
