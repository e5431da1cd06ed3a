#!/bin/sh
# Runs redis' own test suite (the `tests/` of the redis sources, `./runtest` against an external
# server) against the redis-server inside an image, in the real Docker engine: the container runs
# as 65534 with `--read-only --cap-drop=ALL --security-opt no-new-privileges` and its data
# directory /data on a fresh volume; the suite (host tclsh) runs in the container's network
# namespace (nsenter -n), so it reaches the server on the container's own loopback and nothing
# else on the machine clashes with port 6379.
#
# The server is started as redis' CI runs its external-server job (.github/workflows/external.yml):
# `--save "" --enable-protected-configs yes --enable-debug-command yes --enable-module-command yes`,
# and the suite with `--host 127.0.0.1 --port 6379 --tags -slow`. Tests that need to start their
# own servers (replication, cluster, restarts) are tagged `external:skip` by redis and skipped.
# integration/redis-cli is skipped too: it runs the host's src/redis-cli (a client built from the
# sources), not anything in the image.
#
# Needs: docker (DOCKER_HOST pointing at a running engine), nsenter, tclsh (Debian's `tcl`), root.
# Usage: bench/redis-tests.sh IMAGE_REF REDIS_SRC OUT_DIR [runtest args ...]
#   IMAGE_REF: an image already loaded into the engine (armorred/redis:hardened)
#   REDIS_SRC: the unpacked redis sources (their tests/ and runtest are used)
#   extra args go to runtest (e.g. `--single unit/type/string`); default: the whole suite.
# Writes OUT_DIR/runtest.log, OUT_DIR/server.log and OUT_DIR/results.tsv: one line per test,
# `status<TAB>name` with status ok, err, skip, ignore, exception or timeout.
#    or: bench/redis-tests.sh --report UPSTREAM_OUT HARDENED_OUT LOCKED_OUT > results.md
#   (the three OUT_DIRs of earlier runs: one Markdown table, a row per test, and the totals).
set -eu
if [ "${1:-}" = --report ]; then
  [ $# -eq 4 ] || { echo "usage: $0 --report UPSTREAM_OUT HARDENED_OUT LOCKED_OUT" >&2; exit 2; }
  for d in "$2" "$3" "$4"; do [ -f "$d/results.tsv" ] || { echo "$0: no $d/results.tsv" >&2; exit 2; }; done
  echo "| image | ok | err | skip/ignore | exception/timeout |"
  echo "| --- | --- | --- | --- | --- |"
  for d in "$2" "$3" "$4"; do
    awk -F'\t' -v n="$(basename "$d")" '{c[$1]++} END {printf "| %s | %d | %d | %d | %d |\n", n, c["ok"], c["err"], c["skip"]+c["ignore"], c["exception"]+c["timeout"]}' "$d/results.tsv"
  done
  echo
  echo "| test | upstream | hardened | locked |"
  echo "| --- | --- | --- | --- |"
  # Names may repeat (the same test in two units): count occurrences so each row pairs up.
  awk -F'\t' '
    FNR == 1 { f++; delete seen }
    { k = $2 "\x1f" (++seen[$2]); if (!(k in order)) { order[k] = ++n; keys[n] = k }; st[f, k] = $1 }
    END { for (i = 1; i <= n; i++) { k = keys[i]; name = k; sub(/\x1f.*/, "", name); gsub(/\|/, "\\|", name);
          printf "| %s | %s | %s | %s |\n", name, (st[1,k] ? st[1,k] : "-"), (st[2,k] ? st[2,k] : "-"), (st[3,k] ? st[3,k] : "-") } }
  ' "$2/results.tsv" "$3/results.tsv" "$4/results.tsv"
  exit 0
fi
[ $# -ge 3 ] || { echo "usage: $0 IMAGE_REF REDIS_SRC OUT_DIR [runtest args ...]" >&2; exit 2; }
IMAGE=$1; SRC=$2; OUT=$3; shift 3
for t in docker nsenter tclsh; do
  command -v "$t" >/dev/null || { echo "$0: $t is missing" >&2; exit 2; }
done
[ -x "$SRC/runtest" ] && [ -f "$SRC/tests/test_helper.tcl" ] || { echo "$0: $SRC has no runtest" >&2; exit 2; }
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || { echo "$0: $OUT exists and is not empty" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NAME=redis-tests-$$
VOL=redis-tests-$$
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; docker volume rm "$VOL" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
docker volume create "$VOL" >/dev/null
docker run -d --name "$NAME" --user 65534:65534 --read-only --cap-drop=ALL \
  --security-opt no-new-privileges -v "$VOL:/data" "$IMAGE" \
  redis-server --protected-mode no --save "" --enable-protected-configs yes \
  --enable-debug-command yes --enable-module-command yes >/dev/null
pid=$(docker inspect -f '{{.State.Pid}}' "$NAME")
[ "$pid" != 0 ] || { docker logs "$NAME" >&2; echo "$0: the server did not start" >&2; exit 1; }
printf '%s\n' 'if {[catch {close [socket 127.0.0.1 6379]}]} { exit 1 }' > "$OUT/probe.tcl"
i=0
until nsenter -t "$pid" -n tclsh "$OUT/probe.tcl" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 50 ] || { docker logs "$NAME" >&2; echo "$0: no answer on 6379" >&2; exit 1; }
  sleep 0.2
done
rm -f "$OUT/probe.tcl"
# runtest writes its temporary files under tests/tmp of the sources: run from a private copy.
cp -a "$SRC/." "$OUT/src"
rc=0
(cd "$OUT/src" && timeout 3600 nsenter -t "$pid" -n ./runtest --host 127.0.0.1 --port 6379 \
  --tags -slow --timeout 600 --dump-logs --skipunit integration/redis-cli "$@") > "$OUT/runtest.log" 2>&1 || rc=$?
docker logs "$NAME" > "$OUT/server.log" 2>&1 || true
rm -rf "$OUT/src"
# `[ok]: name (N ms)`, `[err]: name in tests/...`, `[skip]: name`, `[ignore]: name: reason`, with
# ANSI colours when the output is a terminal (it is not here, strip them anyway).
sed 's/\x1b\[[0-9;]*m//g' "$OUT/runtest.log" \
  | sed -n 's/^\[\(ok\|err\|skip\|ignore\|exception\|timeout\)\]: \(.*\)$/\1\t\2/p' \
  | sed 's/ ([0-9]* ms)$//' > "$OUT/results.tsv"
printf '%s: runtest exit %s; ' "$IMAGE" "$rc"
cut -f1 "$OUT/results.tsv" | sort | uniq -c | tr '\n' ' '; echo
