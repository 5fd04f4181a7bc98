#!/usr/bin/env bash
# Builds and runs the unit tests of the server-free C++ core (test/unit,
# GoogleTest): no PostgreSQL server, no install, a few seconds once built.
# test/run_tests.sh runs it first and sums its counts into its last line.
#
#   test/run_unit_tests.sh                         build, run, print GoogleTest's summary
#   test/run_unit_tests.sh --counts FILE ...       also write "passed failed" to FILE
#   test/run_unit_tests.sh --gtest_filter='Schedule*'   any GoogleTest option
#
# Exits non-zero when the build fails (any compiler warning included) or any
# test fails.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
counts=/dev/null
if [ "${1:-}" = --counts ]; then
    counts=$2
    shift 2
fi

build_log=$(mktemp)
report=$(mktemp)
trap 'rm -f "$build_log" "$report"' EXIT

echo "unit tests: building test/unit"
if ! make -s -C "$repo/test/unit" -j"$(nproc)" >"$build_log" 2>&1; then
    cat "$build_log"
    echo "unit tests: build failed"
    echo "0 1" >"$counts"
    exit 1
fi

# Brief output (failures and the summary); the counts come from the JSON report.
status=0
rm -f "$report"
"$repo/test/unit/build/unit_tests" --gtest_brief=1 --gtest_output="json:$report" "$@" || status=$?

# The report's top-level totals come first; a skipped test is not a passed one.
passed=0
failed=0
if [ -s "$report" ]; then
    total() { sed -n "s/^  \"$1\": \([0-9]*\),\$/\1/p" "$report" | head -n 1; }
    tests=$(total tests)
    failed=$(total failures)
    disabled=$(total disabled)
    skipped=$(grep -c '"result": "SKIPPED"' "$report" || true)
    passed=$(( ${tests:-0} - ${failed:-0} - ${disabled:-0} - ${skipped:-0} ))
    failed=${failed:-0}
fi
# A crash (no report) or a non-zero exit without a counted failure is one failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "unit tests: the test binary exited with status $status"
    failed=1
fi
echo "unit tests: $passed passed, $failed failed"
echo "$passed $failed" >"$counts"
[ "$failed" -eq 0 ]
