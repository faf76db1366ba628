#!/usr/bin/env bash
# Installs the Debian packages that trackdoc's build, tests and benchmarks need, and only the
# missing ones: a no-op when everything is there. Run by `make run`, `make test`, `make bench`.
set -euo pipefail

# Build: compiler and libraries (found through pkg-config).
BUILD=(gcc make pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libzip-dev libxml2-dev libpq-dev libpcre2-dev zlib1g-dev)
# Tests: the end-to-end runner, fuzzing with libFuzzer (clang + its runtime).
# LibreOffice converts generated .docx files to text (and PDF, for looking at them) in tests;
# python3-yaml reads docs/openapi.yaml for the OpenAPI test (tests/e2e/openapi.py).
TEST=(python3 python3-yaml clang libclang-rt-14-dev libreoffice-writer-nogui poppler-utils fonts-dejavu-core)
# The PostgreSQL round of scripts/run-tests.sh starts a server of its own (tests/pg/pg-server.sh:
# initdb, pg_ctl) and reaches it with psql.
TEST+=(postgresql)
# Browser tests (tests/browser): Debian's chromium, driven by playwright-core (npm, pinned in
# tests/browser/package-lock.json); node and npm from Debian unless the machine has them.
TEST+=(chromium)
command -v node >/dev/null 2>&1 || TEST+=(nodejs)
command -v npm >/dev/null 2>&1 || TEST+=(npm)
# Benchmarks: load generator and the nginx reference.
BENCH=(wrk nginx-light curl)
# Lint.
LINT=(clang-format cppcheck)

PACKAGES=("${BUILD[@]}" "${TEST[@]}" "${BENCH[@]}" "${LINT[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# The browser tests' node modules, when missing (a failure leaves them to report it).
browser_modules() {
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
    if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/playwright-core" ] &&
        command -v npm >/dev/null 2>&1; then
        echo "install-deps: npm ci in tests/browser"
        (cd "$dir" && npm ci --no-audit --no-fund) ||
            echo "install-deps: npm ci in tests/browser failed; the browser tests will say so" >&2
    fi
    return 0
}
if [ ${#missing[@]} -eq 0 ]; then
    browser_modules
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: need root to install: ${missing[*]} (run as root or install sudo)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
install() {
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}
# A package "not found" usually means stale package lists: refresh once, then retry.
if ! install; then
    echo "install-deps: refreshing package lists and retrying"
    "${SUDO[@]}" apt-get update
    install
fi
browser_modules
