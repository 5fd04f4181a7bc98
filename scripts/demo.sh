#!/usr/bin/env bash
# One command from a fresh machine to a working demo: installs the packages,
# builds and installs the extension, starts a throwaway PostgreSQL cluster with
# reverse_etl preloaded and a mock destination on 127.0.0.1, and walks through
# scripts/demo.sql in psql. The cluster is stopped and removed at the end
# unless --keep is given (then the script prints how to connect).
#
# As root the server runs as the unprivileged "postgres" user.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
keep=false
stop_only=false
case "${1:-}" in
    --keep) keep=true ;;
    --stop) stop_only=true ;;
    "") ;;
    *) echo "usage: $0 [--keep | --stop]" >&2; exit 2 ;;
esac

demo=/tmp/reverse_etl_demo
port=${REVERSE_ETL_DEMO_PORT:-54329}
mock_port=${REVERSE_ETL_DEMO_MOCK_PORT:-18089}

run_as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_everything() {
    run_as_server_user "$bindir/pg_ctl" -D "$demo/data" -m fast stop >/dev/null 2>&1 || true
    [ -f "$demo/mock.pid" ] && kill "$(cat "$demo/mock.pid")" 2>/dev/null || true
}

# Packages first: pg_config itself comes from them.
$stop_only || "$repo/scripts/build_and_install.sh"
bindir=$(pg_config --bindir)
stop_everything
$stop_only && { rm -rf "$demo"; exit 0; }
rm -rf "$demo"
mkdir -p "$demo"
cp "$repo/scripts/demo.sql" "$repo/test/mock_destination.py" "$demo/"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$demo"

run_as_server_user "$bindir/initdb" -D "$demo/data" -A trust -U postgres >/dev/null
cat >>"$demo/data/postgresql.conf" <<CONF
shared_preload_libraries = 'reverse_etl'
# The mock destination is on this machine: name it, or the default
# reverse_etl.blocked_networks refuses loopback.
reverse_etl.allowed_hosts = '127.0.0.1'
port = $port
listen_addresses = ''
unix_socket_directories = '$demo'
CONF
run_as_server_user "$bindir/pg_ctl" -D "$demo/data" -l "$demo/server.log" -w start >/dev/null
run_as_server_user python3 "$demo/mock_destination.py" --host 127.0.0.1 --port "$mock_port" \
    --pid-file "$demo/mock.pid" --log "$demo/mock.log" >/dev/null 2>&1 &
$keep || trap stop_everything EXIT

run_as_server_user "$bindir/psql" -X -h "$demo" -p "$port" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -v mock_port="$mock_port" -e -f "$demo/demo.sql"

echo
echo "What the mock destination received (POST /users, one request per record):"
curl -s "http://127.0.0.1:$mock_port/_mock/requests" | python3 -c '
import json, sys
for request in json.load(sys.stdin):
    print(" ", request["method"], request["path"], "Authorization:", request["headers"].get("authorization"), request["body"])
'

if $keep; then
    echo
    echo "The demo cluster is still running:"
    echo "  psql -h $demo -p $port -U postgres postgres"
    echo "Stop it with: $repo/scripts/demo.sh --stop"
fi
