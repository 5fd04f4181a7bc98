#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need on top of the build's
# (scripts/install_deps.sh). Idempotent; needs root when something is missing.
set -euo pipefail

packages=(
    gcc                # bench/sink.c
    wrk                # measures the sink's own ceiling
    python3            # bench/bench.py (driver) and bench/baseline_sync.py
    python3-psycopg2   # the driver and the hand-written baseline (B1)
    python3-requests   # the hand-written baseline (B1)
    curl               # talks to the sink's /stats
    procps             # ps, for the report
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/install_deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
fi
echo "bench/install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
