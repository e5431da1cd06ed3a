#!/bin/sh
# Rescan of the whole catalog (every image under images/, every tier, and their upstream
# references) by `armorred monitor run` against a new vulnerability DB: each SBOM read once, the
# catalog's distinct packages looked up once, every finding decided, every OpenVEX document
# written, everything recorded in a fresh SQLite state. Goal (issue #15): under 1 s.
#
# No peer exists for this one (no other tool rescans a catalog and decides VEX from build
# facts; grype and trivy are not installable here), so the figure stands alone, with what it
# was measured on.
#
# Needs a pipeline output: $OUT (default out) holding index.json; without one it runs
# `armorred pipeline --no-sign --out $OUT` first (slow: it builds every image, every tier, once;
# the figure printed names the catalog it measured).
# The new DB: Debian's DSA/DLA fixed versions and the changelog-derived fixes from
# ../shared/data/debian-security-advisories.
set -eu
cd "$(dirname "$0")/.."
# ARMORRED=path/to/armorred uses that binary instead of a fresh release build.
if [ -z "${ARMORRED:-}" ]; then
  cargo build -q --release -p armorred-cli
  ARMORRED=${CARGO_TARGET_DIR:-target}/release/armorred
fi
bin=$ARMORRED
OUT=${OUT:-out}
data=../shared/data/debian-security-advisories
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -f "$OUT/index.json" ]; then
  echo "no $OUT/index.json: running the pipeline once (every image, every tier)" >&2
  "$bin" pipeline -q --no-sign --out "$OUT" --db "$work/build.db" >&2 || {
    "$bin" db import --db "$work/build.db" "$data/tracker-json" >/dev/null
    "$bin" pipeline -q --no-sign --out "$OUT" --db "$work/build.db" >&2
  }
fi
"$bin" db import --db "$work/new.db" "$data/tracker-json" "$data/derived" >/dev/null
# The monitor writes each tier's vex.openvex.json: run on a copy of the outputs (without images).
mkdir -p "$work/out"
(cd "$OUT" && find . \( -name image -o -name site -o -name rebuilds \) -prune -o -type f -exec cp --parents {} "$work/out" \;)
best=""
for i in 1 2 3; do
  rm -f "$work/state.db" "$work/state.db-wal" "$work/state.db-shm"
  start=$(date +%s.%N)
  "$bin" monitor run -q --from "$work/out" --state "$work/state.db" --db "$work/new.db" >"$work/run.txt"
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  echo "run $i: $t s" >&2
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
findings=$(awk -F'\t' '/ findings, /{split($2,a," "); s+=a[1]} END{print s+0}' "$work/run.txt")
tiers=$(grep -c 'findings, ' "$work/run.txt" || true)
printf 'monitor rescan of %s: %s tiers (%s), %s findings decided, best of 3: %s s (goal < 1 s)\n' \
  "$OUT" "$tiers" "$(grep -o '^[a-z0-9-]*:[a-z]*' "$work/run.txt" | sort -u | tr '\n' ' ')" "$findings" "$best"
