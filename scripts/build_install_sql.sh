#!/bin/sh
# Writes an extension script to stdout: the SQL files given before "--", then
# the statements that make reverse_etl.destination_type_catalog hold exactly
# the destination definition files given after it.
#
# Used for the install script (src/sql/*.sql) and for every upgrade script
# (src/upgrade/reverse_etl--A--B.sql): an upgrade then brings the built-in
# destination types to what a fresh install has, and adding or changing a
# destination type needs only its JSON file.
set -eu
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    cat "$1"
    printf '\n'
    shift
done
[ $# -gt 0 ] && shift
printf -- '-- Destination types, generated from src/destinations/*.json: the\n'
printf -- '-- catalog ends up holding exactly these definitions. A type that is gone\n'
printf -- '-- from the sources goes from the catalog too; while a destination still\n'
printf -- '-- uses it, the foreign key stops the script with an error naming it.\n'
printf 'WITH definitions (definition) AS (VALUES\n'
separator=''
for def in "$@"; do
    # Dollar quoting keeps the JSON byte for byte; a definition containing the
    # delimiter would end the literal early, so refuse it.
    if grep -q '\$definition\$' "$def"; then
        echo "$def contains \$definition\$" >&2
        exit 1
    fi
    printf '%s($definition$' "$separator"
    cat "$def"
    printf '$definition$::jsonb)'
    separator=',
'
done
printf '\n), refreshed AS (\n'
printf '    INSERT INTO reverse_etl.destination_type_catalog (type, definition)\n'
printf "    SELECT definition->>'type', definition FROM definitions\n"
printf '    ON CONFLICT (type) DO UPDATE SET definition = EXCLUDED.definition\n'
printf ')\n'
printf 'DELETE FROM reverse_etl.destination_type_catalog\n'
printf " WHERE type NOT IN (SELECT definition->>'type' FROM definitions);\n"
