#!/usr/bin/env python3
"""End-to-end tests of trackdoc: the declarative cases in tests/e2e/cases/, then pagination,
load, SIGKILL and SIGTERM tests. Prints one line per check, `ok - NAME` or
`not ok - NAME: DETAIL` (lines starting with # are comments), and exits 1 if any failed.

    tests/e2e/run.py                 everything, against build/asan/trackdoc (or $TRACKDOC_BIN)
    tests/e2e/run.py -k track        only the checks whose name contains "track"
    tests/e2e/run.py -v -k 'create'  the same, printing each request and answer
"""

import argparse
import glob
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import declarative  # noqa: E402
import harness  # noqa: E402
import docx  # noqa: E402
import load  # noqa: E402
import service  # noqa: E402

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")

# The procedural tests, by the name prefix of their checks.
PROCEDURAL = [
    ("api-walk", lambda rep, main: load.test_pagination(rep, main)),
    ("race", lambda rep, main: load.test_create_race(rep, main)),
    ("load", lambda rep, main: load.test_concurrency(rep)),
    ("sigkill", lambda rep, main: load.test_sigkill(rep)),
    ("sigterm", lambda rep, main: load.test_sigterm(rep)),
    ("docx", lambda rep, main: docx.test_docx(rep)),
    ("service", lambda rep, main: service.test_service(rep)),
    ("openapi", lambda rep, main: __import__("openapi").test_openapi(rep)),
    ("clicktruth", lambda rep, main: __import__("clicktruth").test_clicktruth(rep)),
    ("multi", lambda rep, main: __import__("multi").test_multi(rep)),
    ("outage", lambda rep, main: __import__("outage").test_outage(rep)),
    ("calendly", lambda rep, main: __import__("calendly").test_calendly(rep)),
]

# Left out of PostgreSQL runs (TRACKDOC_TEST_DB), and why; the run says so for each one.
NOT_ON_POSTGRES = {
    "load": "counts click rows in the SQLite file (Python's sqlite3); clicks through servers "
            "on PostgreSQL are counted by multi:",
    "sigkill": "reads the SQLite file after the kill; multi: kills a server on PostgreSQL",
    "sigterm": "reads the SQLite file after the stop",
    "docx": "renders documents with LibreOffice on SQLite files of its own; the store's part "
            "of rendering runs in 21_render and 33_generate",
    "service": "reads click rows in the SQLite file",
    "clicktruth": "reads click classes in the SQLite file",
}


# The procedural tests that run against the main server (the others start their own).
MAIN_PROCS = {"api-walk", "race"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", metavar="SUBSTRING",
                    help="run only checks whose name contains SUBSTRING (case-insensitive)")
    ap.add_argument("-v", action="store_true", help="verbose: print requests, answers, stderr")
    args = ap.parse_args()

    rep = harness.Reporter(args.k, args.v)
    binary = harness.trackdoc_bin()
    if not os.access(binary, os.X_OK):
        harness.die("%s is not an executable file (run 'make build/asan/trackdoc', or set "
                    "TRACKDOC_BIN)" % binary)
    rep.comment("trackdoc e2e: %s" % binary)
    t0 = time.monotonic()

    files = sorted(glob.glob(os.path.join(CASES, "*.json")))
    loaded = []
    for path in files:
        try:
            stem, doc = declarative.load(path)
        except (ValueError, declarative.CaseError, KeyError) as e:
            rep.check("%s: case file is valid" % os.path.basename(path), False, e, always=True)
            continue
        if declarative.selected(rep, stem, doc):
            loaded.append((stem, doc))
    # A procedural test runs when the pattern is part of its name prefix ("sig" runs sigkill and
    # sigterm) or names one of its checks ("sigterm: every"); its checks then filter themselves.
    procs = [(name, fn) for name, fn in PROCEDURAL if rep.pattern is None
             or rep.pattern in name + ": " or rep.pattern.startswith(name + ":")]
    if harness.postgres():
        rep.comment("database: PostgreSQL, a database per server at %s"
                    % harness.TEST_DB.split("@")[-1])
        procs = [(name, fn) for name, fn in procs
                 if not (name in NOT_ON_POSTGRES
                         and harness.skip_on_postgres(rep, name, NOT_ON_POSTGRES[name]))]

    needs_main = any(doc.get("server", "main") == "main" for _, doc in loaded) \
        or any(name in MAIN_PROCS for name, _ in procs)
    main_server = None
    if needs_main:
        main_server = harness.Server(rep, "main", ["--rate-limit-api", "0",
                                                   "--rate-limit-track", "0"])
        try:
            main_server.start()
        except Exception as e:  # noqa: BLE001
            harness.die("cannot start the main server: %s" % e)
        rep.comment("main server on port %d, database %s" % (main_server.port, main_server.db))

    try:
        for stem, doc in loaded:
            declarative.run_file(stem, doc, rep, main_server)
        if main_server is not None:
            for name, fn in procs:
                if name in MAIN_PROCS:
                    fn(rep, main_server)
    finally:
        if main_server is not None:
            main_server.stop()
    for name, fn in procs:
        if name not in MAIN_PROCS:
            fn(rep, None)

    if rep.passed + rep.failed == 0:
        rep.check("-k %s selects at least one check" % args.k, False, "no check name contains it")
    rep.comment("%d passed, %d failed in %.1f s" % (rep.passed, rep.failed,
                                                     time.monotonic() - t0))
    if rep.failed and harness.TEMP_DIRS:
        rep.comment("databases and server logs kept in %s" % " ".join(harness.TEMP_DIRS))
    harness.cleanup(keep=rep.failed > 0)
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
