#!/usr/bin/env bash
# Runs every benchmark: each bench/*.sh script, then each program built from bench/*.c
# (build/bench/<name>). Prints their figures, then the summary lines they print, and exits
# non-zero when a benchmark could not run (a missing tool, a crash, a broken invariant);
# a slow figure is never a failure. Called by `make bench`, which builds the programs first.
#
#   scripts/run-bench.sh                  # all benchmarks
#   scripts/run-bench.sh redirect         # only those named (script or program name)
#   BENCH_TIMEOUT=900 scripts/run-bench.sh   # seconds one benchmark may take (default 1200)
#   BENCH_NO_BUILD=1                      # do not run make first
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
timeout_s=${BENCH_TIMEOUT:-1200}
log=$(mktemp "${TMPDIR:-/tmp}/trackdoc-bench-log.XXXXXX")
trap 'rm -f "$log"' EXIT

# True when name was asked for on the command line (or nothing was asked for).
wanted() {
    local a
    (($# > 1)) || return 0
    for a in "${@:2}"; do [[ $a == "$1" ]] && return 0; done
    return 1
}

# Outside `make bench`, build what the benchmarks need (a no-op when up to date).
if [[ -z ${BENCH_NO_BUILD:-} ]] && command -v make >/dev/null; then
    targets=(build/trackdoc)
    for src in bench/*.c; do
        [[ -e $src ]] && targets+=("build/bench/$(basename "$src" .c)")
    done
    if ! make --no-print-directory "${targets[@]}" >"$log" 2>&1; then
        cat "$log"
        echo "run-bench: the build failed" >&2
        exit 2
    fi
fi

# The benchmarks: scripts first, then built programs (regular executable files; the build
# leaves .d dependency files next to them).
benches=()
for f in bench/*.sh; do
    [[ -f $f ]] && benches+=("$f")
done
for f in build/bench/*; do
    [[ -f $f && -x $f && $f != *.d && $f != *.o ]] && benches+=("$f")
done

ran=0
failed=()
summary=()
start_all=$(date +%s)
echo "run-bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r)"
for b in "${benches[@]}"; do
    name=$(basename "$b")
    name=${name%.sh}
    wanted "$name" "$@" || continue
    echo
    echo "=== $name ($b)"
    start=$(date +%s)
    if [[ $b == *.sh ]]; then
        cmd=(bash "$b")
    else
        cmd=("$b")
    fi
    # The benchmark's own output goes to the terminal as it comes and to the log for the summary.
    timeout --kill-after=30 "$timeout_s" "${cmd[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    ran=$((ran + 1))
    while IFS= read -r line; do summary+=("$line"); done < <(grep '^summary: ' "$log" | sed 's/^summary: //')
    if ((rc != 0)); then
        ((rc == 124)) && echo "run-bench: $name took over ${timeout_s} s: stopped" >&2
        failed+=("$name (exit $rc)")
        echo "=== $name: could not run (exit $rc) after $(($(date +%s) - start)) s"
    else
        echo "=== $name: done in $(($(date +%s) - start)) s"
    fi
done

echo
echo "=== summary (goals from the issue; figures from this machine, $(nproc) CPUs)"
for s in "${summary[@]}"; do echo "  $s"; done
if ((ran == 0)); then
    echo "run-bench: no benchmark matched: ${*:-(none found under bench/ and build/bench/)}" >&2
    exit 2
fi
echo "$ran benchmarks ran in $(($(date +%s) - start_all)) s, ${#failed[@]} could not run${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))
