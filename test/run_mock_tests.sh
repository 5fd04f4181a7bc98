#!/usr/bin/env bash
# The vendor mocks' own tests (test/mocks/test_*.py, Python's unittest): each
# mock answers as its vendor documents, so the regression tests that sync
# against it show what the real service would do. Seconds; no server.
#
#   test/run_mock_tests.sh [COUNTS_FILE]   writes "passed failed" to COUNTS_FILE
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
counts=${1:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

python3 -m unittest discover -s "$repo/test/mocks" -p 'test_*.py' >"$log" 2>&1
status=$?
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -1)
# "FAILED (failures=1, errors=2)": failures and errors both count.
failures=$(awk -F'[=,)]' '/^FAILED \(/ { for (i = 2; i <= NF; i += 2) if ($i ~ /^[0-9]+$/) n += $i } END { print n + 0 }' "$log")
ran=${ran:-0}
failures=${failures:-0}
if [ "$status" -ne 0 ] && [ "$failures" -eq 0 ]; then
    failures=1   # unittest failed before it could count (an import error...)
fi
if [ "$status" -ne 0 ]; then
    cat "$log"
fi
passed=$((ran > failures ? ran - failures : 0))
echo "mock tests: $passed passed, $failures failed"
[ -n "$counts" ] && echo "$passed $failures" >"$counts"
exit "$status"
