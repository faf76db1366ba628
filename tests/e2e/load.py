"""Tests that need code rather than a table: cursor pagination walks, many clients at once, and
the server dying (SIGKILL) or stopping (SIGTERM) under load. Every click count is checked
against what the clients themselves received, and after the server stopped, against the rows
in its SQLite database opened read-only with Python's own sqlite3 module."""

import http.client
import json
import socket
import sqlite3
import threading
import time
import uuid

import harness

N_LINKS = 10
CONNECTION_ERRORS = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                     ConnectionAbortedError, http.client.RemoteDisconnected)


def api(server, method, path, body=None, timeout=30):
    """One API call with the server's key; returns (status, parsed JSON or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer %s" % server.key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


def make_links(server, tag):
    """Creates N_LINKS links with distinct destinations; returns [(tracking_id, url)]."""
    functions = ["Calendly", "LinkedIn", "Portfolio"]
    links = []
    for i in range(N_LINKS):
        url = "https://%s.example.org/slot/%d?ref=e2e&n=%d" % (tag, i, i)
        status, doc = api(server, "POST", "/api/link-tracking/create",
                          {"original_url": url, "link_function": functions[i % 3]})
        if status != 201 or not doc or doc.get("original_url") != url:
            raise RuntimeError("creating link %d: %s %s" % (i, status, doc))
        links.append((doc["tracking_id"], url))
    return links


def db_click_counts(db_path, links):
    """Click rows (GET) per tracking id of links, read with sqlite3 in read-only mode; rows of
    any other id would show under their own key."""
    uri = "file:%s?mode=ro" % db_path
    con = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        rows = con.execute("SELECT tracking_id, count(*) FROM link_clicks "
                           "WHERE http_method = 'GET' GROUP BY tracking_id").fetchall()
    finally:
        con.close()
    counts = {tid: 0 for tid, _ in links}
    counts.update(rows)
    return counts


class Load:
    """Client threads sending GET /track/{id} over keep-alive connections, counting what they
    fully receive. Request k goes to link k % N_LINKS."""

    def __init__(self, server, links, threads, total=None):
        self.server = server
        self.links = links
        self.nthreads = threads
        self.total = total
        self.lock = threading.Lock()
        self.next = 0
        self.stop = threading.Event()
        self.got_302 = [0] * len(links)
        self.statuses = {}
        self.bad_location = []
        self.conn_errors = 0
        self.partial = []
        self.progress = threading.Condition(self.lock)
        self.received = 0

    def take(self):
        with self.lock:
            if self.stop.is_set() or (self.total is not None and self.next >= self.total):
                return None
            k = self.next
            self.next += 1
            return k

    def worker(self, exit_on_error):
        conn = None
        while True:
            k = self.take()
            if k is None:
                break
            i = k % len(self.links)
            tid, url = self.links[i]
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            try:
                conn.request("GET", "/track/%s" % tid)
                resp = conn.getresponse()
                resp.read()  # IncompleteRead when the body is cut short
            except CONNECTION_ERRORS:
                # No status line, or the connection refused/reset: the request got no answer.
                with self.lock:
                    self.conn_errors += 1
                conn.close()
                conn = None
                if exit_on_error:
                    break
                continue
            except (http.client.HTTPException, socket.timeout, OSError) as e:
                with self.lock:
                    self.partial.append("%s: %s" % (type(e).__name__, e))
                conn.close()
                conn = None
                if exit_on_error:
                    break
                continue
            with self.lock:
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                if resp.status == 302:
                    self.got_302[i] += 1
                    self.received += 1
                    if resp.getheader("Location") != url:
                        self.bad_location.append((tid, resp.getheader("Location")))
                self.progress.notify_all()
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def start(self, exit_on_error=False):
        self.threads = [threading.Thread(target=self.worker, args=(exit_on_error,), daemon=True)
                        for _ in range(self.nthreads)]
        for t in self.threads:
            t.start()

    def wait_received(self, n, timeout=60):
        """Blocks until n 302s were received (a count, not a time, starts the next step)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.received < n and time.monotonic() < deadline:
                self.progress.wait(0.5)
            return self.received >= n

    def join(self, timeout=120):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def start_server(rep, name, args=()):
    s = harness.Server(rep, name, ["--rate-limit-api", "0", "--rate-limit-track", "0"]
                       + list(args))
    s.start()
    return s


