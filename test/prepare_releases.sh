#!/usr/bin/env bash
# Stages every release listed in src/upgrade/releases, and the current build,
# for test/t/017_extension_update.pl: each is built from its commit and
# installed with DESTDIR into WORKDIR/releases/<version>/, a tree that the test
# lays over a private copy of the PostgreSQL installation. Nothing is
# installed into the system's PostgreSQL.
#
# Release builds are kept in a cache keyed by commit and PostgreSQL version
# (REVERSE_ETL_RELEASE_CACHE, default ~/.cache/reverse_etl/releases): a
# released commit never changes.
#
# usage: test/prepare_releases.sh WORKDIR   (from a built checkout with git history)
# Writes WORKDIR/releases/index: "version directory" lines, oldest first,
# the current version last.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
workdir=$1
pg_config=${PG_CONFIG:-pg_config}
pg_major=$("$pg_config" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
cache=${REVERSE_ETL_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reverse_etl/releases}
current=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" reverse_etl.control)
stage=$workdir/releases
mkdir -p "$stage" "$cache"
: >"$stage/index"

build_release() {  # VERSION COMMIT -> prints the staged directory
    local version=$1 commit=$2
    local dir="$cache/$commit-pg$pg_major"
    if [ ! -f "$dir/complete" ]; then
        if ! command -v git >/dev/null; then
            echo "release $version: git is needed to build it from its commit" >&2
            return 1
        fi
        if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
            echo "release $version: commit $commit is not in this checkout's history" >&2
            echo "(the upgrade test builds each release from its commit: use a full clone)" >&2
            return 1
        fi
        rm -rf "$dir"
        mkdir -p "$dir/source"
        git archive "$commit" | tar -x -C "$dir/source"
        echo "building release $version ($commit) for the upgrade test" >&2
        make -C "$dir/source" -s -j"$(nproc)" PG_CONFIG="$pg_config" >"$dir/build.log" 2>&1 ||
            { cat "$dir/build.log" >&2; return 1; }
        make -C "$dir/source" -s install DESTDIR="$dir/tree" PG_CONFIG="$pg_config" >>"$dir/build.log" 2>&1 ||
            { cat "$dir/build.log" >&2; return 1; }
        rm -rf "$dir/source"
        touch "$dir/complete"
    fi
    echo "$dir/tree"
}

while read -r version commit _; do
    case "$version" in '' | '#'*) continue ;; esac
    [ "$version" = "$current" ] && continue
    tree=$(build_release "$version" "$commit")
    rm -rf "${stage:?}/$version"
    cp -a "$tree" "$stage/$version"
    echo "$version $stage/$version" >>"$stage/index"
done <src/upgrade/releases

# The current build, as `make install` would lay it out.
make -s install DESTDIR="$stage/current" PG_CONFIG="$pg_config" >/dev/null
echo "$current $stage/current" >>"$stage/index"
