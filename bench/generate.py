#!/usr/bin/env python3
"""Document generation over HTTP: POST /resume with a job_id, end to end (request, model,
.docx render, three links tracked in the database, the file written and recorded, the 201
answer), 8 concurrent keep-alive clients against trackdoc serve on this machine, side by side
with a reference: the same POST /resume without job_id (no tracking, nothing stored in
link_tracking; the document is still rendered, written and recorded).

Starts its own `trackdoc serve` on a free loopback port (port 0) with a fresh database and
storage folder and rate limits off, makes an API key with `trackdoc apikey create`, warms up
with both kinds of request, then runs BENCH_ROUNDS rounds; each round times BENCH_DOCS tracked
requests (each with a distinct job_id) and BENCH_DOCS untracked ones, interleaved (odd rounds
tracked first, even rounds untracked first), so that both see the same machine. Prints, per
round and kind and as the median: total seconds, documents/s, p50 and p99 per request, the
server's CPU per document, and the CPU the rest of the machine used meanwhile (another process
competing for the CPUs makes a round "disturbed"); and the ratio tracked/untracked of each
figure, per round and for the medians. Checks that every tracked answer is 201 with
tracking.urls_tracked 3 and no tracking failure, every untracked answer 201 with tracking off
and no link, every file_path exists in the storage folder, no file name was handed out twice,
the database holds three links for every job and no other link (none from the untracked
requests), and one generated_documents row per answer. Ends with a `summary:` line against the
goal: 100 tracked .docx résumés in under 2 s, with the ratio to the untracked reference.

Environment: TRACKDOC (default build/trackdoc), BENCH_DOCS (100), BENCH_CLIENTS (8),
BENCH_WARMUP (24 requests of each kind), BENCH_ROUNDS (3), BENCH_FORMAT (docx),
BENCH_SERVE_THREADS (trackdoc serve --threads; default: its own, one per CPU), BENCH_KEEP=1
(keep the folder), BENCH_DISTINCT_NAMES=1 (a different candidate name per request instead of
one candidate applying to many jobs, the default: that one makes the service find free file
names, KIND_First_Last_YYYYMMDD_HHMMSS then _2 ... _9 then a random suffix, within one second).
Exit status: 0 measured (slow figures included), 1 a check failed, 2 could not run.
"""

