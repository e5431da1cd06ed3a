#!/bin/sh
# Runs CPython's own test suite (`python3 -m test`, the regrtest runner) with the interpreter
# inside an image, in the real Docker engine: the container runs as 65534 with `--read-only
# --cap-drop=ALL --security-opt no-new-privileges --network none` (loopback only), a tmpfs /tmp
# (exec allowed: tests write and run helper programs there) and the suite's files bind-mounted
# read-only at the image's own `<stdlib>/test` (Debian ships them as libpython3.13-testsuite,
# which no tier ships: `--unpack` makes the directory from Debian's two packages).
#
# What is excluded, for every image alike:
# - every regrtest resource (`-u none`): network, cpu, largefile, decimal, subprocess-heavy,
#   urlfetch, audio, gui, tzdata, walltime... (resource-heavy and network tests skip);
# - the tests in EXCLUDES below, each with its reason (they need something none of the images
#   under test can have in this sandbox).
# Tests run two at a time (`-j2`), each in a worker process; a failed test file is re-run once
# (`--rerun`) and counts as failed only when it fails again; 15 minutes per file at most.
#
# Needs: docker (DOCKER_HOST pointing at a running engine).
# Usage: bench/python-tests.sh IMAGE_REF TESTS_DIR OUT_DIR [TEST ...]
#   IMAGE_REF: an image already loaded into the engine (armorred/python:hardened)
#   TESTS_DIR: the `test` package directory (from `--unpack`)
#   TEST ...: run only these test files (a subset, e.g. test_ssl test_json); default: all.
# Writes OUT_DIR/regrtest.log and OUT_DIR/results.tsv: one line per test file,
# `status<TAB>name`, status one of ok, fail, flaky (failed, passed when re-run), env-changed
# (passed, but altered the environment), skip, skip-resource, no-tests.
#    or: bench/python-tests.sh --unpack STDLIB_DEB TESTSUITE_DEB TESTS_DIR
#   (libpython3.13-stdlib's test/ support files plus libpython3.13-testsuite's tests, merged)
#    or: bench/python-tests.sh --report OUT_DIR... > results.md
#   (earlier runs' OUT_DIRs, named by their last component: totals and one row per test file).
set -eu
# Excluded from every run, with the reason. Keep in step with docs/images/python.md.
EXCLUDES="
test_peg_generator
test_tools
test_freeze
test_embed
test_clinic
test_gdb
test_perf_profiler
"
# test_peg_generator, test_freeze, test_tools, test_clinic, test_embed: they compile C code or
# need CPython's source tree (Tools/, Programs/, a build directory): no image has a compiler or
# the sources, they skip or fail on every image alike and prove nothing about the interpreter.
# test_gdb, test_perf_profiler: need gdb / perf and ptrace or perf events, refused under
# --cap-drop=ALL.

