#!/usr/bin/env bash
# Build times of the catalog (issue #14's goals): every image and tier of `armorred pipeline
# --plan` built cold (its own empty cache: packages downloaded, build root unpacked, sources
# compiled) and warm (the same cache, nothing changed), then the main job over the whole catalog
# twice on a cache holding those builds (the first run also builds the upstream references and
# the DB; the second is the warm pipeline). Prints wall, user and system seconds and peak RSS.
#
#   bench/build-times.sh [--warm-only] [IMAGE...]     (default: every image of the plan)
#
# --warm-only: one shared cache from the start (packages and builds already there are reused),
# so "cold" is only as cold as that cache; for a quick warm figure.
# Goals: every cold locked build under 15 minutes on 2 cores, every warm build under 5 s, the warm
# pipeline over the whole catalog under 30 s. No peer builds these images, so the figures stand
# alone; the note says what load the machine had.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
warm_only=
if [ "${1:-}" = --warm-only ]; then warm_only=1; shift; fi
if [ -z "${ARMORRED:-}" ]; then
  cargo build -q --release -p armorred-cli
  ARMORRED=${CARGO_TARGET_DIR:-$root/target}/release/armorred
fi
bin=$ARMORRED
w=$(mktemp -d)
trap 'chmod -R u+w "$w" 2>/dev/null; rm -rf "$w"' EXIT
shared=$w/xdg/armorred
mkdir -p "$shared"

# (image, definition, tier) of the plan, the named images only when some are given.
mapfile -t jobs < <("$bin" pipeline --plan | python3 -c '
import json, sys
want = set(sys.argv[1:])
for j in json.load(sys.stdin)["include"]:
    if not want or j["image"] in want:
        print(j["image"], j["definition"], j["tier"])
' "$@")
[ ${#jobs[@]} -gt 0 ] || { echo "no image of the plan matches: $*" >&2; exit 2; }

# Runs a command and appends "wall user system maxrss_MB" to $w/t.
timed() { /usr/bin/time -f "%e %U %S %M" -o "$w/t1" "$@" >"$w/log" 2>&1 || { cat "$w/log" >&2; exit 1; }
  awk '{printf "%.1f %.1f %.1f %.0f\n", $1, $2, $3, $4 / 1024}' "$w/t1"; }

printf '%-10s %-9s %-6s %9s %9s %9s %8s\n' image tier run wall_s user_s sys_s rss_MB
for job in "${jobs[@]}"; do
  read -r image def tier <<<"$job"
  cache=$shared
  [ -n "$warm_only" ] || { cache=$w/cold-$image-$tier; mkdir -p "$cache"; }
  for run in cold warm; do
    out=$w/img-$image-$tier-$run
    t=$(timed "$bin" --quiet build "$def" --tier "$tier" --cache-dir "$cache" --output "oci-dir:$out")
    printf '%-10s %-9s %-6s %9s %9s %9s %8s\n' "$image" "$tier" "$run" $t
    rm -rf "$out"
  done
  if [ -z "$warm_only" ]; then
    # Content-addressed entries: merged into the pipeline's cache without replacing any.
    cp -an "$cache/." "$shared/"
    chmod -R u+w "$cache" 2>/dev/null; rm -rf "$cache"
  fi
done

# The main job on the cache the builds filled: the first run adds the references, DB, scans,
# comparisons, signatures and site; the second changes nothing.
images=()
for job in "${jobs[@]}"; do read -r image def _ <<<"$job"; images+=("$def"); done
mapfile -t defs < <(printf '%s\n' "${images[@]}" | sort -u)
for run in first warm; do
  t=$(XDG_CACHE_HOME=$w/xdg COSIGN_PASSWORD= timed "$bin" --quiet pipeline "${defs[@]}" --out "$w/out" --key "$w/key")
  printf '%-10s %-9s %-6s %9s %9s %9s %8s\n' pipeline "${#defs[@]}-images" "$run" $t
done
