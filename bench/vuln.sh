#!/bin/sh
# Vulnerability DB and scan benchmarks over ../shared/data (release build).
# Prints: OSV import time, one 150-package SBOM scan after DB open, 1,000-SBOM rescan on 2 threads.
# No peer scanner (grype, osv-scanner) is installable offline here, so no ratios are printed;
# the figures are compared with the issue's targets instead.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench -p armorred --bench vuln
