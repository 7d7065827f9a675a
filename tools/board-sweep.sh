#!/bin/bash
# Boots every DTB of Debian's arm64 kernel package that has a PCI host bridge node, in both
# profiles, and classifies each result as Xen would (docs/boards.md): host bridges registered,
# every host bridge node skipped (with Xen's reason), boot refused (typed error and reason), or
# an untyped error (a model bug: the script fails if there is any).
#
# Needs: apt, dpkg, Java 17, and the project's CLI jar (build it first:
#   ./mvnw -B -q package -pl libxl-model -am -DskipTests). Root only for apt (sudo if not root).
#
# Usage: tools/board-sweep.sh [SCRATCH_DIR]      (default: target/board-sweep)
# Writes SCRATCH_DIR/board-sweep.tsv (dtb, profile, outcome, bridges, reason) and
# SCRATCH_DIR/boards-results.md (the counts table and per-reason lists for docs/boards.md).
# Environment: XENPCI_JAR (default libxl-model/target/xenpci.jar), KERNEL_PACKAGE (default: what
# bookworm's linux-image-arm64 metapackage depends on).
# Idempotent: re-running reuses the downloaded package and overwrites the results.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$repo/target/board-sweep}
jar=${XENPCI_JAR:-$repo/libxl-model/target/xenpci.jar}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

[ -f "$jar" ] || { echo "board-sweep: $jar missing; build it: ./mvnw -B -q package -pl libxl-model -am -DskipTests" >&2; exit 1; }
java -version 2>&1 | head -n1

# 1. The arm64 package lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64 && [ "$(dpkg --print-architecture)" != arm64 ]; then
    echo "+ dpkg --add-architecture arm64 && apt-get update"
    sudo_ dpkg --add-architecture arm64
    sudo_ apt-get update -q
fi
if ! apt-cache show linux-image-arm64:arm64 >/dev/null 2>&1; then
    sudo_ apt-get update -q
fi

# 2. The kernel image package: the one the metapackage points at, unless told otherwise.
pkg=${KERNEL_PACKAGE:-$(apt-cache depends linux-image-arm64:arm64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }')}
[ -n "$pkg" ] || { echo "board-sweep: cannot find the kernel package behind linux-image-arm64 (apt-cache depends)" >&2; exit 1; }
version=$(apt-cache show "$pkg:arm64" | awk '$1 == "Version:" { print $2; exit }')
deb=$(ls "$scratch"/"${pkg}"_*_arm64.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ] || [ "$(dpkg-deb -f "$deb" Version)" != "$version" ]; then
    rm -f "$scratch"/"${pkg}"_*_arm64.deb
    echo "+ apt-get download $pkg:arm64 ($version)"
    # apt's _apt sandbox user may not write to the scratch dir: download into a fresh temp dir it owns.
    tmp=$(mktemp -d)
    chmod 0777 "$tmp"
    (cd "$tmp" && apt-get download "$pkg:arm64")
    mv "$tmp"/*.deb "$scratch"/
    rmdir "$tmp"
    deb=$(ls "$scratch"/"${pkg}"_*_arm64.deb | head -n1)
fi
sha=$(sha256sum "$deb" | cut -d' ' -f1)
echo "package: $pkg $version ($(basename "$deb"), sha256 $sha)"

# 3. Its DTBs.
root=$scratch/root
rm -rf "$root"
dpkg-deb -x "$deb" "$root"
dtbdir=$(ls -d "$root"/usr/lib/linux-image-*/ | head -n1)
count=$(find "$dtbdir" -name '*.dtb' | wc -l)
echo "DTBs in the package: $count"
[ "$count" -gt 0 ] || { echo "board-sweep: no DTB under $dtbdir" >&2; exit 1; }

# 4. Classify: the CLI reads each DTB, selects those with a host bridge node (the others are
# 'no-host-bridge'), boots the rest in both profiles through the same path as 'boot --platform'.
tsv=$scratch/board-sweep.tsv
md=$scratch/boards-results.md
(cd "$dtbdir" && find . -name '*.dtb' | sed 's|^\./||' | LC_ALL=C sort | xargs java -jar "$jar" classify --markdown "$md") \
    > "$tsv.tmp" 2> "$scratch/board-sweep.log"
# Every DTB must come back once per profile.
lines=$(($(wc -l < "$tsv.tmp") - 1))
[ "$lines" -eq $((count * 2)) ] || { echo "board-sweep: $lines results for $count DTBs x 2 profiles" >&2; exit 1; }
mv "$tsv.tmp" "$tsv"
{
    echo "Package: \`$pkg\` version \`$version\` (Debian bookworm arm64, \`$(basename "$deb")\`, sha256 \`$sha\`); $count DTBs; swept $(date -u +%Y-%m-%d)."
    echo
    cat "$md"
} > "$md.tmp" && mv "$md.tmp" "$md"

echo
awk -F'\t' 'NR > 1 { n[$3 "\t" $2]++ } END { for (k in n) print n[k] "\t" k }' "$tsv" | LC_ALL=C sort -k2,2 -k3,3
echo "results: $tsv"
echo "markdown: $md"
untyped=$(awk -F'\t' 'NR > 1 && $3 == "untyped-error"' "$tsv" | wc -l)
if [ "$untyped" -ne 0 ]; then
    echo "board-sweep: $untyped untyped error(s):" >&2
    awk -F'\t' 'NR > 1 && $3 == "untyped-error"' "$tsv" >&2
    exit 1
fi
