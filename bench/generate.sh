#!/usr/bin/env bash
# Document generation over HTTP: 100 POST /resume with distinct job_ids from 8 concurrent
# keep-alive clients against trackdoc serve (fresh database and storage folder, rate limits
# off), each a .docx with three tracked links, side by side with a reference run in the same
# process: the same 100 POST /resume without job_id (no tracking, no link stored), interleaved
# round by round. Prints total seconds, documents/s, p50/p99 per request and server CPU per
# document for both kinds, and their ratio tracked/untracked per round and for the medians;
# checks every answer (201, tracking.urls_tracked 3, or tracking off and no link for the
# reference, the file stored, the links in the database and no other), and ends with a
# `summary:` line against the goal: 100 tracked .docx résumés in under 2 s end to end on this
# machine. The client is bench/generate.py (Python 3 standard library).
#
#   bench/generate.sh                      # defaults: 3 rounds of 100 + 100 after 24 + 24 warm-up
#   BENCH_DOCS=100 BENCH_CLIENTS=8 BENCH_ROUNDS=3 BENCH_WARMUP=24
#   BENCH_FORMAT=docx                      # or html, md, txt
#   BENCH_SERVE_THREADS=4                  # trackdoc serve --threads (default: one per CPU)
#   BENCH_KEEP=1                           # keep the temporary folder (database, files, logs)
#   TRACKDOC=path/to/trackdoc              # default build/trackdoc (release build)
#
# Exit status: 0 measured (slow figures included), 1 a check failed, 2 could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TRACKDOC=${TRACKDOC:-$root/build/trackdoc}

if ! command -v python3 >/dev/null; then
    echo "generate: cannot run: python3 not found (Debian package: python3)" >&2
    exit 2
fi
[[ -x $TRACKDOC ]] || {
    echo "generate: cannot run: $TRACKDOC not found: run 'make build/trackdoc' first" >&2
    exit 2
}
exec python3 "$root/bench/generate.py" "$@"
