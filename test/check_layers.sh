#!/usr/bin/env bash
# The layering of docs/architecture.md, checked on every include in src/:
#
#   sql_api > worker > engine > destinations > catalog > pg > http > common
#
# A file may include headers of its own folder and of folders below it, never
# above it. PostgreSQL's headers are included only in pg/, worker/ and
# sql_api/; SQL-callable functions (PG_FUNCTION_INFO_V1, REVERSE_ETL_FUNCTION)
# are defined only in sql_api/.
#
# usage: test/check_layers.sh [COUNTS_FILE]
# Prints one line per violation and "ok"/"not ok" per rule; writes
# "passed failed" to COUNTS_FILE when given.
set -uo pipefail

cd "$(dirname "$0")/../src"
layers=(common http pg catalog destinations engine worker sql_api)
with_postgres_headers=" pg worker sql_api "
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

passed=0
failed=0
result() {  # result DESCRIPTION VIOLATIONS
    if [ "$2" -eq 0 ]; then
        echo "ok - $1"
        passed=$((passed + 1))
    else
        echo "not ok - $1"
        failed=$((failed + 1))
    fi
}

files=$(find . -name '*.cpp' -o -name '*.hpp' | sed 's|^\./||' | sort)

unknown=0
for file in $files; do
    folder=${file%%/*}
    if [ -z "${rank[$folder]:-}" ]; then
        echo "  src/$file: folder $folder/ is not a layer of docs/architecture.md"
        unknown=$((unknown + 1))
    fi
done
result "every source folder is a layer" "$unknown"

upward=0
postgres=0
for file in $files; do
    folder=${file%%/*}
    [ -n "${rank[$folder]:-}" ] || continue
    # Quoted includes: ours are "layer/name.hpp", PostgreSQL's end in .h
    # (its "catalog/pg_type.h" is not our catalog/).
    while IFS= read -r included; do
        target=${included%%/*}
        if [ -n "${rank[$target]:-}" ] && [[ "$included" == */*.hpp ]]; then
            if [ "${rank[$target]}" -gt "${rank[$folder]}" ]; then
                echo "  src/$file includes $included: $folder/ may not depend on $target/ (above it)"
                upward=$((upward + 1))
            fi
        elif [[ "$with_postgres_headers" != *" $folder "* ]]; then
            echo "  src/$file includes PostgreSQL's $included: only pg/, worker/ and sql_api/ may"
            postgres=$((postgres + 1))
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
    # The project's own header of PostgreSQL's headers counts as one of them.
    if [[ "$with_postgres_headers" != *" $folder "* ]] && grep -q '#include "pg/postgres_headers.hpp"' "$file"; then
        echo "  src/$file includes pg/postgres_headers.hpp: only pg/, worker/ and sql_api/ may"
        postgres=$((postgres + 1))
    fi
done
result "includes point down the layers" "$upward"
result "PostgreSQL headers only in pg/, worker/ and sql_api/" "$postgres"

entry_points=0
for file in $files; do
    [ "${file%%/*}" = sql_api ] && continue
    # The macros' own definitions (pg/error_crossing.hpp) are not uses.
    if grep -nE '^[[:space:]]*(PG_FUNCTION_INFO_V1|REVERSE_ETL_(VIEW_)?FUNCTION)\(' "$file" | grep -v '\\$' >/dev/null; then
        echo "  src/$file defines an SQL-callable function: they belong in sql_api/"
        entry_points=$((entry_points + 1))
    fi
done
result "SQL-callable functions only in sql_api/" "$entry_points"

[ $# -gt 0 ] && echo "$passed $failed" >"$1"
[ "$failed" -eq 0 ]
