#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need on top of the build's, with
# the project's installer (scripts/install_deps.sh). Needs root when something
# is missing.
#
#   bench/install_deps.sh [--pypy3]   also pypy3, for bench/run.sh --vendors
#                                     --mock-python pypy3 (not fatal when it
#                                     cannot be installed: the mock runs under
#                                     python3 then)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bench_packages=(
    gcc                # bench/sink.c
    wrk                # measures the sink's own ceiling
    python3-psycopg2   # the driver and the hand-written baseline (B1)
    python3-requests   # the hand-written baseline (B1)
    procps             # ps, for the report
)
"$repo/scripts/install_deps.sh" "${bench_packages[@]}"
if [ "${1:-}" = --pypy3 ]; then
    "$repo/scripts/install_deps.sh" pypy3 \
        || echo "bench/install_deps.sh: pypy3 could not be installed; the vendor mocks will run under python3" >&2
fi
