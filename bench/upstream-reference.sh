#!/bin/sh
# Builds the upstream reference image with mmdebstrap (what users compare against: Debian trixie minbase +
# Debian's nginx + ca-certificates, packed as the official image is: CMD ["nginx","-g","daemon off;"],
# EXPOSE 80, STOPSIGNAL SIGQUIT) and ARMORRED's images/nginx in both tiers (hardened: Debian's
# nginx; locked: nginx compiled from source over the locked build root), then prints size and
# package count side by side, with ratios to upstream, and ARMORRED's cold and warm build times;
# then the mmdebstrap reference beside armorred's own (images/nginx/upstream), which the pipeline uses.
#
# Needs: mmdebstrap umoci skopeo (apt), root, the mirror of the host's apt configuration.
# Usage: bench/upstream-reference.sh [WORKDIR]   (default: target/bench-upstream)
set -eu
cd "$(dirname "$0")/.."
W=${1:-target/bench-upstream}
MIRROR=${ARMORRED_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
SECURITY=${MIRROR%/debian}/debian-security
rm -rf "$W"; mkdir -p "$W"

echo "== upstream reference: mmdebstrap minbase + nginx + ca-certificates" >&2
start=$(date +%s.%N)
mmdebstrap --quiet --variant=minbase --include=nginx,ca-certificates --format=directory trixie "$W/rootfs" \
  "deb $MIRROR trixie main" "deb $MIRROR trixie-updates main" "deb $SECURITY trixie-security main"
up_pkgs=$(chroot "$W/rootfs" dpkg-query -W -f '${db:Status-Abbrev}\n' | grep -c '^ii')
up_files=$(find "$W/rootfs" -mindepth 1 | wc -l)
umoci init --layout "$W/upstream-oci"
umoci new --image "$W/upstream-oci:latest"
umoci unpack --rootless --image "$W/upstream-oci:latest" "$W/bundle" >/dev/null 2>&1 || umoci unpack --image "$W/upstream-oci:latest" "$W/bundle"
rm -rf "$W/bundle/rootfs" && mv "$W/rootfs" "$W/bundle/rootfs"
umoci repack --image "$W/upstream-oci:latest" "$W/bundle"
umoci config --image "$W/upstream-oci:latest" --config.cmd nginx --config.cmd -g --config.cmd 'daemon off;' \
  --config.exposedports 80/tcp --config.stopsignal SIGQUIT
skopeo copy --quiet "oci:$W/upstream-oci:latest" "docker-archive:$W/upstream.tar:upstream/nginx:trixie"
up_time=$(echo "$(date +%s.%N) - $start" | bc)
up_size=$(stat -c %s "$W/upstream.tar")

echo "== ARMORRED images/nginx hardened (cold cache, lock + build)" >&2
cargo build --release -q -p armorred-cli
A=target/release/armorred
export XDG_CACHE_HOME="$W/cache"
cp -r images/nginx "$W/nginx-def"
start=$(date +%s.%N)
$A -q lock "$W/nginx-def"
$A -q build "$W/nginx-def" --tier hardened --output "docker-archive:$W/armorred.tar" >/dev/null
cold=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
$A -q build "$W/nginx-def" --tier hardened --output "docker-archive:$W/armorred.tar" >/dev/null
warm=$(echo "$(date +%s.%N) - $start" | bc)
ar_size=$(stat -c %s "$W/armorred.tar")
ar_unc=$(python3 -c "import json;print(json.load(open('$W/armorred.tar.build.json'))['output']['uncompressed_size'])")
ar_pkgs=$(python3 -c "import json;print(json.load(open('$W/armorred.tar.build.json'))['output']['packages'])")
ar_files=$(python3 -c "import json;print(json.load(open('$W/armorred.tar.build.json'))['output']['files'])")
up_unc=$(du -sb "$W/bundle/rootfs" | cut -f1)
# gzip layer bytes (what a registry stores and a pull transfers): umoci writes gzip layers.
up_gz=$(python3 - "$W/upstream-oci" <<'PY'
import json, sys, os
d = sys.argv[1]
m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]["digest"].split(":")[1]
print(sum(l["size"] for l in json.load(open(os.path.join(d, "blobs/sha256", m)))["layers"]))
PY
)
ar_gz=$(python3 -c "import json;print(json.load(open('$W/armorred.tar.build.json'))['output']['compressed_size'])")

echo "== ARMORRED's own upstream reference (images/nginx/upstream: minbase + Debian's nginx, from its lock)" >&2
start=$(date +%s.%N)
$A -q build "$W/nginx-def/upstream" --tier hardened --output "docker-archive:$W/reference.tar" >/dev/null
ref_time=$(echo "$(date +%s.%N) - $start" | bc)
ref() { python3 -c "import json;print(json.load(open('$W/reference.tar.build.json'))['output']['$1'])"; }
ref_gz=$(ref compressed_size); ref_unc=$(ref uncompressed_size); ref_pkgs=$(ref packages); ref_files=$(ref files)

echo "== ARMORRED images/nginx locked (from source; the build root is not cached yet)" >&2
start=$(date +%s.%N)
$A -q build "$W/nginx-def" --tier locked --output "docker-archive:$W/locked.tar" >/dev/null
lk_cold=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
$A -q build "$W/nginx-def" --tier locked --output "docker-archive:$W/locked.tar" >/dev/null
lk_warm=$(echo "$(date +%s.%N) - $start" | bc)
out() { python3 -c "import json;print(json.load(open('$W/locked.tar.build.json'))['output']['$1'])"; }
lk_gz=$(out compressed_size); lk_unc=$(out uncompressed_size); lk_pkgs=$(out packages); lk_files=$(out files)
lk_size=$(stat -c %s "$W/locked.tar")

r() { echo "scale=3; $1 / $2" | bc; }
printf '\n%-28s %13s %13s %7s %13s %7s\n' "" "upstream-ref" "hardened" "ratio" "locked" "ratio"
row() { printf '%-28s %13s %13s %7s %13s %7s\n' "$1" "$2" "$3" "$(r "$3" "$2")" "$4" "$(r "$4" "$2")"; }
row "gzip layers (bytes)" "$up_gz" "$ar_gz" "$lk_gz"
row "docker-archive file (bytes)" "$up_size" "$ar_size" "$lk_size"
row "root fs uncompressed (bytes)" "$up_unc" "$ar_unc" "$lk_unc"
row "Debian packages" "$up_pkgs" "$ar_pkgs" "$lk_pkgs"
row "files" "$up_files" "$ar_files" "$lk_files"
printf '%-28s %13s %13s %7s %13s\n' "build time, cold (s)" "$up_time" "$cold" "" "$lk_cold"
printf '%-28s %13s %13s %7s %13s\n' "rebuild, warm cache (s)" "-" "$warm" "" "$lk_warm"

printf '\n%-28s %13s %13s %7s\n' "upstream reference" "mmdebstrap" "armorred" "ratio"
row2() { printf '%-28s %13s %13s %7s\n' "$1" "$2" "$3" "$(r "$3" "$2")"; }
row2 "gzip layers (bytes)" "$up_gz" "$ref_gz"
row2 "root fs uncompressed (bytes)" "$up_unc" "$ref_unc"
row2 "Debian packages" "$up_pkgs" "$ref_pkgs"
row2 "files" "$up_files" "$ref_files"
row2 "build time, cold cache (s)" "$up_time" "$ref_time"
