#!/usr/bin/env bash
# The extension under AddressSanitizer and UndefinedBehaviorSanitizer: built
# with g++ -fsanitize=address,undefined, and the pg_regress suite run on a
# server that preloads the sanitizer runtimes; first the unit tests
# (test/unit), built with the same flags, when there are any.
#
# Nothing is installed into the system's PostgreSQL, so other builds and test
# runs may go on meanwhile: the server runs from a private copy of the
# installation (PostgreSQL finds its libraries and share files relative to its
# own binary) with the sanitized build installed into it.
#
# Fails if a test fails or a sanitizer reports anything (ASan stops the
# backend; UBSan reports any undefined behaviour and stops it too), printing
# the reports. Ends with the line "N passed, N failed".
#
#   scripts/sanitize.sh              unit tests and every pg_regress test
#   scripts/sanitize.sh NAME...      unit tests, setup and the named pg_regress tests
#   REVERSE_ETL_TEST_PORT / REVERSE_ETL_MOCK_PORT   ports, as for test/run_tests.sh
#   REVERSE_ETL_KEEP=1               keep the scratch directory (build, logs) on success
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ "$(id -u)" -eq 0 ]; then
    scripts/install_deps.sh
fi

flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
asan_runtime=$(readlink -f "$(g++ -print-file-name=libasan.so)")
ubsan_runtime=$(readlink -f "$(g++ -print-file-name=libubsan.so)")
for runtime in "$asan_runtime" "$ubsan_runtime"; do
    if [ ! -f "$runtime" ]; then
        echo "sanitize: no sanitizer runtime $runtime (g++ and its libasan/libubsan are needed)" >&2
        exit 1
    fi
done

scratch=$(mktemp -d /tmp/reverse_etl_sanitize.XXXXXX)
chmod 755 "$scratch"
status=0
unit_passed=0
unit_failed=0

# ---- unit tests: test/unit builds with SANITIZE_FLAGS added to its flags.
if [ -f test/unit/Makefile ]; then
    echo "sanitize: unit tests (test/unit) with $flags"
    if make -C test/unit SANITIZE=1 check; then
        unit_passed=1
    else
        unit_failed=1
        status=1
    fi
else
    echo "sanitize: no test/unit/Makefile, no unit tests to run"
fi

# ---- the sanitized build, from a copy of the sources (the checkout's own
# objects stay as they are).
echo "sanitize: building the extension with $flags in $scratch/source"
mkdir "$scratch/source"
git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$scratch/source"
if ! make -C "$scratch/source" -s -j"$(nproc)" CXX="g++ $flags" LDFLAGS_SL="$flags" \
    >"$scratch/build.log" 2>&1; then
    cat "$scratch/build.log"
    echo "sanitize: the sanitized build failed"
    exit 1
fi
grep 'warning:' "$scratch/build.log" || true

# ---- a private installation: the server binaries copied (so that the paths
# PostgreSQL derives from its binary lead here), libraries and share files
# linked, the sanitized extension installed over them.
installation=$scratch/installation
bindir=$(pg_config --bindir)
pkglibdir=$(pg_config --pkglibdir)
sharedir=$(pg_config --sharedir)
mkdir -p "$installation$bindir" "$installation$pkglibdir" "$installation$sharedir"
cp -a "$bindir/." "$installation$bindir/"
cp -as "$pkglibdir/." "$installation$pkglibdir/"
cp -as "$sharedir/." "$installation$sharedir/"
rm -f "$installation$pkglibdir"/reverse_etl.so "$installation$sharedir"/extension/reverse_etl*
make -C "$scratch/source" -s install DESTDIR="$installation" >/dev/null
# Not grep -q: it would stop reading early, and under pipefail nm's SIGPIPE
# would then count as "not instrumented".
if ! nm -D --undefined-only "$installation$pkglibdir/reverse_etl.so" | grep __asan_report >/dev/null; then
    echo "sanitize: the installed reverse_etl.so is not instrumented" >&2
    exit 1
fi

# The server preloads the runtimes (ASan first, as it requires) and a small
# helper of three parts, built here:
# - ASan initialises on its first intercepted call when it is preloaded rather
#   than linked. In postgres that call is a malloc inside glibc's
#   bindtextdomain, made by libgpg-error's constructor with gettext's lock
#   held; ASan's start-up then calls dlerror, which takes that lock again and
#   corrupts it, and the server hangs in its own bindtextdomain. The helper's
#   bindtextdomain initialises ASan (with a malloc) before glibc's takes the lock.
# - Other programs meet the same fate elsewhere (curl in newlocale, from
#   libp11-kit), so the preload stops at the server: the programs it runs
#   (COPY ... PROGRAM 'curl', which the tests use to talk to the mock) start
#   without it.
# - UBSan reads its options from the environment on its first report, which in
#   a backend comes after PostgreSQL has written its process title over the
#   environment; the helper gives them as UBSan's default options instead
#   (preloaded before libubsan, so that its own default is not the one found).
#   ASan reads its options before main(), from ASAN_OPTIONS.
reports=$scratch/reports
mkdir -m 1777 "$reports"
cat >"$scratch/sanitize_helper.c" <<SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

