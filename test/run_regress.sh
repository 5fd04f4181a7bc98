#!/usr/bin/env bash
# Runs the pg_regress schedule on a temporary instance (as the invoking,
# unprivileged user), with a mock HTTP destination on 127.0.0.1 for the tests
# that need one. Called by test/run_tests.sh with the scratch directory.
set -euo pipefail

workdir=$1
cd "$workdir"

bindir=$(pg_config --bindir)
# The programs pg_regress starts (initdb, postgres, psql): scripts/sanitize.sh
# names a directory where postgres preloads the sanitizer runtimes.
server_bindir=${REVERSE_ETL_SERVER_BINDIR:-$bindir}
pgxs=$(dirname "$(pg_config --pgxs)")
pg_regress="$pgxs/../test/regress/pg_regress"
# pg_dump and psql of this server version, for tests that shell out with \!.
export PATH="$bindir:$PATH"

mock_port=${REVERSE_ETL_MOCK_PORT:-18080}
[ -n "$mock_port" ] || mock_port=18080
export REVERSE_ETL_MOCK_PORT=$mock_port
# The reference verifiers of signed webhooks (test/verifiers), for COPY ... FROM PROGRAM.
export REVERSE_ETL_VERIFIERS="$workdir/test/verifiers"
test_port=${REVERSE_ETL_TEST_PORT:-55432}
[ -n "$test_port" ] || test_port=55432
python3 test/mock_destination.py --host 127.0.0.1 --port "$mock_port" \
    --pid-file "$workdir/mock.pid" --log "$workdir/mock.log" >"$workdir/mock.out" 2>&1 &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    [ -f "$workdir/mock.pid" ] && break
    sleep 0.1
done
if [ ! -f "$workdir/mock.pid" ]; then
    cat "$workdir/mock.out"
    echo "mock destination did not start on port $mock_port"
    exit 1
fi

status=0
"$pg_regress" \
    --bindir="$server_bindir" \
    --inputdir="$workdir" \
    --outputdir="$workdir" \
    --temp-instance="$workdir/tmp_check" \
    --temp-config="$workdir/test/regress.conf" \
    --schedule="$workdir/test/schedule" \
    --dbname=contrib_regression \
    --encoding=UTF8 --no-locale \
    --port="$test_port" \
    | tee "$workdir/pg_regress.out" || status=$?

passed=$(grep -cE '\.\.\. ok' "$workdir/pg_regress.out" || true)
failed=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$workdir/pg_regress.out" || true)

if grep -q 'terminated by signal' "$workdir"/tmp_check/log/*.log 2>/dev/null; then
    echo "server log: a backend was terminated by a signal:"
    grep -h 'terminated by signal' "$workdir"/tmp_check/log/*.log
    failed=$((failed + 1))
fi
echo "$passed $failed" >"$workdir/regress.counts"
if [ "$failed" -ne 0 ]; then
    status=1
fi
exit "$status"
