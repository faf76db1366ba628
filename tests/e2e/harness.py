"""Shared pieces of the end-to-end suite: the result reporter, the trackdoc server under test,
CLI invocations, and the sanitizer check that every process we start goes through."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BIN = os.path.join(ROOT, "build", "asan", "trackdoc")

# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print when they report.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer)"
    r"|WARNING: (AddressSanitizer|ThreadSanitizer)"
    r"|UndefinedBehaviorSanitizer|SUMMARY: \w+Sanitizer|: runtime error: ")

LISTEN_RE = re.compile(r"^trackdoc \S+ listening on http://127\.0\.0\.1:(\d+) ")

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


# Temporary folders made by this run: removed at the end when every check passed.
TEMP_DIRS = []


def mkdtemp(tag):
    d = tempfile.mkdtemp(prefix="trackdoc-e2e-%s-" % tag)
    TEMP_DIRS.append(d)
    return d


def cleanup(keep):
    """Removes this run's folders and PostgreSQL databases, unless keep (a failure leaves them
    for a post-mortem)."""
    if not keep:
        for d in TEMP_DIRS:
            shutil.rmtree(d, ignore_errors=True)
        for name in PG_DATABASES:
            psql(TEST_DB, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, check=False)


# TRACKDOC_TEST_DB=postgres://...: the run uses that PostgreSQL server instead of SQLite files.
# Every server, and every {db} of a case, gets a database of its own there (CREATE DATABASE),
# so that tests stay independent as with their own SQLite files.
TEST_DB = os.environ.get("TRACKDOC_TEST_DB", "")
PG_DATABASES = []


def postgres():
    """True when this run tests the PostgreSQL backend."""
    return TEST_DB.startswith(("postgres://", "postgresql://"))


def psql(url, sql, check=True):
    """Runs sql with psql on the database at url; returns its rows as lists of strings."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql[:80], p.stderr.decode(errors="replace").strip()))
    out = p.stdout.decode(errors="replace")
    return [line.split("\t") for line in out.splitlines() if line]


