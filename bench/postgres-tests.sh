#!/bin/sh
# Runs PostgreSQL's own regression suite (`pg_regress`, the installcheck of src/test/regress:
# the core parallel_schedule) against the server inside an image, in the real Docker engine: the
# server container runs as 65534 with `--read-only --cap-drop=ALL --security-opt
# no-new-privileges`, PGDATA on a fresh volume, a tmpfs for the socket directory, no network but
# its own loopback. It is initialised by the image's entrypoint from POSTGRES_PASSWORD (an image
# without an entrypoint, the upstream reference, gets `initdb` run by this script, as its users'
# entrypoint script would). pg_regress and its psql run in a second container from CLIENT_IMAGE
# (the upstream reference: Debian's psql 17, a shell and diff, which pg_regress calls) inside
# the server's network namespace, over TCP to 127.0.0.1:5432; the server image is only the server.
#
# The suite reads and writes files on the server side (COPY FROM/TO a file, lo_import/lo_export,
# regress.so loaded by test_setup): the work directory is mounted at /regress in both containers.
#
# Needs: docker (DOCKER_HOST pointing at a running engine).
# Usage: bench/postgres-tests.sh IMAGE_REF CLIENT_IMAGE REGRESS_DIR OUT_DIR [TEST ...]
#   IMAGE_REF:    the image under test, already loaded (armorred/postgres:hardened)
#   CLIENT_IMAGE: the image pg_regress runs in (armorred/postgres-upstream:hardened)
#   REGRESS_DIR:  a built src/test/regress of the PostgreSQL sources (`make -C src/test/regress`:
#                 pg_regress, regress.so, sql/, expected/, data/, parallel_schedule, resultmap;
#                 and `make -C contrib/spi`: autoinc.so and refint.so, which the triggers test loads)
#   TESTs: run these (test_setup first, as the schedule does) instead of the whole schedule.
# Writes OUT_DIR/regress.log (pg_regress' output), OUT_DIR/regression.diffs (when a test failed),
# OUT_DIR/server.log and OUT_DIR/results.tsv: one line per test, `status<TAB>name`, status ok,
# failed or ignored (a test the schedule marks `ignore`, that failed).
#    or: bench/postgres-tests.sh --report UPSTREAM_OUT HARDENED_OUT [LOCKED_OUT] > results.md
#   (the OUT_DIRs of earlier runs: one Markdown table, a row per test, and the totals).
set -eu
if [ "${1:-}" = --report ]; then
  [ $# -eq 3 ] || [ $# -eq 4 ] || { echo "usage: $0 --report UPSTREAM_OUT HARDENED_OUT [LOCKED_OUT]" >&2; exit 2; }
  shift
  for d in "$@"; do [ -f "$d/results.tsv" ] || { echo "$0: no $d/results.tsv" >&2; exit 2; }; done
  echo "| image | ok | failed | ignored (failed, marked ignore) |"
  echo "| --- | --- | --- | --- |"
  for d in "$@"; do
    awk -F'\t' -v n="$(basename "$d")" '{c[$1]++} END {printf "| %s | %d | %d | %d |\n", n, c["ok"], c["failed"], c["ignored"]}' "$d/results.tsv"
  done
  echo
  head=""; sep=""; files=""
  for d in "$@"; do head="$head | $(basename "$d")"; sep="$sep | ---"; files="$files $d/results.tsv"; done
  echo "| test$head |"
  echo "| ---$sep |"
  awk -F'\t' -v files=$# '
    FNR == 1 { f++ }
    { if (!($2 in order)) { order[$2] = ++n; keys[n] = $2 }; st[f, $2] = $1 }
    END { for (i = 1; i <= n; i++) { k = keys[i]; line = "| " k;
          for (j = 1; j <= files; j++) line = line " | " ((j, k) in st ? st[j, k] : "-");
          print line " |" } }
  ' $files
  exit 0
fi
[ $# -ge 4 ] || { echo "usage: $0 IMAGE_REF CLIENT_IMAGE REGRESS_DIR OUT_DIR [TEST ...]" >&2; exit 2; }
IMAGE=$1; CLIENT=$2; REG=$3; OUT=$4; shift 4
TESTS="$*"
command -v docker >/dev/null || { echo "$0: docker is missing" >&2; exit 2; }
for f in pg_regress regress.so parallel_schedule sql expected data; do
  [ -e "$REG/$f" ] || { echo "$0: $REG has no $f (run make -C src/test/regress)" >&2; exit 2; }
done
[ ! -e "$OUT" ] || [ -z "$(ls -A "$OUT")" ] || { echo "$0: $OUT exists and is not empty" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NAME=pg-tests-$$
VOL=pg-tests-$$
W=$OUT/work
cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$VOL" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
# A private copy, writable by the containers' user (65534): results/ and out/ are written there.
mkdir -p "$W"
cp -a "$REG/pg_regress" "$REG/regress.so" "$REG/parallel_schedule" "$REG/sql" "$REG/expected" "$REG/data" "$W/"
[ ! -f "$REG/resultmap" ] || cp -a "$REG/resultmap" "$W/"
for so in autoinc refint; do
  for f in "$REG/$so.so" "$REG/../../../contrib/spi/$so.so"; do [ ! -f "$f" ] || { cp "$f" "$W/"; break; }; done
  [ -f "$W/$so.so" ] || { echo "$0: no $so.so in $REG or contrib/spi (make -C contrib/spi)" >&2; exit 2; }
done
mkdir -p "$W/out/results" "$W/out/testtablespace"
chown -R 65534:65534 "$W"
docker volume create "$VOL" >/dev/null
ep=$(docker inspect -f '{{json .Config.Entrypoint}}' "$IMAGE")
if [ "$ep" = null ] || [ "$ep" = "[]" ]; then
  # No entrypoint (the upstream reference): what the official image's script does, by hand.
  set -- sh -c 'initdb --username=postgres >/dev/null && printf "host all all all scram-sha-256\n" >> "$PGDATA/pg_hba.conf" && exec postgres'
else
  set -- postgres
fi
docker run -d --name "$NAME" --user 65534:65534 --read-only --cap-drop=ALL \
  --security-opt no-new-privileges --network none -e POSTGRES_PASSWORD=regress \
  -v "$VOL:/var/lib/postgresql/data" --tmpfs /var/run/postgresql -v "$W:/regress" \
  "$IMAGE" "$@" >/dev/null
i=0
until docker exec "$NAME" psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 150 ] || { docker logs "$NAME" >&2; echo "$0: no answer on 5432" >&2; exit 1; }
  sleep 0.2
done
rc=0
docker run --rm --network "container:$NAME" --user 65534:65534 -v "$W:/regress" -w /regress/out \
  "$CLIENT" /regress/pg_regress --inputdir=/regress --outputdir=/regress/out \
  --bindir=/usr/lib/postgresql/17/bin --dlpath=/regress --host=127.0.0.1 --port=5432 \
  --user=postgres --max-concurrent-tests=20 ${TESTS:---schedule=/regress/parallel_schedule} \
  > "$OUT/regress.log" 2>&1 || rc=$?
docker logs "$NAME" > "$OUT/server.log" 2>&1 || true
[ ! -f "$W/out/regression.diffs" ] || cp "$W/out/regression.diffs" "$OUT/"
# TAP lines: `ok 12      + boolean      55 ms`, `not ok 3 - name  12 ms`, `ok 5 - name # SKIP ...`;
# a test the schedule marks `ignore` reports `(ignored)` when it failed.
sed -n 's/^\(not ok\|ok\) *[0-9]* *[-+] *\([^ ]*\).*$/\1\t\2\t&/p' "$OUT/regress.log" \
  | awk -F'\t' '{ s = ($1 == "ok") ? "ok" : "failed"; if ($3 ~ /\(ignored\)/) s = "ignored"; if ($3 ~ /# SKIP/) s = "skip"; print s "\t" $2 }' \
  > "$OUT/results.tsv"
printf '%s: pg_regress exit %s; ' "$IMAGE" "$rc"
cut -f1 "$OUT/results.tsv" | sort | uniq -c | tr '\n' ' '; echo
