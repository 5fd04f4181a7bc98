#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need on top of the build's, with
# the project's installer (scripts/install_deps.sh). Needs root when something
# is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bench_packages=(
    gcc                # bench/sink.c
    wrk                # measures the sink's own ceiling
    python3-psycopg2   # the driver and the hand-written baseline (B1)
    python3-requests   # the hand-written baseline (B1)
    procps             # ps, for the report
)
exec "$repo/scripts/install_deps.sh" "${bench_packages[@]}"