def fresh_db(sqlite_path):
    """A new empty database: sqlite_path, or with TRACKDOC_TEST_DB a new PostgreSQL database
    whose URL is returned."""
    if not postgres():
        return sqlite_path
    name = "e2e_%d_%d" % (os.getpid(), len(PG_DATABASES) + 1)
    psql(TEST_DB, "CREATE DATABASE %s" % name)
    PG_DATABASES.append(name)
    parts = urllib.parse.urlsplit(TEST_DB)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def query(db, sql):
    """The rows of a query on a test database (a SQLite path opened read-only, or a PostgreSQL
    URL), as lists of strings: what a user looking into their database would see."""
    if db.startswith(("postgres://", "postgresql://")):
        return psql(db, sql)
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return [[str(v) for v in row] for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def skip_on_postgres(rep, name, reason):
    """Says, on PostgreSQL runs, that a test is left out and why; returns True when it is."""
    if postgres():
        rep.comment("skipped on postgres: %s: %s" % (name, reason))
        return True
    return False


def trackdoc_bin():
    """The binary under test: $TRACKDOC_BIN (relative to the current folder) or the ASan build."""
    return os.path.abspath(os.environ.get("TRACKDOC_BIN") or DEFAULT_BIN)


def version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


def child_env():
    """The environment of every trackdoc process: no TRACKDOC_* settings from the caller (nor
    libpq's PG* ones), leak detection on, sanitizer reports with stacks."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRACKDOC_") and not k.startswith("PG")}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    env["TRACKDOC_LOG_LEVEL"] = "info"
    return env


def sanitizer_report(text):
    """The first lines of a sanitizer report in text, or None."""
    m = SANITIZER_RE.search(text)
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 600].strip()


class Reporter:
    """Prints one line per check (`ok - name` / `not ok - name: detail`) and counts them."""

    def __init__(self, pattern=None, verbose=False):
        self.pattern = pattern.lower() if pattern else None
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.failures = []

    def wants(self, name):
        return self.pattern is None or self.pattern in name.lower()

    def check(self, name, ok, detail="", always=False):
        """Reports one check; returns ok. A check that -k does not select is not counted; if it
        failed, it shows as a comment. always: counted whatever -k says (server health)."""
        name = name.replace("\n", " ")
        if not always and not self.wants(name):
            if not ok:
                self.comment("(not selected) not ok - %s: %s" % (name, detail))
            return ok
        if ok:
            self.passed += 1
            print("ok - %s" % name, flush=True)
        else:
            self.failed += 1
            detail = str(detail).replace("\n", " | ")
            self.failures.append((name, detail))
            print("not ok - %s: %s" % (name, detail), flush=True)
        return ok

    def comment(self, text):
        for line in str(text).splitlines() or [""]:
            print("# %s" % line, flush=True)

    def debug(self, text):
        if self.verbose:
            self.comment(text)


class Server:
    """One `trackdoc serve` on 127.0.0.1 with port 0 and a fresh database folder."""

    def __init__(self, rep, name, args=(), key=True, env=None):
        self.rep = rep
        self.name = name
        self.args = list(args)
        self.env = dict(env or {})  # TRACKDOC_* settings of this server
        self.want_key = key
        self.dir = mkdtemp(name)
        self.db = fresh_db(os.path.join(self.dir, "db", "trackdoc.db"))
        self.proc = None
        self.port = None
        self.key = None
        self.stopped = False

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def cli(self, *argv, timeout=60):
        return run_cli(list(argv), timeout=timeout)

    def start(self):
        """Creates the API key, starts the server and reads its port. Raises on failure."""
        if self.want_key:
            r = run_cli(["apikey", "create", "--name", "e2e", "--json", "--db", self.db])
            if r.returncode != 0:
                raise RuntimeError("apikey create failed (exit %d): %s"
                                   % (r.returncode, r.stderr.strip()[:300]))
            self.key = json.loads(r.stdout)["key"]
        self.out_path = os.path.join(self.dir, "stdout.txt")
        self.err_path = os.path.join(self.dir, "stderr.txt")
        argv = [trackdoc_bin(), "serve", "--listen", "127.0.0.1:0", "--db", self.db] + self.args
        self.rep.debug("%s: %s" % (self.name, " ".join(argv)))
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            env = child_env()
            env.update(self.env)
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, cwd=self.dir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.out_path, "r", errors="replace") as f:
                first = f.readline()
            if first.endswith("\n"):
                m = LISTEN_RE.match(first)
                if not m:
                    raise RuntimeError("unexpected first stdout line: %r" % first)
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d before listening: %s"
                                   % (self.proc.returncode, self.stderr()[-500:]))
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("no listening line within %.0f s" % START_TIMEOUT)

    def stderr(self):
        try:
            with open(self.err_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def kill(self):
        """SIGKILL, for the crash test."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.stopped = True

    def stop(self, check=True):
        """SIGTERM; reports that the server exits 0 within STOP_TIMEOUT and that its stderr holds
        no sanitizer report. Returns the exit code (None when it had to be killed)."""
        if self.stopped or self.proc is None:
            return None
        self.stopped = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        if check:
            self.rep.check("%s: server exits 0 within %.0f s of SIGTERM" % (self.name, STOP_TIMEOUT),
                           rc == 0, "exit code %r; stderr tail: %s"
                           % (rc, self.stderr()[-400:].strip()), always=True)
            self.check_sanitizers()
        return rc

    def check_sanitizers(self):
        report = sanitizer_report(self.stderr())
        self.rep.check("%s: server stderr has no sanitizer report" % self.name, report is None,
                       report, always=True)
        if self.rep.verbose:
            self.rep.comment("%s stderr:\n%s" % (self.name, self.stderr()[-2000:]))


class CliResult:
    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run_cli(argv, timeout=60, cwd=None, stdin=None):
    """Runs trackdoc with argv (without the program name) and stdin (text, or None for no
    input); returns exit code and output."""
    try:
        inp = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin.encode("utf-8")}
        p = subprocess.run([trackdoc_bin()] + argv, capture_output=True, timeout=timeout,
                           env=child_env(), cwd=cwd, **inp)
    except subprocess.TimeoutExpired as e:
        return CliResult(argv, None, (e.stdout or b"").decode("utf-8", "replace"),
                         (e.stderr or b"").decode("utf-8", "replace") + "\n(timed out)")
    return CliResult(argv, p.returncode, p.stdout.decode("utf-8", "replace"),
                     p.stderr.decode("utf-8", "replace"))


def die(msg):
    print("not ok - setup: %s" % msg, flush=True)
    sys.exit(1)