# ---- pagination ----

def walk(server, query, limit):
    """Follows next_cursor from the first page; returns (ids in order, page sizes, problems)."""
    ids, sizes, problems, cursor = [], [], [], None
    for _ in range(200):
        path = "/api/link-tracking/links?%s&limit=%d" % (query, limit)
        if cursor:
            path += "&cursor=%s" % cursor
        status, doc = api(server, "GET", path)
        if status != 200 or not isinstance(doc, dict):
            problems.append("%s -> %s %s" % (path, status, doc))
            break
        page = doc.get("links", [])
        if doc.get("count") != len(page):
            problems.append("count %s but %d links on a page" % (doc.get("count"), len(page)))
        sizes.append(len(page))
        ids += [(l["created_at"], l["tracking_id"]) for l in page]
        cursor = doc.get("next_cursor")
        if cursor is None:
            break
        if not page:
            problems.append("empty page with a next_cursor")
            break
    return ids, sizes, problems


def test_pagination(rep, server):
    """25 links of one job, created in one batch (equal created_at values are likely), walked
    with several page sizes: every link exactly once, newest first, no empty tail page."""
    prefix = "api-walk: "
    job = str(uuid.UUID(int=0x5EED_0000_0000_4000_8000_0000_0000_0025))
    urls = ["https://walk.example.net/item/%02d" % i for i in range(25)]
    status, doc = api(server, "POST", "/api/link-tracking/create",
                      {"job_id": job, "link_function": "Portfolio",
                       "links": [{"original_url": u} for u in urls]})
    if not rep.check(prefix + "batch of 25 links for one job is created (201, count 25)",
                     status == 201 and doc and doc.get("count") == 25
                     and [l.get("original_url") for l in doc.get("links", [])] == urls,
                     "%s %s" % (status, str(doc)[:300])):
        return
    created = {l["tracking_id"] for l in doc["links"]}
    rep.comment("api-walk: the 25 links share %d distinct created_at values (ties test the "
                "cursor's tie-break)" % len({l["created_at"] for l in doc["links"]}))
    rep.check(prefix + "the 25 links have 25 distinct tracking ids", len(created) == 25,
              "%d distinct" % len(created))
    for limit in (1, 7, 24, 25, 100):
        ids, sizes, problems = walk(server, "job_id=%s" % job, limit)
        seen = [t for _, t in ids]
        full, rest = divmod(25, limit)
        want_sizes = [limit] * full + ([rest] if rest else [])
        if not problems:
            if len(seen) != len(set(seen)):
                problems.append("duplicates: %s" % sorted({t for t in seen if seen.count(t) > 1}))
            if set(seen) != created:
                problems.append("missing %s, unexpected %s" % (sorted(created - set(seen)),
                                                               sorted(set(seen) - created)))
            if ids != sorted(ids, reverse=True):
                problems.append("not newest first (created_at, tracking_id descending)")
            if sizes != want_sizes:
                problems.append("page sizes %s, expected %s" % (sizes, want_sizes))
        rep.check(prefix + "walk with limit=%d visits each of the 25 links once, in order"
                  % limit, not problems, "; ".join(problems))
    # Filters compose with the cursor: only this job's Portfolio links, all of them.
    ids, sizes, problems = walk(server, "job_id=%s&function=portfolio&active=true" % job, 10)
    rep.check(prefix + "walk with job_id, function and active filters gives the same 25",
              not problems and {t for _, t in ids} == created and len(ids) == 25,
              "; ".join(problems) or "%d links" % len(ids))


# ---- many clients ----

