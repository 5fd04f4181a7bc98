#!/usr/bin/env bash
# The benchmarks, in one command (as root, on Debian 12):
#
#   bench/run.sh [--rows N] [--with-10m] [--reps N] [--profile] [--keep] [--pg-net-source DIR]
#   bench/run.sh --vendors [--rows N] [--reps N] [--mock-python P] [--keep]
#   bench/run.sh --remote [--rows N] [--reps N] [--keep]
#   bench/run.sh --live [--rows N] [--big-rows N | --skip-big] [--duration S] [--reps N] [--keep]
#
# Installs the packages (scripts/ and bench/install_deps.sh), builds and
# installs the extension (scripts/build_and_install.sh), compiles the sink,
# starts a throwaway cluster as the "postgres" user in bench/work/ (port 54400,
# Unix socket only), starts two sinks on 127.0.0.1 (plain, and one holding
# each answer 50 ms), then bench/bench.py generates the data, runs every
# scenario with its floor and writes bench/results.md. Everything is stopped
# at the end (--keep leaves the cluster and the sinks running, to look at).
#
#   --rows N      rows of the main model (default 1000000)
#   --with-10m    also S4: S1 and S2 at 10,000,000 rows (adds ~10 minutes)
#   --reps N      repetitions of each timed step at the main size (default 3;
#                 the median is reported)
#   --profile     also load pg_stat_statements (track = all) and list, for
#                 each sync, the statements its worker spent the most time in
#                 (adds a little overhead to every statement)
#   --keep        leave the cluster and the sinks running
#   --pg-net-source DIR   also B2 and B2b, the do-it-yourself syncs with
#                 pg_net: DIR is a pg_net release's source tree (pg_net is
#                 not packaged in Debian); it is copied to /tmp, built and
#                 installed there as the bench runs, and preloaded in the
#                 throwaway cluster. Without it, B2 and B2b are reported as
#                 not run.
#   --vendors     instead of the scenarios above, the vendor group (issue 14):
#                 also starts the mock destination (test/mock_destination.py),
#                 and bench/vendors.py times a first sync of 100,000 rows
#                 (--rows) to each vendor type's mock, and the same records
#                 through the webhook type with the same batch size, and
#                 writes bench/results-vendors.md
#   --types T,U   with --vendors, only these types (default: every type with
#                 a mock); the report then lists only them
#   --mock-python P   with --vendors, the interpreter of the mock destination:
#                 python3 (default) or pypy3 (installed then; python3, with a
#                 note in the report, when it cannot be)
#   --remote      instead, the remote source group (issue 16): bench/remote.py
#                 syncs the users table (--rows, default 1,000,000) through a
#                 local model and through a model on a source that reaches it
#                 over libpq, and writes bench/results-remote.md
#   --live        instead, the live sync group (issue 19): bench/live.py
#                 measures the latency of changes to a live mapping's table
#                 (--rows, default 1,000,000, changed 1,000 rows a second for
#                 --duration seconds, default 300), the live run after a
#                 10-row change on a table of --big-rows rows (default
#                 10,000,000; --skip-big skips it), median of --reps (default
#                 5 here), and the write overhead of the capture trigger, and
#                 writes bench/results-live.md. The launcher then serves
#                 database "bench" (reverse_etl.database), and the sink
#                 records the request bodies (sink --record).
#
# Environment: BENCH_PORT (54400), BENCH_SINK_PORT (18400; the slow sink
# listens on the next port, the mock destination of --vendors on the one
# after), BENCH_WORKDIR (bench/work), BENCH_INSTALL_LOCK (a file: build and
# install the extension under `flock` on it, for machines where several
# checkouts install into the same PostgreSQL).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bench="$repo/bench"
command_line="bench/run.sh${*:+ $*}"

keep=false
profile=false
vendors=false
remote=false
live=false
mock_python=python3
pg_net_source=""
driver_args=()
types_given=false
live_only_given=false
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) driver_args+=(--rows "$2"); shift 2 ;;
        --reps) driver_args+=(--reps "$2"); shift 2 ;;
        --with-10m) driver_args+=(--with-10m); shift ;;
        --profile) driver_args+=(--profile); profile=true; shift ;;
        --keep) keep=true; shift ;;
        --pg-net-source) pg_net_source=$(cd "$2" && pwd); shift 2 ;;
        --vendors) vendors=true; shift ;;
        --remote) remote=true; shift ;;
        --live) live=true; shift ;;
        --big-rows|--duration) driver_args+=("$1" "$2"); live_only_given=true; shift 2 ;;
        --skip-big) driver_args+=(--skip-big); live_only_given=true; shift ;;
        --mock-python) mock_python=$2; shift 2 ;;
        --types) driver_args+=(--types "$2"); types_given=true; shift 2 ;;
        -h|--help) sed -n '2,61p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: bench/run.sh [--rows N] [--with-10m] [--reps N] [--profile] [--keep] [--vendors [--types T,U] [--mock-python P] | --remote | --live [--big-rows N | --skip-big] [--duration S]]" >&2; exit 2 ;;
    esac
