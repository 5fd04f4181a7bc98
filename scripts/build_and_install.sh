#!/usr/bin/env bash
# Installs the Debian packages (as root), builds the extension (failing on any
# compiler warning) and installs it into the PostgreSQL that pg_config names.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ "$(id -u)" -eq 0 ]; then
    scripts/install_deps.sh
fi

build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! make -s -j"$(nproc)" PG_CONFIG="${PG_CONFIG:-pg_config}" >"$build_log" 2>&1; then
    cat "$build_log"
    echo "build failed" >&2
    exit 1
fi
if grep -q 'warning:' "$build_log"; then
    cat "$build_log"
    echo "build has compiler warnings" >&2
    exit 1
fi
scripts/check_symbol_clashes.sh reverse_etl.so
make -s PG_CONFIG="${PG_CONFIG:-pg_config}" install >/dev/null