def test_concurrency(rep, total=20000, nthreads=64):
    prefix = "load: "
    try:
        server = start_server(rep, "load")
        links = make_links(server, "load")
    except Exception as e:  # noqa: BLE001
        rep.check(prefix + "start server and create %d links" % N_LINKS, False, e, always=True)
        return
    load = Load(server, links, nthreads, total=total)
    t0 = time.monotonic()
    load.start()
    finished = load.join(timeout=300)
    took = time.monotonic() - t0
    got = sum(load.got_302)
    rep.comment("load: %d requests from %d threads in %.1f s; statuses %s; connection errors %d"
                % (total, nthreads, took, load.statuses, load.conn_errors))
    rep.check(prefix + "every client thread finished", finished, "threads still running")
    rep.check(prefix + "all %d GET /track requests answered 302" % total,
              got == total and not load.partial and load.conn_errors == 0,
              "%d 302s; statuses %s; %d connection errors; %d broken responses %s"
              % (got, load.statuses, load.conn_errors, len(load.partial), load.partial[:3]))
    rep.check(prefix + "every Location is the link's original URL", not load.bad_location,
              "%d wrong, e.g. %s" % (len(load.bad_location), load.bad_location[:3]))
    want = {tid: n for (tid, _), n in zip(links, load.got_302)}
    per_link = {}
    for tid, _ in links:
        status, doc = api(server, "GET", "/api/link-tracking/analytics/%s?include=all" % tid)
        per_link[tid] = (doc or {}).get("click_statistics", {}).get("total_clicks") \
            if status == 200 else "status %d" % status
    rep.check(prefix + "analytics total_clicks of each link equals the 302s its clients got",
              per_link == want, "analytics %s, clients %s" % (per_link, want))
    server.stop()
    try:
        rows = db_click_counts(server.db, links)
    except sqlite3.Error as e:
        rows = "sqlite3 error: %s" % e
    rep.check(prefix + "click rows in the database equal the 302s received, per link",
              rows == want, "database %s, clients %s" % (rows, want))


def test_sigkill(rep, nthreads=32, kill_after=1500):
    prefix = "sigkill: "
    try:
        server = start_server(rep, "sigkill")
        links = make_links(server, "kill")
    except Exception as e:  # noqa: BLE001
        rep.check(prefix + "start server and create %d links" % N_LINKS, False, e, always=True)
        return
    load = Load(server, links, nthreads)
    load.start(exit_on_error=True)
    reached = load.wait_received(kill_after)
    server.kill()
    load.stop.set()
    finished = load.join(timeout=60)
    rep.check(prefix + "load was running when the server was killed (%d 302s received first)"
              % kill_after, reached, "only %d 302s" % load.received)
    rep.check(prefix + "every client thread finished", finished, "threads still running")
    got = dict((tid, n) for (tid, _), n in zip(links, load.got_302))
    try:
        rows = db_click_counts(server.db, links)
    except sqlite3.Error as e:
        rep.check(prefix + "database opens after SIGKILL", False, e)
        return
    received, committed = sum(got.values()), sum(rows.values())
    rep.comment("sigkill: %d 302 responses fully received, %d clicks committed "
                "(%d requests cut off, %d connection errors)"
                % (received, committed, len(load.partial), load.conn_errors))
    short = {t: (rows.get(t, 0), n) for t, n in got.items() if rows.get(t, 0) < n}
    rep.check(prefix + "committed clicks >= 302s received, for every link", not short,
              "links with fewer rows than 302s (rows, 302s): %s" % short)
    rep.check(prefix + "every Location is the link's original URL", not load.bad_location,
              "%d wrong, e.g. %s" % (len(load.bad_location), load.bad_location[:3]))
    server.check_sanitizers()


