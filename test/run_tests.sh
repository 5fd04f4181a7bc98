#!/usr/bin/env bash
# The whole test suite, on a temporary PostgreSQL instance.
#
# As root (a fresh machine, CI): installs the Debian packages, builds (failing
# on any compiler warning) and installs the extension, then runs the server and
# the tests as the unprivileged "postgres" user, since PostgreSQL refuses root.
# As another user: builds and runs the tests, assuming the extension can be
# installed with `make install` (e.g. a PostgreSQL you own).
#
# First the unit tests of the server-free C++ core (test/run_unit_tests.sh:
# GoogleTest, no server) and of the vendor mocks (test/run_mock_tests.sh), in
# every invocation: they take seconds.
#
# Ends with the line "N passed, N failed" and exits non-zero on any failure.
#
#   test/run_tests.sh                 everything in test/schedule
#   test/run_tests.sh models mappings setup + the named tests only
#   REVERSE_ETL_NO_BUILD=1 ...        skip build and install (parallel runs)
#   REVERSE_ETL_TAP=1 / REVERSE_ETL_FUZZ=1 ...  with named tests, also the TAP
#                                     tests / the fuzz smoke run (test/fuzz/run.sh)
#   REVERSE_ETL_TEST_PORT / REVERSE_ETL_MOCK_PORT   ports (55432 / 18080)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ -z "${REVERSE_ETL_NO_BUILD:-}" ]; then
    scripts/build_and_install.sh
fi

# The reference libraries sql/signed_webhooks.sql verifies signatures with.
verifiers_status=0
test/verifiers/install.sh || verifiers_status=$?

# The tests run from a scratch copy the unprivileged user owns: pg_regress
# writes results next to its inputs, and the repository may belong to root.
workdir=$(mktemp -d /tmp/reverse_etl_tests.XXXXXX)
# Not the fuzz targets' build (test/fuzz/run.sh below runs them in place).
tar -cf - --exclude=test/fuzz sql expected test | tar -xf - -C "$workdir"
if [ $# -gt 0 ]; then
    { echo "test: setup"; for name in "$@"; do [ "$name" = setup ] || echo "test: $name"; done; } \
        >"$workdir/test/schedule"
fi
run_unprivileged() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- env REVERSE_ETL_TEST_PORT="${REVERSE_ETL_TEST_PORT:-}" \
            REVERSE_ETL_MOCK_PORT="${REVERSE_ETL_MOCK_PORT:-}" "$@"
    else
        "$@"
    fi
}
status=$verifiers_status
# The layers of docs/architecture.md: no include points up.
test/check_layers.sh "$workdir/layers.counts" || status=$?
# Release discipline (docs/releasing.md): no SQL change without its
# upgrade script.
test/check_releases.sh "$workdir/releases.counts" || status=$?
# The server-free core, without PostgreSQL (as the invoking user: nothing is installed).
test/run_unit_tests.sh --counts "$workdir/unit.counts" || status=$?
# The vendor mocks answer as their vendors document (test/mocks).
test/run_mock_tests.sh "$workdir/mocks.counts" || status=$?
run_tap=false
run_fuzz=false
if [ $# -eq 0 ] || [ -n "${REVERSE_ETL_FUZZ:-}" ]; then
    run_fuzz=true
fi
if [ $# -eq 0 ] || [ -n "${REVERSE_ETL_TAP:-}" ]; then
    run_tap=true
    # The releases the upgrade test installs, built from their commits.
    test/prepare_releases.sh "$workdir" || status=$?
fi
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$workdir"
    chmod 755 "$workdir"
fi

run_unprivileged "$workdir/test/run_regress.sh" "$workdir" || status=$?
# TAP tests (server restarts, crashes, signals, pg_cron) unless a subset of
# pg_regress tests was asked for.
if $run_tap; then
    run_unprivileged "$workdir/test/run_tap.sh" "$workdir" || status=$?
fi

# A short run of every fuzz target (test/fuzz/run.sh; seconds each), unless
# a subset of pg_regress tests was asked for.
if $run_fuzz; then
    test/fuzz/run.sh --smoke --counts "$workdir/fuzz.counts" || status=$?
fi

passed=0
failed=0
for counts in "$workdir/layers.counts" "$workdir/releases.counts" "$workdir/unit.counts" "$workdir/mocks.counts" "$workdir/regress.counts" "$workdir/tap.counts" "$workdir/fuzz.counts"; do
    [ -f "$counts" ] || continue
    read -r p f <"$counts"
    passed=$((passed + p))
    failed=$((failed + f))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "no test ran"
    status=1
fi
if [ "$status" -ne 0 ] && [ -f "$workdir/regression.diffs" ]; then
    echo "differences: $workdir/regression.diffs"
fi
echo "$passed passed, $failed failed"
exit "$status"
