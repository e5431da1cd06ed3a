#!/bin/sh
# nginx's own test suite against the nginx of all three images of images/nginx: the upstream
# reference (built as the pipeline builds it: the reference definition's one tier, hardened),
# hardened and locked, each run by bench/nginx-tests.sh inside its own image's root file system,
# the three at once (each in its own network namespace). Then the per-test-file table that
# images/nginx/tests/nginx-tests-results.md is: pass/fail/skip per test file for each image.
#
# Steps already done are reused: an image whose WORKDIR/<name>/index.json exists is not rebuilt,
# a run whose WORKDIR/run-<name>/results.tsv exists is not rerun.
# Needs: what bench/nginx-tests.sh needs, cargo, the mirror of the host's apt configuration.
# Usage: bench/nginx-tests-all.sh [WORKDIR]   (default: target/nginx-tests); writes WORKDIR/nginx-tests-results.md
set -eu
cd "$(dirname "$0")/.."
W=${1:-target/nginx-tests}
mkdir -p "$W"
W=$(cd "$W" && pwd)
SUITE=${NGINX_TESTS:-$(pwd)/../shared/oracles/nginx-tests}

build() { # name definition tier
  [ -f "$W/$1/index.json" ] || cargo run -q -p armorred-cli -- build "$2" --tier "$3" --output "oci-dir:$W/$1" >&2
}
build upstream images/nginx/upstream hardened
build hardened images/nginx hardened
build locked images/nginx locked

for i in upstream hardened locked; do
  if [ ! -f "$W/run-$i/results.tsv" ]; then
    rm -rf "$W/run-$i"
    bench/nginx-tests.sh "$W/$i" "$W/run-$i" > "$W/run-$i.summary" 2>&1 &
  fi
done
wait
for i in upstream hardened locked; do
  [ -f "$W/run-$i/results.tsv" ] || { echo "$0: no results for $i (see $W/run-$i.summary)" >&2; exit 1; }
done

commit=$(sed -n 's/.*nginx-tests.* at \([0-9a-f]\{40\}\) (\([0-9-]*\)).*/\1 (\2)/p' "$SUITE/../README.md" 2>/dev/null | head -1)
{
  echo "# nginx's own test suite against the three nginx images"
  echo
  echo "Made by \`bench/nginx-tests-all.sh\` on $(date -u +%Y-%m-%d) with nginx-tests ${commit:-(commit unknown)},"
  echo "perl $(perl -e 'print $^V'), \`prove -j${PROVE_JOBS:-2}\`, the three images at once on this machine."
  echo "Each image's nginx ran from its own root file system with its own loader and libraries,"
  echo "every module .so the image ships loaded (bench/nginx-tests.sh says how)."
  echo
  echo "| image | nginx | pass | fail | skip | seconds |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  for i in upstream hardened locked; do
    r=$W/run-$i/results.tsv
    v=$(sed -n 's/^nginx version: //p' "$W/run-$i/nginx-V.txt")
    echo "| $i | $v | $(grep -c '	pass	' "$r" || true) | $(grep -c '	fail	' "$r" || true) | $(grep -c '	skip	' "$r" || true) | $(cat "$W/run-$i/seconds") |"
  done
  echo
  echo "Per test file (skip: the test's own reason; fail: prove's verdict):"
  echo
  echo "| test | upstream | hardened | locked |"
  echo "| --- | --- | --- | --- |"
  perl -e '
    my @imgs = @ARGV;
    my %r;
    for my $i (0 .. $#imgs) {
      open my $fh, "<", $imgs[$i] or die "$imgs[$i]: $!";
      while (<$fh>) { chomp; my ($t, $v, $d) = split /\t/, $_, 3; $r{$t}[$i] = $v . ($v ne "pass" && length($d // "") ? ": $d" : ""); }
    }
    for my $t (sort keys %r) {
      print "| $t | ", join(" | ", map { my $x = $r{$t}[$_] // "-"; $x =~ s/\|/\\|/g; $x } 0 .. $#imgs), " |\n";
    }
  ' "$W/run-upstream/results.tsv" "$W/run-hardened/results.tsv" "$W/run-locked/results.tsv"
} > "$W/nginx-tests-results.md"
echo "$W/nginx-tests-results.md"