__attribute__((constructor)) static void only_this_process(void) {
    unsetenv("LD_PRELOAD");
}

char *bindtextdomain(const char *domain, const char *directory) {
    static char *(*next)(const char *, const char *);
    void *volatile block = malloc(1);
    free(block);
    if (!next)
        next = (char *(*)(const char *, const char *))dlsym(RTLD_NEXT, "bindtextdomain");
    return next(domain, directory);
}

const char *__ubsan_default_options(void) {
    return "print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$reports/ubsan";
}
SOURCE
# bindtextdomain with the version the libraries ask for, so that they bind to
# it rather than to glibc's.
cat >"$scratch/sanitize_helper.map" <<'MAP'
GLIBC_2.2.5 { global: bindtextdomain; };
REVERSE_ETL_SANITIZE { global: __ubsan_default_options; local: *; };
MAP
gcc -shared -fPIC -O2 -Wl,--version-script="$scratch/sanitize_helper.map" \
    "$scratch/sanitize_helper.c" -o "$scratch/sanitize_helper.so"

# pg_regress starts the programs of its --bindir: there, postgres is a script
# that starts the private installation's server with the preloads. initdb and
# psql run as they are.
wrappers=$scratch/bin
mkdir "$wrappers"
for program in "$installation$bindir"/*; do
    ln -s "$program" "$wrappers/$(basename "$program")"
done
rm "$wrappers/postgres"
cat >"$wrappers/postgres" <<EOF
#!/bin/sh
# Written by scripts/sanitize.sh. PostgreSQL frees memory by whole contexts,
# which LeakSanitizer would report, so leaks are not looked for; the tests
# look for them (test boundary checks that the resident size stays flat,
# which a quarantine of freed memory larger than its warm-up would defeat).
LD_PRELOAD="$asan_runtime $scratch/sanitize_helper.so $ubsan_runtime"
ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=16:abort_on_error=1:log_path=$reports/asan"
export LD_PRELOAD ASAN_OPTIONS
exec "$installation$bindir/postgres" "\$@"
EOF
chmod 755 "$wrappers/postgres"

# ---- the pg_regress suite (as test/run_tests.sh runs it, from a scratch copy
# the unprivileged user owns).
workdir=$scratch/regress
mkdir "$workdir"
tar -cf - --exclude=test/fuzz sql expected test | tar -xf - -C "$workdir"
if [ $# -gt 0 ]; then
    { echo "test: setup"; for name in "$@"; do [ "$name" = setup ] || echo "test: $name"; done; } \
        >"$workdir/test/schedule"
fi
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$workdir"
    run_as=(runuser -u postgres --)
fi
echo "sanitize: pg_regress on a server with $(basename "$asan_runtime") and $(basename "$ubsan_runtime") preloaded"
"${run_as[@]}" env REVERSE_ETL_TEST_PORT="${REVERSE_ETL_TEST_PORT:-}" \
    REVERSE_ETL_MOCK_PORT="${REVERSE_ETL_MOCK_PORT:-}" REVERSE_ETL_SERVER_BINDIR="$wrappers" \
    "$workdir/test/run_regress.sh" "$workdir" || status=1

read -r passed failed <"$workdir/regress.counts" 2>/dev/null || { passed=0; failed=0; }
passed=$((passed + unit_passed))
failed=$((failed + unit_failed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1   # the suite did not run to its end
fi

# ---- every sanitizer report, from the report files and, in case a process
# could not write one, from the server's log.
found=0
for report in "$reports"/*; do
    [ -f "$report" ] || continue
    found=$((found + 1))
    echo "---- sanitizer report $report"
    head -60 "$report"
done
if grep -l -E 'ERROR: AddressSanitizer|runtime error:|Sanitizer' "$workdir"/tmp_check/log/*.log 2>/dev/null; then
    grep -h -E -A30 'ERROR: AddressSanitizer|runtime error:|Sanitizer' "$workdir"/tmp_check/log/*.log | head -80
    found=$((found + 1))
fi
if [ "$found" -gt 0 ]; then
    echo "sanitize: $found sanitizer report(s)"
    failed=$((failed + found))
    status=1
else
    echo "sanitize: no sanitizer report"
fi
if [ "$status" -ne 0 ]; then
    [ -f "$workdir/regression.diffs" ] && echo "differences: $workdir/regression.diffs"
    echo "sanitize: kept $scratch"
elif [ -z "${REVERSE_ETL_KEEP:-}" ]; then
    rm -rf "$scratch"
fi
echo "$passed passed, $failed failed"
exit "$status"
