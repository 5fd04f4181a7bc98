#!/usr/bin/env bash
# Installs the reference verifiers of signed webhooks (package-lock.json) into
# test/verifiers/node_modules with npm from Debian's packages
# (scripts/install_deps.sh). test/run_tests.sh runs it; it does nothing when
# node_modules is newer than the lock file.
set -euo pipefail
cd "$(dirname "$0")"
if [ -d node_modules ] && [ node_modules -nt package-lock.json ] && [ node_modules -nt package.json ]; then
    exit 0
fi
npm ci --no-audit --no-fund
touch node_modules
