#!/usr/bin/env bash
# Runs the TAP tests (test/t/*.pl) with PostgreSQL's own Perl test modules,
# as the invoking unprivileged user. Called by test/run_tests.sh.
set -euo pipefail
workdir=$1
cd "$workdir/test"
bindir=$(pg_config --bindir)
pgxs=$(dirname "$(pg_config --pgxs)")
export PATH="$bindir:$PATH"
export PERL5LIB="$pgxs/../test/perl${PERL5LIB:+:$PERL5LIB}"
export PG_REGRESS="$pgxs/../test/regress/pg_regress"
export TESTDIR="$workdir/test" TESTDATADIR="$workdir/test/tmp_check"
mkdir -p "$TESTDATADIR"
shopt -s nullglob
tests=(t/*.pl)
if [ ${#tests[@]} -eq 0 ]; then
    echo "0 0" >"$workdir/tap.counts"
    exit 0
fi
status=0
prove -v "${tests[@]}" 2>&1 | tee "$workdir/tap.out" || status=$?
# Subtests: "ok N" and "not ok N" lines of the verbose output.
passed=$(grep -cE '^ok [0-9]+' "$workdir/tap.out" || true)
failed=$(grep -cE '^not ok [0-9]+' "$workdir/tap.out" || true)
# A script that died before its plan counts as one more failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
fi
# Crashes: any backend terminated by a signal, except the SIGKILLs that the
# crash tests send on purpose (they say so in their logs).
if grep -rh 'terminated by signal' "$TESTDATADIR" 2>/dev/null | grep -v 'signal 9: Killed'; then
    echo "server log: a process was terminated by a signal"
    failed=$((failed + 1))
    status=1
fi
echo "$passed $failed" >"$workdir/tap.counts"
exit "$status"
