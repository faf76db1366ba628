#!/usr/bin/env bash
# Browser tests: Debian's chromium, headless, driven by playwright-core, against a trackdoc
# server that dashboard.mjs starts on loopback with a temporary database. Prints `ok - ...` /
# `not ok - ...` lines (scripts/run-tests.sh counts them) and exits 1 when a check failed.
#   tests/browser/run.sh                     against build/asan/trackdoc (or $TRACKDOC_BIN)
#   TRACKDOC_SHOTS=DIR tests/browser/run.sh  keep the screenshots in DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TRACKDOC_BIN:-build/asan/trackdoc}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
export TRACKDOC_BIN="$bin"

if [ ! -x "$bin" ]; then
    echo "not ok - browser: $bin is not an executable (run 'make asan' or set TRACKDOC_BIN)"
    exit 1
fi
if ! command -v node >/dev/null 2>&1; then
    echo "not ok - browser: node is not installed (scripts/install-deps.sh installs nodejs)"
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "not ok - browser: /usr/bin/chromium is missing (scripts/install-deps.sh installs chromium)"
    exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
    # scripts/install-deps.sh does this; here too, for a run straight after a clone.
    (cd "$here" && npm ci --no-audit --no-fund >&2) || {
        echo "not ok - browser: 'npm ci' in tests/browser failed (playwright-core is needed)"
        exit 1
    }
fi
exec node "$here/dashboard.mjs"
