#!/usr/bin/env bash
# Benchmark: `armorred checksec` against Debian's checksec.sh on the same directory, one run,
# side by side. Prints both wall times, the files each analysed, and the speed-up ratio.
#
#   bench/checksec.sh [DIR]        (default: /usr/lib/x86_64-linux-gnu)
#
# Needs: checksec (Debian package), a release build of armorred (built here).
set -euo pipefail
dir=${1:-/usr/lib/x86_64-linux-gnu}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v checksec >/dev/null || { echo "checksec is not installed (apt-get install checksec)" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p armorred-cli
bin="${CARGO_TARGET_DIR:-$root/target}/release/armorred"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

now() { date +%s.%N; }
t0=$(now); "$bin" checksec --format json --extended "$dir" > "$out/ours.json"; t1=$(now)
checksec --dir="$dir" --output=json --extended > "$out/theirs.json" 2>/dev/null || true; t2=$(now)

ours_n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/ours.json")
theirs_n=$(grep -o '"filename":' "$out/theirs.json" | wc -l)
python3 - "$t0" "$t1" "$t2" "$ours_n" "$theirs_n" "$dir" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
ours, theirs = t1 - t0, t2 - t1
print(f"directory: {sys.argv[6]}")
print(f"armorred checksec: {ours:8.3f} s  {sys.argv[4]} ELF files")
print(f"checksec.sh      : {theirs:8.3f} s  {sys.argv[5]} ELF files")
print(f"ratio            : {theirs / ours:8.1f}x faster")
PY
