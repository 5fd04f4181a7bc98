#!/usr/bin/env bash
# The release discipline of docs/releasing.md, checked before the tests run:
#
#   - a released version's install script is byte for byte the one released
#     (its sha256 is in src/upgrade/releases);
#   - an unreleased current version is newer than the last release and has
#     an upgrade script from it;
#   - between two releases there is an upgrade script, unchanged since the
#     later one was released;
#   - every upgrade script leads from a release to a release or the current version.
#
# So changing the SQL of a released version without bumping the version and
# writing its upgrade script fails here; an upgrade script that misses part of
# a change fails test/t/017_extension_update.pl, which compares catalogs.
#
# usage: test/check_releases.sh COUNTS_FILE   (run from a built checkout)
# Prints "ok"/"not ok" lines and writes "passed failed" to COUNTS_FILE.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
counts=$1
passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...: one result line
    local description=$1
    shift
    if "$@"; then
        echo "ok - $description"
        passed=$((passed + 1))
    else
        echo "not ok - $description"
        failed=$((failed + 1))
    fi
}
say() { echo "  $*"; }

current=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" reverse_etl.control)
install_script="reverse_etl--$current.sql"
in_git=false
git rev-parse --git-dir >/dev/null 2>&1 && in_git=true

versions=()
declare -A commit_of sha_of
while read -r version commit sha _; do
    case "$version" in '' | '#'*) continue ;; esac
    versions+=("$version")
    commit_of[$version]=$commit
    sha_of[$version]=$sha
done <src/upgrade/releases
last=${versions[${#versions[@]}-1]:-}

newer() {  # newer A B: A sorts after B as a version
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

releases_in_order() {
    local previous=""
    for version in "${versions[@]}"; do
        if [ -n "$previous" ] && ! newer "$version" "$previous"; then
            say "src/upgrade/releases: $version is listed after $previous"
            return 1
        fi
        previous=$version
    done
}
check "src/upgrade/releases lists releases oldest first" releases_in_order

released_script_unchanged() {
    local actual
    actual=$(sha256sum "$install_script" | cut -d' ' -f1) || return 1
    if [ "$actual" != "${sha_of[$current]}" ]; then
        say "$install_script is not the script version $current was released with:"
        say "the SQL changed (src/sql/ or src/destinations/). Set a new default_version in"
        say "reverse_etl.control and write src/upgrade/reverse_etl--$current--NEW.sql (docs/releasing.md)."
        return 1
    fi
}
unreleased_version_has_upgrade() {
    if [ -n "$last" ] && ! newer "$current" "$last"; then
        say "default_version $current is not newer than the last release $last"
        return 1
    fi
    if [ -n "$last" ] && [ ! -f "src/upgrade/reverse_etl--$last--$current.sql" ]; then
        say "no upgrade script from release $last to $current: write src/upgrade/reverse_etl--$last--$current.sql"
        return 1
    fi
}
if [ -n "${sha_of[$current]:-}" ]; then
    check "released version $current: install script unchanged" released_script_unchanged
else
    check "unreleased version $current: upgrade script from ${last:-nothing}" unreleased_version_has_upgrade
fi

released_upgrade_unchanged() {  # FROM TO
    local script="src/upgrade/reverse_etl--$1--$2.sql" commit=${commit_of[$2]}
    if [ ! -f "$script" ]; then
        say "missing $script"
        return 1
    fi
    $in_git || return 0
    if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
        say "commit $commit of release $2 is not in this repository's history"
        return 1
    fi
    if ! git diff --quiet "$commit" -- "$script"; then
        say "$script changed after release $2: write a new upgrade script instead"
        return 1
    fi
}
for ((i = 1; i < ${#versions[@]}; i++)); do
    check "upgrade ${versions[i-1]} -> ${versions[i]} is the released script" \
        released_upgrade_unchanged "${versions[i-1]}" "${versions[i]}"
done

upgrade_scripts_connect() {
    local script from to
    for script in src/upgrade/reverse_etl--*--*.sql; do
        [ -e "$script" ] || continue
        from=${script#src/upgrade/reverse_etl--}
        to=${from#*--}
        to=${to%.sql}
        from=${from%%--*}
        if [ -z "${commit_of[$from]:-}" ]; then
            say "$script starts from $from, which is not a release"
            return 1
        fi
        if [ -z "${commit_of[$to]:-}" ] && [ "$to" != "$current" ]; then
            say "$script leads to $to, neither a release nor the current version $current"
            return 1
        fi
    done
}
check "every upgrade script leads from a release to a known version" upgrade_scripts_connect

release_tags_match() {
    $in_git || return 0
    local version tagged
    for version in "${versions[@]}"; do
        tagged=$(git rev-parse -q --verify "refs/tags/v$version^{commit}" 2>/dev/null) || continue
        if [ "$tagged" != "${commit_of[$version]}" ]; then
            say "tag v$version is $tagged, src/upgrade/releases says ${commit_of[$version]}"
            return 1
        fi
    done
}
check "release tags point at the listed commits" release_tags_match

echo "$passed $failed" >"$counts"
[ "$failed" -eq 0 ]