done

if $types_given && ! $vendors; then
    echo "bench/run.sh: --types goes with --vendors" >&2
    exit 2
fi
if $live_only_given && ! $live; then
    echo "bench/run.sh: --big-rows, --skip-big and --duration go with --live" >&2
    exit 2
fi
groups=0
for group in $vendors $remote $live; do $group && groups=$((groups + 1)); done
if [ "$groups" -gt 1 ]; then
    echo "bench/run.sh: --vendors, --remote and --live are separate groups: one at a time" >&2
    exit 2
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/run.sh: run as root (it installs packages and runs the server as \"postgres\")" >&2
    exit 1
fi

port=${BENCH_PORT:-54400}
sink_port=${BENCH_SINK_PORT:-18400}
slow_sink_port=$((sink_port + 1))
mock_port=$((sink_port + 2))
work=${BENCH_WORKDIR:-$bench/work}
python=/usr/bin/python3   # Debian's, which has python3-psycopg2 and python3-requests
# The launcher runs the schedules of one database: the live group's mappings
# are in "bench" (it connects once bench/live.py has created it).
launcher_database=postgres
$live && launcher_database=bench
# The live group reads the bodies the sink received (sink --record).
sink_record=()
$live && sink_record=(--record "$work/sink-records.log")

"$repo/scripts/install_deps.sh"
if $vendors && [ "$mock_python" = pypy3 ]; then "$bench/install_deps.sh" --pypy3; else "$bench/install_deps.sh"; fi
echo "== build and install the extension"
if [ -n "${BENCH_INSTALL_LOCK:-}" ]; then
    flock "$BENCH_INSTALL_LOCK" "$repo/scripts/build_and_install.sh"
else
    "$repo/scripts/build_and_install.sh"
fi

bindir=$(pg_config --bindir)
as_postgres() { runuser -u postgres -- "$@"; }

stop_everything() {
    if [ -f "$work/data/postmaster.pid" ]; then
        as_postgres "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    for pidfile in "$work/sink.pid" "$work/slow_sink.pid" "$work/mock.pid"; do
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
            rm -f "$pidfile"
        fi
    done
}

# A previous run's leftovers (same work directory) first.
stop_everything
rm -rf "$work"
mkdir -p "$work"
chown postgres:postgres "$work"
chmod 755 "$work"
if ! as_postgres test -w "$work"; then
    echo "bench/run.sh: the postgres user cannot write $work; set BENCH_WORKDIR (e.g. /tmp/reverse_etl_bench)" >&2
    exit 1
fi
# At the end the cluster's data directory goes too (3 GB with --with-10m); the
# logs and bench/work/results.json stay.
$keep || trap 'stop_everything; rm -rf "$work/data"' EXIT

preload=reverse_etl
if [ -n "$pg_net_source" ]; then
    if $vendors || $remote || $live; then
        echo "bench/run.sh: --pg-net-source goes with the main scenarios" >&2
        exit 2
    fi
    echo "== build and install pg_net from $pg_net_source (in /tmp)"
    pg_net_build=$(mktemp -d /tmp/reverse_etl_bench_pg_net.XXXXXX)
    cp -r "$pg_net_source"/. "$pg_net_build"
    make -s -C "$pg_net_build" PG_CONFIG="$(command -v pg_config)" >"$work/pg_net_build.log" 2>&1
    make -s -C "$pg_net_build" PG_CONFIG="$(command -v pg_config)" install >>"$work/pg_net_build.log" 2>&1
    rm -rf "$pg_net_build"
    preload="reverse_etl,pg_net"
    driver_args+=(--pg-net)
fi

echo "== compile the sink"
gcc -O2 -Wall -Wextra -Werror -o "$work/sink" "$bench/sink.c"

echo "== start the cluster (port $port, socket in $work)"
as_postgres "$bindir/initdb" -D "$work/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$work/initdb.log"
cat >>"$work/data/postgresql.conf" <<CONF

# bench/run.sh
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = '$preload'
reverse_etl.database = '$launcher_database'   # postgres: the launcher idles (syncs run by sync() in "bench"); bench for --live
reverse_etl.allowed_hosts = '127.0.0.1'  # the sinks; reverse_etl.blocked_networks refuses loopback otherwise
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
timezone = 'UTC'
log_line_prefix = '%m [%p] %b '
CONF
if [ -n "$pg_net_source" ]; then
    echo "pg_net.database_name = 'bench'   # its worker serves the benchmark's database" >>"$work/data/postgresql.conf"
fi
if $profile; then
    cat >>"$work/data/postgresql.conf" <<CONF
shared_preload_libraries = '$preload,pg_stat_statements'
pg_stat_statements.track = all
CONF
fi
as_postgres "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null

echo "== start the sinks (127.0.0.1:$sink_port, and 127.0.0.1:$slow_sink_port with 50 ms per request)"
"$work/sink" --port "$sink_port" --pid-file "$work/sink.pid" "${sink_record[@]}" >"$work/sink.out" 2>"$work/sink.log" &
"$work/sink" --port "$slow_sink_port" --latency-ms 50 --pid-file "$work/slow_sink.pid" \
    >"$work/slow_sink.out" 2>"$work/slow_sink.log" &
for _ in $(seq 50); do
    [ -s "$work/sink.out" ] && [ -s "$work/slow_sink.out" ] && break
    sleep 0.1
done
if ! grep -q listening "$work/sink.out" || ! grep -q listening "$work/slow_sink.out"; then
    cat "$work/sink.log" "$work/slow_sink.log" >&2
    echo "bench/run.sh: a sink did not start" >&2
    exit 1
fi

if $vendors; then
    for option in "${driver_args[@]}"; do
        case "$option" in
            --with-10m|--profile) echo "bench/run.sh: --vendors takes --rows, --reps, --types, --mock-python and --keep only" >&2; exit 2 ;;
        esac
    done
    # PyPy was measured as an alternative interpreter for the mock (see
    # bench/README.md): it gains little here, so python3 is the default.
    mock_note=""
    if [ "$mock_python" = pypy3 ] && ! command -v pypy3 >/dev/null; then
        mock_note="pypy3 is not installed: the mock ran under python3"
        echo "bench/run.sh: $mock_note" >&2
        mock_python=python3
    fi
    # python3 is Debian's, as for the drivers (not one earlier in PATH).
    [ "$mock_python" = python3 ] && mock_python=$python
    mock_python=$(command -v "$mock_python") || { echo "bench/run.sh: no interpreter $mock_python" >&2; exit 2; }
    echo "== start the mock destination (127.0.0.1:$mock_port, $mock_python)"
    "$mock_python" "$repo/test/mock_destination.py" --host 127.0.0.1 --port "$mock_port" \
        --pid-file "$work/mock.pid" --log /dev/null >"$work/mock.out" 2>"$work/mock.log" &
    for _ in $(seq 100); do
        [ -s "$work/mock.out" ] && break
        sleep 0.1
    done
    if ! grep -q listening "$work/mock.out"; then
        cat "$work/mock.log" >&2
        echo "bench/run.sh: the mock destination did not start" >&2
        exit 1
    fi
    "$python" "$bench/vendors.py" \
        --repo "$repo" --work "$work" --host "$work" --port "$port" \
        --mock-url "http://127.0.0.1:$mock_port" \
        --mock-python "$mock_python" --mock-note "$mock_note" \
        --output "$bench/results-vendors.md" --command "$command_line" "${driver_args[@]}"
