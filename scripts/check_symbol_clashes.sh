#!/usr/bin/env bash
# Fails when reverse_etl.so calls a function that both a library it links
# (jansson, libcurl, OpenSSL) and the postgres executable export. The dynamic
# linker binds such a call to postgres's function, not the library's: jansson's
# json_object() once resolved to PostgreSQL's SQL function json_object() and
# corrupted memory. Use a differently named wrapper instead.
set -euo pipefail
library=${1:-reverse_etl.so}
postgres="$(pg_config --bindir)/postgres"
ours=$(nm -D --undefined-only "$library" | awk '{print $2}' | sed 's/@.*//' | sort -u)
server=$(nm -D --defined-only "$postgres" | awk '{print $3}' | sed 's/@.*//' | sort -u)
libraries=$(ldd "$library" | awk '/jansson|curl|crypto/ {print $3}')
theirs=$(for lib in $libraries; do nm -D --defined-only "$lib" | awk '{print $3}'; done | sed 's/@.*//' | sort -u)
clashes=$(comm -12 <(echo "$ours") <(comm -12 <(echo "$server") <(echo "$theirs")))
if [ -n "$clashes" ]; then
    echo "reverse_etl.so calls library functions that postgres also defines: $clashes" >&2
    exit 1
fi
