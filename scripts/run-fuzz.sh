#!/usr/bin/env bash
# Runs every libFuzzer target in build/fuzz/ over its seed corpus (fuzz/corpus/<name>/):
#   short  a few seconds each (part of make test)
#   long   FUZZ_SECONDS each (default 300; make fuzz)
# Prints "ok - fuzz <name>" or "not ok - fuzz <name>: <first line of the crash report>".
set -uo pipefail
cd "$(dirname "$0")/.."

mode=${1:-short}
if [ "$mode" = long ]; then secs=${FUZZ_SECONDS:-300}; else secs=${FUZZ_SHORT_SECONDS:-8}; fi
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin#build/fuzz/fuzz_}
    seeds=fuzz/corpus/$name
    corpus=$work/$name
    mkdir -p "$corpus"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
    # New inputs found in a long run are kept for the next one, under fuzz/corpus-<name>/.
    [ "$mode" = long ] && mkdir -p "fuzz/corpus-$name" && corpus="fuzz/corpus-$name $corpus"
    log=$work/$name.log
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
        -artifact_prefix="$work/" $corpus >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
        echo "ok - fuzz $name (${runs:-done} in ${secs}s)"
    else
        status=1
        echo "not ok - fuzz $name: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log")"
        mkdir -p build/fuzz/crashes
        cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* build/fuzz/crashes/ 2>/dev/null
        echo "# the input that failed is in build/fuzz/crashes/; the log:"
        tail -n 40 "$log" | sed 's/^/# /'
    fi
done
exit $status