import http.client
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRACKDOC = os.environ.get("TRACKDOC") or os.path.join(ROOT, "build", "trackdoc")
DOCS = int(os.environ.get("BENCH_DOCS", "100"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "24"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
FORMAT = os.environ.get("BENCH_FORMAT", "docx")
SERVE_THREADS = os.environ.get("BENCH_SERVE_THREADS", "")
DISTINCT_NAMES = os.environ.get("BENCH_DISTINCT_NAMES", "") not in ("", "0")

GOAL_DOCS = 100
GOAL_SECONDS = 2.0
NOISE_CORES = 0.25  # a round is disturbed when other work used more than this many cores
URLS_PER_DOC = 3
LISTEN_RE = re.compile(r"listening on http://[^:/]+:(\d+)")

PAYLOAD = {
    "personal": {
        "full_name": "Zoë Lindqvist",
        "email": "zoe@example.com",
        "phone": "+46 70 123 45 67",
        "location": "Stockholm, Sweden",
        "calendly_url": "https://calendly.com/zoe-lindqvist/30min",
        "linkedin_url": "https://www.linkedin.com/in/zoe-lindqvist/",
        "portfolio_url": "https://zoelindqvist.dev/",
    },
    "target_position": "Senior Backend Engineer",
    "professional_summary": "Backend engineer who builds calm, correct systems: payments, "
                            "ledgers and the tooling around them.",
    "experience": [
        {"title": "Senior Engineer", "company": "Northwind", "start_date": "2021-03",
         "description": "Led the ledger rewrite; p99 settlement latency down from 4 s to 300 ms."},
        {"title": "Engineer", "company": "Contoso", "start_date": "2018-01",
         "end_date": "2021-02", "description": "Payouts in 14 currencies."},
    ],
    "education": [
        {"degree": "MSc Computer Science", "institution": "KTH", "end_date": "2017"},
    ],
    "skills": ["Go", "C", "PostgreSQL", "Kafka", "Kubernetes"],
    "format": FORMAT,
}


def say(msg):
    print("generate: %s" % msg, file=sys.stderr, flush=True)


def cannot_run(msg):
    say("cannot run: %s" % msg)
    sys.exit(2)


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def proc_cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads), from /proc."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds():
    """CPU seconds the whole machine spent not idle, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def self_cpu_seconds():
    t = os.times()
    return t.user + t.system


class Server:
    """trackdoc serve with its own database and storage folder."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.db = os.path.join(tmp, "bench.db")
        self.storage = os.path.join(tmp, "documents")
        self.proc = None
        self.port = None
        self.key = None

    def start(self):
        # The server's settings are the script's own: none from the caller's environment.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRACKDOC_") and k != "ENABLE_URL_TRACKING"}
        r = subprocess.run([TRACKDOC, "apikey", "create", "--name", "bench", "--json",
                            "--db", self.db], capture_output=True, env=env, timeout=60)
        if r.returncode != 0:
            cannot_run("trackdoc apikey create failed: %s" % r.stderr.decode(errors="replace"))
        self.key = json.loads(r.stdout)["key"]
        argv = [TRACKDOC, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                "--storage-dir", self.storage, "--rate-limit-api", "0",
                "--rate-limit-track", "0"]
        if SERVE_THREADS:
            argv += ["--threads", SERVE_THREADS]
        self.out = open(os.path.join(self.tmp, "serve.out"), "wb")
        self.err = open(os.path.join(self.tmp, "serve.err"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.tmp)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with open(os.path.join(self.tmp, "serve.out"), errors="replace") as f:
                m = LISTEN_RE.search(f.readline())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                cannot_run("trackdoc serve exited with %d: %s"
                           % (self.proc.returncode, self.stderr_tail()))
            time.sleep(0.05)
        cannot_run("trackdoc serve printed no listening line within 15 s")

    def stderr_tail(self):
        try:
            with open(os.path.join(self.tmp, "serve.err"), errors="replace") as f:
                return f.read()[-600:].strip()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s. Returns the exit code (None when killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            say("trackdoc serve did not stop within 15 s of SIGTERM: killing it")
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.out.close()
            self.err.close()


def run_batch(server, job_ids, clients, tracked=True):
    """POSTs one /resume per id from `clients` threads with keep-alive connections: with the id
    as job_id (and a new application_id) when tracked, without either when not (the id then
    only names the request). Returns (seconds from first send to last answer,
    [(id, status, latency s, body)])."""
    results = [None] * len(job_ids)
    lock = threading.Lock()
    next_index = [0]
    start = threading.Barrier(clients + 1)
    errors = []
    headers = {"Authorization": "Bearer " + server.key, "Content-Type": "application/json"}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            conn.connect()
            start.wait()
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(job_ids):
                    return
                if tracked:
                    body = dict(PAYLOAD, job_id=job_ids[i], application_id=str(uuid.uuid4()))
                else:
                    body = dict(PAYLOAD)
                if DISTINCT_NAMES:
                    body["personal"] = dict(PAYLOAD["personal"],
                                            full_name="Zoë Lindqvist%s" % job_ids[i][:8])
                data = json.dumps(body).encode()
                t0 = time.perf_counter()
                conn.request("POST", "/resume", body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                dt = time.perf_counter() - t0
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                results[i] = (job_ids[i], resp.status, dt, raw)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            errors.append("%s: %s" % (type(e).__name__, e))
            try:
                start.abort()
            except threading.BrokenBarrierError:
                pass
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    total = time.perf_counter() - t0
    if errors:
        say("client errors: %s" % "; ".join(errors[:3]))
    return total, results


def check_one(server, r, names, tracked):
    """The problems of one answer: status, tracking (three links when tracked; off and no link
    when not), the stored file, a name given twice."""
    if r is None:
        return ["a request got no answer"]
    job, status, _, raw = r
    what = "job %s" % job if tracked else "untracked request %s" % job[:8]
    if status != 201:
        text = raw[:200].decode(errors="replace").strip()
        return ["%s: status %d: %s" % (what, status, text)]
    try:
        body = json.loads(raw)
    except ValueError:
        return ["%s: the answer is not JSON: %r" % (what, raw[:200])]
    problems = []
    tr = body.get("tracking") or {}
    if tracked:
        if tr.get("urls_tracked") != URLS_PER_DOC or tr.get("tracking_failures") != 0:
            problems.append("%s: tracking.urls_tracked %r, tracking_failures %r"
                            % (what, tr.get("urls_tracked"), tr.get("tracking_failures")))
    elif (tr.get("tracking_enabled") is not False or tr.get("urls_tracked") != 0
          or tr.get("links") != []):
        problems.append("%s: tracking should be off: tracking_enabled %r, urls_tracked %r, "
                        "%d links" % (what, tr.get("tracking_enabled"), tr.get("urls_tracked"),
                                      len(tr.get("links") or [])))
    path = os.path.join(server.storage, body.get("file_path") or "")
    if not body.get("file_path") or not os.path.isfile(path) or os.path.getsize(path) == 0:
        problems.append("%s: no file %s in the storage folder" % (what, path))
    if body.get("filename") in names:
        problems.append("%s: file name %s handed out twice" % (what, body.get("filename")))
    names.add(body.get("filename"))
    return problems


def check_answers(server, results, names, tracked):
    """The problems of a batch's answers, and how many answers had one."""
    problems, bad = [], 0
    for r in results:
        p = check_one(server, r, names, tracked)
        problems += p
        bad += 1 if p else 0
    return problems, bad


def count_rows(db, job_ids):
    """Links per job id, all links, and generated_documents rows, from the database (opened
    read-only)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        counts = {}
        for (job, n) in con.execute("SELECT job_id, count(*) FROM link_tracking GROUP BY job_id"):
            counts[job] = n
        links = con.execute("SELECT count(*) FROM link_tracking").fetchone()[0]
        docs = con.execute("SELECT count(*) FROM generated_documents").fetchone()[0]
    finally:
        con.close()
    return [counts.get(j, 0) for j in job_ids], links, docs


def measure(server, rnd, names, tracked):
    """Times DOCS requests of one kind; returns their figures and check results."""
    jobs = [str(uuid.uuid4()) for _ in range(DOCS)]
    s0, m0, c0 = proc_cpu_seconds(server.proc.pid), machine_busy_seconds(), self_cpu_seconds()
    total, res = run_batch(server, jobs, CLIENTS, tracked)
    s1, m1, c1 = proc_cpu_seconds(server.proc.pid), machine_busy_seconds(), self_cpu_seconds()
    problems, bad = check_answers(server, res, names, tracked)
    lat = [r[2] * 1000 for r in res if r is not None] or [0.0]
    other = max(0.0, ((m1 - m0) - (s1 - s0) - (c1 - c0)) / total) if total > 0 else 0.0
    r = {"round": rnd, "tracked": tracked, "jobs": jobs, "problems": problems, "bad": bad,
         "seconds": total, "rate": DOCS / total if total > 0 else 0.0,
         "p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat),
         "cpu_ms": (s1 - s0) * 1000 / DOCS, "client_ms": (c1 - c0) * 1000 / DOCS,
         "other": other, "disturbed": other > NOISE_CORES}
    print("round %d %-10s %d documents in %.3f s = %.1f documents/s; per request p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms; server CPU %.1f ms/document, client %.1f ms; other work "
          "%.2f cores%s%s"
          % (rnd, "tracked:" if tracked else "untracked:", DOCS, total, r["rate"], r["p50"],
             r["p99"], r["max"], r["cpu_ms"], r["client_ms"], other,
             " (disturbed)" if r["disturbed"] else "",
             "; %d ANSWERS WRONG" % bad if bad else ""), flush=True)
    return r


FIGURES = (("seconds", "time"), ("rate", "documents/s"), ("p50", "p50"), ("p99", "p99"),
           ("cpu_ms", "server CPU/document"))


def ratio(a, b):
    """a / b, or NaN when b is 0."""
    return a / b if b > 0 else float("nan")


def measure_round(server, rnd, names):
    """One round: DOCS tracked and DOCS untracked requests, tracked first in odd rounds.
    Prints the ratios tracked/untracked; returns (tracked figures, untracked figures)."""
    order = (True, False) if rnd % 2 else (False, True)
    got = {kind: measure(server, rnd, names, kind) for kind in order}
    t, u = got[True], got[False]
    print("round %d tracked/untracked: %s" % (rnd, ", ".join(
        "%s %.2fx" % (label, ratio(t[k], u[k])) for k, label in FIGURES)), flush=True)
    return t, u


def report(server, pairs, warm, failed):
    """Prints the medians and their ratios, the checks and the summary line; returns the exit
    status."""
    tracked_jobs = warm[True] + [j for t, _ in pairs for j in t["jobs"]]
    untracked_n = len(warm[False]) + DOCS * len(pairs)
    rounds = [m for pair in pairs for m in pair]
    bad = sum(r["bad"] for r in rounds)
    failed += [p for r in rounds for p in r["problems"]]
    # Every job has its three links, no other link exists (the untracked requests made none),
    # and every answer has its generated_documents row (read after the server stopped).
    try:
        counts, links, docs = count_rows(server.db, tracked_jobs)
        short = sum(1 for n in counts if n != URLS_PER_DOC)
        if short:
            failed.append("%d of %d jobs do not have %d links in the database"
                          % (short, len(tracked_jobs), URLS_PER_DOC))
        if links != sum(counts):
            failed.append("%d links in the database that belong to no tracked job (untracked "
                          "requests must store none)" % (links - sum(counts)))
        if docs != len(tracked_jobs) + untracked_n:
            failed.append("%d generated_documents rows for %d answers"
                          % (docs, len(tracked_jobs) + untracked_n))
        db_note = ("%d links in the database for %d jobs, none from the %d untracked requests; "
                   "%d documents recorded" % (links, len(tracked_jobs), untracked_n, docs))
    except sqlite3.Error as e:
        failed.append("cannot read the database: %s" % e)
        db_note = "database not read"
    clean = [p for p in pairs if not p[0]["disturbed"] and not p[1]["disturbed"]]
    used = clean or pairs
    med = [{k: median([p[i][k] for p in used]) for k, _ in FIGURES} for i in (0, 1)]
    per_round = {k: median([ratio(p[0][k], p[1][k]) for p in used]) for k, _ in FIGURES}
    print()
    print("median of %d %-28s seconds  documents/s   p50 ms   p99 ms  server CPU ms/document"
          % (len(used), "undisturbed rounds" if clean else "rounds (all disturbed)"))
    for label, m in (("tracked (job_id, 3 links)", med[0]),
                     ("untracked (no job_id, reference)", med[1])):
        print("  %-38s %7.3f %12.1f %8.1f %8.1f %10.1f"
              % (label, m["seconds"], m["rate"], m["p50"], m["p99"], m["cpu_ms"]))
    print("  %-38s %6.2fx %11.2fx %7.2fx %7.2fx %9.2fx"
          % ("tracked/untracked (of the medians)",
             *[ratio(med[0][k], med[1][k]) for k, _ in FIGURES]))
    print("  %-38s %6.2fx %11.2fx %7.2fx %7.2fx %9.2fx"
          % ("tracked/untracked (median per round)", *[per_round[k] for k, _ in FIGURES]))
    print("checks: %d tracked answers (warm-up included) 201 with tracking.urls_tracked %d and no "
          "tracking failure, %d untracked ones 201 with tracking off and no link, every file in "
          "the storage folder and no name twice: %s; %s"
          % (len(tracked_jobs), URLS_PER_DOC, untracked_n,
             "ok" if not failed else "FAILED (%d measured answers wrong)" % bad, db_note))
    # The goal is for 100 documents; another BENCH_DOCS is scaled to it.
    per100 = med[0]["seconds"] * GOAL_DOCS / DOCS
    if failed:
        verdict = "NOT MET: %d of %d measured answers were wrong" % (bad, DOCS * len(rounds))
    elif per100 < GOAL_SECONDS:
        verdict = "met, %.1fx under" % (GOAL_SECONDS / per100)
    else:
        verdict = "missed"
    print("summary: generate %d tracked .%s résumés over HTTP, %d clients%s: %.2f s (goal < %.0f s:"
          " %s), %.0f documents/s, p99 %.1f ms; %.2fx the time of the same requests untracked"
          " (%.2f s)%s"
          % (GOAL_DOCS, FORMAT, CLIENTS, ", distinct names" if DISTINCT_NAMES else "", per100,
             GOAL_SECONDS, verdict, med[0]["rate"], med[0]["p99"],
             ratio(med[0]["seconds"], med[1]["seconds"]), med[1]["seconds"] * GOAL_DOCS / DOCS,
             "" if clean else " [disturbed runs only]"))
    for p in failed[:5]:
        say("check failed: %s" % p)
    if len(failed) > 5:
        say("... and %d more problems" % (len(failed) - 5))
    return 1 if failed else 0


def main():
    if not os.access(TRACKDOC, os.X_OK):
        cannot_run("%s not found: run 'make build/trackdoc' (or 'make bench') first" % TRACKDOC)
    if DOCS < 1 or CLIENTS < 1 or ROUNDS < 1 or WARMUP < 0:
        cannot_run("BENCH_DOCS, BENCH_CLIENTS and BENCH_ROUNDS must be at least 1")
    tmp = tempfile.mkdtemp(prefix="trackdoc-bench-generate.")
    server = Server(tmp)
    failed, pairs, names = [], [], set()
    warm = {True: [], False: []}
    status = 2

    def on_signal(sig, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
        print("generate: %d POST /resume (%s, %d tracked URLs each) per round and the same %d "
              "without job_id (reference, interleaved), %d keep-alive clients, after %d warm-up "
              "requests of each kind; %d rounds; %d CPUs; serve --threads %s; %s"
              % (DOCS, FORMAT, URLS_PER_DOC, DOCS, CLIENTS, WARMUP, ROUNDS, os.cpu_count(),
                 SERVE_THREADS or "default", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
              flush=True)
        for kind in (True, False):
            if WARMUP:
                warm[kind] = [str(uuid.uuid4()) for _ in range(WARMUP)]
                _, res = run_batch(server, warm[kind], CLIENTS, kind)
                failed += ["warm-up: " + p for p in check_answers(server, res, names, kind)[0]]
        for rnd in range(1, ROUNDS + 1):
            pairs.append(measure_round(server, rnd, names))
        rc = server.stop()
        if rc != 0:
            failed.append("trackdoc serve exited with %r after SIGTERM: %s"
                          % (rc, server.stderr_tail()))
        status = report(server, pairs, warm, failed)
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    finally:
        server.stop()
        if os.environ.get("BENCH_KEEP") or status == 1:
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
