#!/bin/sh
# Writes the extension's install script to stdout: the SQL parts given before "--",
# then one INSERT per destination definition file given after it.
set -eu
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    cat "$1"
    printf '\n'
    shift
done
[ $# -gt 0 ] && shift
printf -- '-- Destination types, generated from src/destinations/*.json\n'
for def in "$@"; do
    # Dollar quoting keeps the JSON byte for byte; a definition containing the
    # delimiter would end the literal early, so refuse it.
    if grep -q '\$definition\$' "$def"; then
        echo "$def contains \$definition\$" >&2
        exit 1
    fi
    printf 'INSERT INTO reverse_etl.destination_type_catalog (type, definition)\nSELECT d->>%s, d FROM (SELECT $definition$' "'type'"
    cat "$def"
    printf '$definition$::jsonb AS d) AS parsed;\n\n'
done
