#!/usr/bin/env bash
# Installs the Debian packages that trackdoc's build, tests and benchmarks need, and only the
# missing ones: a no-op when everything is there. Run by `make run`, `make test`, `make bench`.
set -euo pipefail

# Build: compiler and libraries (found through pkg-config).
BUILD=(gcc make pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libzip-dev libxml2-dev)
# Tests: the end-to-end runner, fuzzing with libFuzzer (clang + its runtime).
# LibreOffice converts generated .docx files to text (and PDF, for looking at them) in tests;
# python3-yaml reads docs/openapi.yaml for the OpenAPI test (tests/e2e/openapi.py).
TEST=(python3 python3-yaml clang libclang-rt-14-dev libreoffice-writer-nogui poppler-utils fonts-dejavu-core)
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
[ ${#missing[@]} -eq 0 ] && exit 0

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