elif $remote; then
    for option in "${driver_args[@]}"; do
        case "$option" in
            --with-10m|--profile|--types) echo "bench/run.sh: --remote takes --rows, --reps and --keep only" >&2; exit 2 ;;
        esac
    done
    "$python" "$bench/remote.py" \
        --repo "$repo" --work "$work" --host "$work" --port "$port" \
        --sink-url "http://127.0.0.1:$sink_port" \
        --output "$bench/results-remote.md" --command "$command_line" "${driver_args[@]}"
elif $live; then
    for option in "${driver_args[@]}"; do
        case "$option" in
            --with-10m|--profile|--types) echo "bench/run.sh: --live takes --rows, --big-rows, --skip-big, --duration, --reps and --keep only" >&2; exit 2 ;;
        esac
    done
    "$python" "$bench/live.py" \
        --repo "$repo" --work "$work" --host "$work" --port "$port" \
        --sink-url "http://127.0.0.1:$sink_port" --record-file "$work/sink-records.log" \
        --output "$bench/results-live.md" --command "$command_line" "${driver_args[@]}"
else
"$python" "$bench/bench.py" \
    --repo "$repo" --work "$work" --host "$work" --port "$port" \
    --sink-url "http://127.0.0.1:$sink_port" --slow-sink-url "http://127.0.0.1:$slow_sink_port" \
    --output "$bench/results.md" --command "$command_line" "${driver_args[@]}"
fi

if $keep; then
    echo "The cluster and the sinks are still running:"
    echo "  psql -h $work -p $port -U postgres bench"
    echo "  curl http://127.0.0.1:$sink_port/stats"
    $vendors && echo "  curl http://127.0.0.1:$mock_port/_mock/stats"
    echo "Stop them with: runuser -u postgres -- $bindir/pg_ctl -D $work/data stop; kill \$(cat $work/*.pid)"
fi
