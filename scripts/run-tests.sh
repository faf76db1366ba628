#!/usr/bin/env bash
# Runs every test suite of trackdoc and ends with one line "N passed, N failed".
# Each suite prints "ok - name" / "not ok - name: detail" lines; a binary that exits non-zero
# without a "not ok" line (a crash, a sanitizer report) counts as one failure.
# VERBOSE=1 shows the passing checks too. Run from the repository root (make test does).
set -uo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TRACKDOC_BIN="${TRACKDOC_BIN:-build/asan/trackdoc}"

passed=0
failed=0
LOG=$(mktemp -d)
PGDIR=""
# Stops the PostgreSQL server of the PostgreSQL round, if one runs.
stop_pg() {
    [ -n "$PGDIR" ] && tests/pg/pg-server.sh stop "$PGDIR"
    PGDIR=""
}
trap 'stop_pg; rm -rf "$LOG"' EXIT
trap 'exit 130' INT TERM

# Runs one test program; counts its checks into the totals.
run_suite() {
    local name=$1
    shift
    local out="$LOG/out" rc p f
    "$@" >"$out" 2>"$LOG/err"
    rc=$?
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    grep -E '^(not ok |# )' "$out" | sed "s|^|  [$name] |"
    [ "${VERBOSE:-0}" = 1 ] && grep '^ok ' "$out" | sed "s|^|  [$name] |"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "  [$name] not ok - exited with status $rc; its stderr:"
        tail -n 30 "$LOG/err" | sed 's/^/      /'
    fi
    printf '%-40s %5d passed %5d failed\n' "$name" "$p" "$f"
    passed=$((passed + p))
    failed=$((failed + f))
}

echo "== unit and conformance tests (ASan + UBSan)"
for t in $(find build/asan/tests -type f -perm -u+x | sort); do
    run_suite "${t#build/asan/tests/}" "$t"
done

if [ -x scripts/run-fuzz.sh ] && [ -d fuzz ] && ls fuzz/*.c >/dev/null 2>&1; then
    echo "== fuzzing (short)"
    run_suite "fuzz" scripts/run-fuzz.sh short
fi

if [ -f tests/e2e/run.py ]; then
    echo "== end-to-end tests"
    run_suite "e2e" python3 tests/e2e/run.py
fi

# The PostgreSQL round: the storage conformance suite and the end-to-end tests again, against a
# PostgreSQL server started here (tests/pg/pg-server.sh), stopped when this script exits however
# it exits. A server that cannot start is a failure, never a skip.
if [ -x tests/pg/pg-server.sh ]; then
    echo "== PostgreSQL round"
    PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/trackdoc-pg.XXXXXX")
    if PGURL=$(tests/pg/pg-server.sh start "$PGDIR" 2>"$LOG/pg-start"); then
        run_suite "store/test_store (postgres)" env TD_TEST_STORE="$PGURL" \
            build/asan/tests/store/test_store
        [ -f tests/e2e/run.py ] &&
            run_suite "e2e (postgres)" env TRACKDOC_TEST_DB="$PGURL" python3 tests/e2e/run.py
    else
        echo "  [postgres] not ok - the PostgreSQL server of the tests did not start:"
        tail -n 20 "$LOG/pg-start" | sed 's/^/      /'
        printf '%-40s %5d passed %5d failed\n' "postgres" 0 1
        failed=$((failed + 1))
    fi
    stop_pg
fi

if [ -x tests/browser/run.sh ]; then
    echo "== browser tests"
    run_suite "browser" tests/browser/run.sh
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
