#!/bin/bash
# Validates the guest device trees that `xenpci create` writes against Linux's own bindings:
# Debian's dt-schema (dt-validate) with the YAML bindings of Debian's linux-source package.
# Four guests: gic_version v3 and v2, each in the full and the upstream profile, all with the
# demo guest's two passed-through functions. Every finding must be one of the expected ones
# listed in tools/dt-validate-expected.txt (what libxl itself emits and the bindings reject,
# docs/profiles.md "Guest DT against Linux's bindings"); anything else fails the script.
#
# Needs: apt (dt-schema, linux-source-6.1; installed when missing, root or sudo), Java 17 and
# the CLI jar (./mvnw -B -q package -pl libxl-model -am -DskipTests).
# Usage: tools/dt-validate-guest.sh [SCRATCH_DIR]     (default: target/dt-validate)
# Idempotent: the extracted bindings and the processed schema are reused.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$repo/target/dt-validate}
jar=${XENPCI_JAR:-$repo/libxl-model/target/xenpci.jar}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

[ -f "$jar" ] || { echo "dt-validate-guest: $jar missing; build it: ./mvnw -B -q package -pl libxl-model -am -DskipTests" >&2; exit 1; }
src=linux-source-6.1
if ! command -v dt-validate >/dev/null || [ ! -f /usr/src/$src.tar.xz ]; then
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dt-schema $src
fi
echo "dt-schema $(dt-validate --version 2>&1), bindings of $(dpkg-query -W -f '${Package} ${Version}' $src)"

if [ ! -d "$scratch/$src/Documentation/devicetree/bindings" ]; then
    tar -C "$scratch" -xJf /usr/src/$src.tar.xz --wildcards "$src/Documentation/devicetree/bindings/*"
fi
if [ ! -f "$scratch/processed.json" ]; then
    dt-mk-schema -j -o "$scratch/processed.json" "$scratch/$src/Documentation/devicetree/bindings/" >/dev/null
fi

base="$repo/libxl-model/src/main/resources/org/xenpci/libxl/demo/demo-guest.cfg"
: > "$scratch/findings.txt"
for gic in v3 v2; do
    sed "s/^gic_version = .*/gic_version = \"$gic\"/" "$base" > "$scratch/guest-$gic.cfg"
    for profile in full upstream; do
        out="$scratch/out-$gic-$profile"
        java -jar "$jar" create "$scratch/guest-$gic.cfg" --profile "$profile" --out "$out" >/dev/null
        # One line per finding: the guest, the node, the first line of dt-validate's message.
        dt-validate -s "$scratch/processed.json" "$out/guest.dtb" 2>&1 \
            | grep -E '^/.*guest\.dtb: ' | sed -E "s#^[^:]*guest\.dtb: #$gic $profile: #" \
            | sed -E 's/ does not match any of the regexes:.*| do not match any of the regexes:.*/ (unexpected property or node)/' \
            >> "$scratch/findings.txt" || true
    done
done
sort -u "$scratch/findings.txt" -o "$scratch/findings.txt"
cat "$scratch/findings.txt"
if diff -u "$repo/tools/dt-validate-expected.txt" "$scratch/findings.txt"; then
    echo "dt-validate-guest: only the expected findings (tools/dt-validate-expected.txt)"
else
    echo "dt-validate-guest: findings differ from tools/dt-validate-expected.txt" >&2
    exit 1
fi