if [ "${1:-}" = --unpack ]; then
  [ $# -eq 4 ] || { echo "usage: $0 --unpack STDLIB_DEB TESTSUITE_DEB TESTS_DIR" >&2; exit 2; }
  [ ! -e "$4" ] || { echo "$0: $4 exists" >&2; exit 2; }
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  dpkg-deb -x "$2" "$t/std"; dpkg-deb -x "$3" "$t/suite"
  d=$(ls -d "$t"/std/usr/lib/python3.*/test); s=$(ls -d "$t"/suite/usr/lib/python3.*/test)
  mkdir -p "$4"; cp -a "$d/." "$4/"; cp -a "$s/." "$4/"
  exit 0
fi
if [ "${1:-}" = --report ]; then
  shift
  [ $# -ge 1 ] || { echo "usage: $0 --report OUT_DIR..." >&2; exit 2; }
  for d in "$@"; do [ -f "$d/results.tsv" ] || { echo "$0: no $d/results.tsv" >&2; exit 2; }; done
  echo "| image | ok | flaky | env-changed | fail | skip | skip-resource | no-tests |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for d in "$@"; do
    awk -F'\t' -v n="$(basename "$d")" '{c[$1]++} END {printf "| %s | %d | %d | %d | %d | %d | %d | %d |\n", n, c["ok"], c["flaky"], c["env-changed"], c["fail"], c["skip"], c["skip-resource"], c["no-tests"]}' "$d/results.tsv"
  done
  echo
  files=; for d in "$@"; do files="$files $d/results.tsv"; done
  printf '| test |'; for d in "$@"; do printf ' %s |' "$(basename "$d")"; done; echo
  printf '| --- |'; for d in "$@"; do printf ' --- |'; done; echo
  awk -F'\t' '
    FNR == 1 { f++ }
    { if (!($2 in seen)) { seen[$2] = 1; names[++n] = $2 }; st[f, $2] = $1 }
    END { for (i = 1; i <= n; i++) { printf "| %s |", names[i]; for (j = 1; j <= f; j++) printf " %s |", ((j, names[i]) in st ? st[j, names[i]] : "-"); printf "\n" } }
  ' $files | sort
  exit 0
fi
[ $# -ge 3 ] || { echo "usage: $0 IMAGE_REF TESTS_DIR OUT_DIR [TEST ...]" >&2; exit 2; }
IMAGE=$1; TESTS=$2; OUT=$3; shift 3
command -v docker >/dev/null || { echo "$0: docker is missing" >&2; exit 2; }
[ -f "$TESTS/__main__.py" ] && [ -d "$TESTS/libregrtest" ] || { echo "$0: $TESTS is not CPython's test package" >&2; exit 2; }
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || { echo "$0: $OUT exists and is not empty" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TESTS=$(cd "$TESTS" && pwd)
NAME=python-tests-$$
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
# The container: 65534, read-only root, no capabilities, loopback only, the suite mounted.
run() {
  ${WRAP:-} docker run --rm --name "$NAME" --user 65534:65534 --read-only --cap-drop=ALL \
    --security-opt no-new-privileges --network none --tmpfs /tmp:rw,exec,size=2g -w /tmp -e HOME=/tmp \
    -v "$TESTS:$STDLIB/test:ro" -v "$OUT/list:/tmp/.tests.list:ro" "$IMAGE" "$@"
}
STDLIB=$(docker run --rm --network none --read-only "$IMAGE" python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
[ -n "$STDLIB" ] || { echo "$0: no standard library path from $IMAGE" >&2; exit 1; }
# The test files: all the runner finds, minus EXCLUDES, or the named subset.
: > "$OUT/list"
run python3 -m test --list-tests > "$OUT/all.list"
if [ $# -gt 0 ]; then
  for t in "$@"; do grep -qx "$t" "$OUT/all.list" || { echo "$0: no test $t in $IMAGE's suite" >&2; exit 2; }; echo "$t"; done
else
  grep -vxF "$(printf '%s\n' $EXCLUDES)" "$OUT/all.list"
fi > "$OUT/list.tmp"
mv "$OUT/list.tmp" "$OUT/list"
rc=0
start=$(date +%s)
# The whole run stops after two hours (regrtest stops a single file at 15 min): timeout ends the
# client, the EXIT trap removes the container.
WRAP="timeout 7200" run python3 -m test -j2 -u none --rerun --timeout 900 --fromfile /tmp/.tests.list > "$OUT/regrtest.log" 2>&1 || rc=$?
end=$(date +%s)
# The summary at the end lists every file that did not simply pass, per status; the rest passed.
awk '
  /^[0-9]+ tests? skipped:$/ { s = "skip"; next }
  /^[0-9]+ tests? skipped \(resource denied\):$/ { s = "skip-resource"; next }
  /^[0-9]+ tests? run no tests:$/ { s = "no-tests"; next }
  /^[0-9]+ tests? altered the execution environment/ { s = "env-changed"; next }
  /^[0-9]+ re-run tests?:$/ { s = "rerun"; next }
  /^[0-9]+ tests? failed:$/ { s = "fail"; next }
  /^[0-9]+ tests? omitted:$/ { s = "omitted"; next }
  /^    / && s != "" { for (i = 1; i <= NF; i++) print s "\t" $i; next }
  { s = "" }
' "$OUT/regrtest.log" > "$OUT/summary.tsv"
# Split test packages (test_asyncio and others run as test.test_asyncio.test_tasks, ... under -j)
# count for their test file: any failing (or re-run, or env-changed) part marks the file.
awk -F'\t' '
  FILENAME == ARGV[1] { n = $2; sub(/^test\./, "", n); p = n; sub(/\..*/, "", p)
              if (p != n) { if ($1 == "rerun") rerun[p] = 1; else if ($1 == "fail" || $1 == "omitted" || ($1 == "env-changed" && st[p] != "fail")) st[p] = $1; next }
              if ($1 == "rerun") rerun[n] = 1; else st[n] = $1; next }
  { s = ($0 in st) ? st[$0] : "ok"; if (s == "omitted") s = "fail"; if (($0 in rerun) && s != "fail") s = "flaky"; print s "\t" $0 }
' "$OUT/summary.tsv" "$OUT/list" > "$OUT/results.tsv"
grep -q '^Total test files:' "$OUT/regrtest.log" || { echo "$0: the run did not finish (exit $rc), see $OUT/regrtest.log" >&2; exit 1; }
printf '%s: regrtest exit %s in %ss; ' "$IMAGE" "$rc" "$((end - start))"
cut -f1 "$OUT/results.tsv" | sort | uniq -c | tr '\n' ' '; echo
