#!/usr/bin/env bash
# Benchmark: `armorred sign` / `armorred verify` against cosign 2.5.0 on the same local registry,
# in one run, side by side: sign and verify one image; verify 100 signed images, one process per
# image and all in one invocation. Prints each wall time and the ratio.
#
#   bench/sign-vs-cosign.sh [N]      (default N=100)
#
# Needs: docker-registry and skopeo (Debian packages), cosign ($ARMORRED_COSIGN, or the copy
# .ci/run unpacks into target/tools/cosign), a release build of armorred (built here).
set -euo pipefail
n=${1:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
cosign=${ARMORRED_COSIGN:-$root/target/tools/cosign/usr/bin/cosign}
[ -x "$cosign" ] || { echo "cosign not found: run .ci/run once, or set ARMORRED_COSIGN" >&2; exit 2; }
command -v skopeo >/dev/null && [ -x /usr/bin/docker-registry ] || { echo "needs skopeo and docker-registry" >&2; exit 2; }
if [ -z "${ARMORRED_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p armorred-cli
fi
bin=${ARMORRED_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/armorred}
w=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$w/registry.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $w/data } }
http: { addr: 127.0.0.1:$port }
YML
/usr/bin/docker-registry serve "$w/registry.yml" >/dev/null 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; rm -rf "$w"' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
export COSIGN_PASSWORD=bench TUF_ROOT=$w/tuf HOME=$w
cd "$w"
"$cosign" generate-key-pair >/dev/null 2>&1
"$bin" --quiet key generate --output-key-prefix ours

# N small images, each its own digest (one layer with its own content), pushed by skopeo.
python3 - "$w/img" "$n" <<'PY'
import hashlib, io, json, os, sys, tarfile
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, str(i)); b = os.path.join(d, "blobs/sha256"); os.makedirs(b)
    def put(data):
        h = hashlib.sha256(data).hexdigest(); open(os.path.join(b, h), "wb").write(data); return h, len(data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = f"image {i}\n".encode(); info = tarfile.TarInfo("hello"); info.size = len(data); t.addfile(info, io.BytesIO(data))
    lh, ls = put(buf.getvalue())
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh]}, "config": {}}).encode()
    ch, cs = put(cfg)
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + ch, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + lh, "size": ls}]}).encode()
    mh, ms = put(m)
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mh, "size": ms}]}, open(os.path.join(d, "index.json"), "w"))
    open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
    open(os.path.join(d, "digest"), "w").write("sha256:" + mh)
PY
repo=127.0.0.1:$port/bench
for i in $(seq 0 $((n - 1))); do
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$w/img/$i" "docker://$repo/a$i:t" >/dev/null
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$w/img/$i" "docker://$repo/b$i:t" >/dev/null
done
ref() { echo "$repo/$1$2@$(cat "$w/img/$2/digest")"; }

now() { date +%s.%N; }
# The registry's CPU seconds so far (utime + stime of /proc/PID/stat), read beside each time.
regcpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$reg/stat"; }
cpu=()
mark() { cpu+=("$(regcpu)"); }
# One image: sign, then verify.
t0=$(now); "$bin" --quiet sign --key ours.key "registry:$(ref a 0)"; t1=$(now)
"$bin" --quiet verify --key ours.pub "registry:$(ref a 0)" >/dev/null; t2=$(now)
"$cosign" sign --key cosign.key --tlog-upload=false --allow-http-registry -y "$(ref b 0)" >/dev/null 2>&1; t3=$(now)
"$cosign" verify --key cosign.pub --insecure-ignore-tlog=true --allow-http-registry "$(ref b 0)" >/dev/null 2>&1; t4=$(now)
# Sign the other N-1 of each (not timed), then verify all N, one process each, as CI does.
for i in $(seq 1 $((n - 1))); do
  "$bin" --quiet sign --key ours.key "registry:$(ref a "$i")"
  "$cosign" sign --key cosign.key --tlog-upload=false --allow-http-registry -y "$(ref b "$i")" >/dev/null 2>&1
done
t5=$(now); mark
for i in $(seq 0 $((n - 1))); do "$bin" --quiet verify --key ours.pub "registry:$(ref a "$i")" >/dev/null; done
t6=$(now); mark
for i in $(seq 0 $((n - 1))); do
  "$cosign" verify --key cosign.pub --insecure-ignore-tlog=true --allow-http-registry "$(ref b "$i")" >/dev/null 2>&1
done
t7=$(now); mark
# All N in one invocation (both tools take IMAGE...): ours verifies them concurrently.
mapfile -t ours_refs < <(for i in $(seq 0 $((n - 1))); do echo "registry:$(ref a "$i")"; done)
mapfile -t cosign_refs < <(for i in $(seq 0 $((n - 1))); do ref b "$i"; done)
"$bin" --quiet verify --key ours.pub "${ours_refs[@]}" >/dev/null; t8=$(now); mark
"$cosign" verify --key cosign.pub --insecure-ignore-tlog=true --allow-http-registry "${cosign_refs[@]}" >/dev/null 2>&1
t9=$(now); mark
python3 - "$n" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" "$t7" "$t8" "$t9" "${cpu[@]}" <<'PY'
import sys
n = sys.argv[1]
t = list(map(float, sys.argv[2:12]))
c = list(map(float, sys.argv[12:]))
rows = [("sign one image", t[1] - t[0], t[3] - t[2]), ("verify one image", t[2] - t[1], t[4] - t[3]),
        (f"verify {n}, {n} runs", t[6] - t[5], t[7] - t[6]), (f"verify {n}, one run", t[8] - t[7], t[9] - t[8])]
print(f"{'':20} {'armorred':>10} {'cosign 2.5.0':>13} {'ratio':>8}")
for name, ours, theirs in rows:
    print(f"{name:20} {ours:9.3f}s {theirs:12.3f}s {theirs / ours:7.1f}x")
# What the registry itself spent serving each verify phase: both tools make the same requests
# per image (the .sig manifest and its payload blob), so this bounds what either can gain.
ms = lambda a, b: (c[b] - c[a]) * 1000 / int(n)
print(f"registry CPU per image verified: {ms(0, 1):.1f} ms / {ms(1, 2):.1f} ms ({n} runs), "
      f"{ms(2, 3):.1f} ms / {ms(3, 4):.1f} ms (one run), armorred / cosign")
PY
