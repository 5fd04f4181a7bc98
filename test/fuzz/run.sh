#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz/Makefile) and runs them, one at a
# time, each over its corpus in test/fuzz/corpus/<target>/ and then fuzzing
# on (with the tokens of dict/<target>.dict, where there is one). Prints the executions of each target and fails if any target crashes,
# leaks, hangs or breaks an invariant; the input that did it is saved as
# test/fuzz/build/artifacts/<target>-crash-... (run the target on that file
# to reproduce: test/fuzz/build/<target>_fuzz FILE).
#
#   test/fuzz/run.sh [--smoke]        a few seconds per target (test/run_tests.sh runs this)
#   test/fuzz/run.sh --long           1,000,000 executions per target
#   test/fuzz/run.sh --runs N         N executions per target
#   test/fuzz/run.sh --seconds S      S seconds per target
#   test/fuzz/run.sh --merge DIR...   add the inputs of DIR/<target>/ (and of the
#                                     last runs) that bring new coverage to the corpora,
#                                     minimised (seed_corpora.py writes such a DIR)
#   ... TARGET...                     only these targets (default: all, see `make -s list`)
#   --counts FILE                     write "passed failed" (one per target) to FILE
#
# New inputs a run finds go to test/fuzz/build/found/<target>/, not into the
# committed corpora; --merge folds them in.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

mode=smoke
amount=
counts=
merge_dirs=()
targets=()
while [ $# -gt 0 ]; do
    case $1 in
    --smoke) mode=smoke ;;
    --long) mode=runs amount=1000000 ;;
    --runs) mode=runs amount=$2; shift ;;
    --seconds) mode=seconds amount=$2; shift ;;
    --merge) mode=merge ;;
    --counts) counts=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) if [ "$mode" = merge ]; then merge_dirs+=("$1"); else targets+=("$1"); fi ;;
    esac
    shift
done
if [ "$mode" = smoke ]; then
    mode=seconds amount=2
fi

jobs=$(nproc 2>/dev/null || echo 1)
if ! make -s -j"$jobs" >build.log 2>&1 || grep -q 'warning:' build.log; then
    cat build.log
    echo "fuzz: the targets do not build cleanly"
    [ -n "$counts" ] && echo "0 1" >"$counts"
    exit 1
fi
rm -f build.log
if [ ${#targets[@]} -eq 0 ]; then
    read -r -a targets <<<"$(make -s list)"
fi

# libFuzzer reports every crash itself; these make the reports complete:
# UBSan prints where undefined behaviour happened, and stacks get symbolised.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
    export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi

mkdir -p build/artifacts build/found build/logs
if [ "$mode" = merge ]; then
    status=0
    for target in "${targets[@]}"; do
        sources=()
        for dir in "${merge_dirs[@]}"; do
            [ -d "$dir/$target" ] && sources+=("$dir/$target")
        done
        [ -d "build/found/$target" ] && sources+=("build/found/$target")
        mkdir -p "corpus/$target"
        merged=build/merged/$target
        rm -rf "$merged" && mkdir -p "$merged"
        if ! "build/${target}_fuzz" -merge=1 "$merged" "corpus/$target" "${sources[@]}" \
            >"build/logs/$target.merge" 2>&1; then
            tail -30 "build/logs/$target.merge"
            echo "fuzz: $target: merge failed"
            status=1
            continue
        fi
        rm -rf "corpus/$target" && mv "$merged" "corpus/$target"
        echo "fuzz: $target: $(ls "corpus/$target" | wc -l) inputs, $(cat "corpus/$target"/* 2>/dev/null | wc -c) bytes"
    done
    exit "$status"
fi

passed=0
failed=0
total=0
for target in "${targets[@]}"; do
    limit=(-max_total_time="$amount")
    [ "$mode" = runs ] && limit=(-runs="$amount")
    # The tokens of the target's syntax, for the mutations to splice in.
    [ -f "dict/$target.dict" ] && limit+=(-dict="dict/$target.dict")
    mkdir -p "build/found/$target" "corpus/$target"
    log=build/logs/$target.log
    # One process, one input at a time: the machine is shared. A hang is an
    # input taking over 10 seconds.
    "build/${target}_fuzz" "${limit[@]}" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="build/artifacts/$target-" "build/found/$target" "corpus/$target" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz: $target: $runs executions, ok"
    else
        failed=$((failed + 1))
        grep -E -m 20 'ERROR|invariant broken|SUMMARY|^ +#[0-9]+ .* in |Test unit written' "$log"
        echo "fuzz: $target: FAILED after $runs executions (exit $rc; log $here/$log)"
    fi
done
echo "fuzz: $total executions in all, $passed targets passed, $failed failed"
[ -n "$counts" ] && echo "$passed $failed" >"$counts"
[ "$failed" -eq 0 ]