def sigterm_round(rep, rnd, nthreads, term_after):
    """One server, load from nthreads clients, SIGTERM after term_after 302s. Returns the
    results of the round's checks as {check: (ok, detail)}."""
    server = start_server(rep, "sigterm-%d" % rnd)
    links = make_links(server, "term%d" % rnd)
    load = Load(server, links, nthreads)
    # Clients keep going through errors until the server refuses connections: requests keep
    # arriving during the whole drain.
    load.start(exit_on_error=False)
    reached = load.wait_received(term_after)
    server.proc.send_signal(15)
    try:
        rc = server.proc.wait(timeout=harness.STOP_TIMEOUT)
    except Exception:  # noqa: BLE001
        server.proc.kill()
        server.proc.wait()
        rc = None
    server.stopped = True
    load.stop.set()
    finished = load.join(timeout=60)
    got = dict((tid, n) for (tid, _), n in zip(links, load.got_302))
    try:
        rows = db_click_counts(server.db, links)
    except sqlite3.Error as e:
        rows = "sqlite3 error: %s" % e
    committed = sum(rows.values()) if isinstance(rows, dict) else rows
    rep.comment("sigterm: round %d: %d 302 responses received, %s clicks committed, %d "
                "connection errors, exit code %r"
                % (rnd, sum(got.values()), committed, load.conn_errors, rc))
    # A request that arrives on a kept-alive connection once the drain has begun is refused with
    # 503 shutting_down (Retry-After), before it records anything: so that every click still
    # has its 302 and every 302 its click.
    other = {s: n for s, n in load.statuses.items() if s not in (302, 503)}
    report = harness.sanitizer_report(server.stderr())
    return {
        "load was running when SIGTERM was sent (%d 302s received first)" % term_after:
            (reached, "only %d 302s" % load.received),
        "server exits 0 within %.0f s of SIGTERM under load" % harness.STOP_TIMEOUT:
            (rc == 0, "exit code %r; stderr tail: %s" % (rc, server.stderr()[-300:].strip())),
        "every client thread finished": (finished, "threads still running"),
        "every request got a complete response or a connection error":
            (not load.partial,
             "%d cut-off responses, e.g. %s" % (len(load.partial), load.partial[:3])),
        "every complete response is a 302, or a 503 once the drain began":
            (not other, "other statuses %s" % other),
        "clicks committed == 302s received, per link":
            (rows == got, "database %s, clients %s" % (rows, got)),
        "server stderr has no sanitizer report": (report is None, report),
    }


def test_sigterm(rep, nthreads=32, term_after=1500, rounds=3):
    """SIGTERM under load, a few times (a shutdown race shows in some runs only): each check
    passes when it held in every round; the detail names the first round where it did not."""
    prefix = "sigterm: "
    results = []
    for rnd in range(1, rounds + 1):
        try:
            results.append((rnd, sigterm_round(rep, rnd, nthreads, term_after)))
        except Exception as e:  # noqa: BLE001
            rep.check(prefix + "round %d: start server and create %d links" % (rnd, N_LINKS),
                      False, e, always=True)
    if not results:
        return
    for name in results[0][1]:
        bad = [(rnd, r[name][1]) for rnd, r in results if not r[name][0]]
        always = name.startswith("server ")
        rep.check(prefix + name + (" (%d rounds)" % len(results)), not bad,
                  "; ".join("round %d: %s" % b for b in bad), always=always)


# ---- idempotent creation under a race ----

def test_create_race(rep, server, nthreads=16, rounds=4):
    """The same new context created by many clients at the same moment: exactly one 201, the
    others 200, one tracking id, one row."""
    prefix = "race: "
    for rnd in range(rounds):
        job = str(uuid.UUID(int=0x7ACE_0000_0000_4000_8000_0000_0000_0000 + rnd))
        body = {"original_url": "https://race.example.com/round/%d" % rnd,
                "link_function": "LinkedIn", "job_id": job}
        barrier = threading.Barrier(nthreads)
        results = []
        lock = threading.Lock()

        def one():
            barrier.wait()
            try:
                status, doc = api(server, "POST", "/api/link-tracking/create", body)
            except (OSError, http.client.HTTPException) as e:
                status, doc = "error %s" % e, None
            with lock:
                results.append((status, (doc or {}).get("tracking_id"), (doc or {}).get("created")))

        threads = [threading.Thread(target=one) for _ in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = sorted(str(s) for s, _, _ in results)
        ids = {i for _, i, _ in results}
        created = sum(1 for _, _, c in results if c is True)
        status, doc = api(server, "GET", "/api/link-tracking/links?job_id=%s" % job)
        rows = (doc or {}).get("count")
        rep.check(prefix + "round %d: %d concurrent creates of one context give one 201, %d "
                  "200s, one tracking id and one link" % (rnd + 1, nthreads, nthreads - 1),
                  statuses == ["200"] * (nthreads - 1) + ["201"] and len(ids) == 1
                  and None not in ids and created == 1 and rows == 1,
                  "statuses %s, %d ids, %d created, %s links listed"
                  % (statuses, len(ids), created, rows))
