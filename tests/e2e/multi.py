"""Several trackdoc servers on one database, as docs/scaling.md runs them: the same links
created at once through two servers, clicks through both, one of them killed under load while
the other goes on. On SQLite the servers share one file; with TRACKDOC_TEST_DB they share one
PostgreSQL database. Rows are counted in the database itself (harness.query) once the servers
have stopped. PostgreSQL runs also check that the PG* variables choose the database when
TRACKDOC_DB is not set, and what a server does while its PostgreSQL server is down (a server of
the test's own, started with tests/pg/pg-server.sh, stopped and started again)."""

import os
import subprocess
import threading
import urllib.parse
import uuid

import harness
import load

PREFIX = "multi: "
CONTEXTS = 25
THREADS_PER_SERVER = 8


def start_pair(rep, tag):
    """Two servers on one database (the second uses the first's API key)."""
    a = load.start_server(rep, "%s-a" % tag)
    try:
        b = harness.Server(rep, "%s-b" % tag, ["--rate-limit-api", "0", "--rate-limit-track", "0"],
                           key=False)
        b.db = a.db
        b.start()
    except Exception:
        a.stop(check=False)
        raise
    b.key = a.key
    return a, b


def creation_race(rep, a, b):
    """THREADS_PER_SERVER clients per server create the same CONTEXTS links at the same moment:
    every context ends with one row, one tracking id in every answer, and one 201."""
    job = str(uuid.uuid4())
    urls = ["https://multi.example.org/contexts/%02d?ref=both" % i for i in range(CONTEXTS)]
    barrier = threading.Barrier(2 * THREADS_PER_SERVER)
    lock = threading.Lock()
    answers = {u: [] for u in urls}
    errors = []

    def client(server, k):
        order = urls[k % CONTEXTS:] + urls[:k % CONTEXTS]
        barrier.wait()
        for u in order:
            try:
                status, doc = load.api(server, "POST", "/api/link-tracking/create",
                                       {"original_url": u, "link_function": "Portfolio",
                                        "job_id": job})
            except OSError as e:
                status, doc = "error %s" % e, None
            with lock:
                if status not in (200, 201) or not doc:
                    errors.append("%s %s" % (status, str(doc)[:200]))
                else:
                    answers[u].append((status, doc.get("tracking_id")))

    threads = [threading.Thread(target=client, args=(s, k))
               for k in range(THREADS_PER_SERVER) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    rep.check(PREFIX + "%d clients on two servers create %d contexts at once: every answer "
              "is 200 or 201" % (2 * THREADS_PER_SERVER, CONTEXTS), not errors,
              "%d errors, e.g. %s" % (len(errors), errors[:3]))
    split = {u: sorted({t for _, t in got}) for u, got in answers.items() if
             len({t for _, t in got}) != 1}
    rep.check(PREFIX + "every context has one tracking id in all %d answers"
              % (2 * THREADS_PER_SERVER), not split, "contexts with several ids: %s"
              % list(split.items())[:3])
    created = {u: sum(1 for s, _ in got if s == 201) for u, got in answers.items()}
    rep.check(PREFIX + "every context was created (201) exactly once",
              all(n == 1 for n in created.values()),
              "201s per context: %s" % {u: n for u, n in created.items() if n != 1})
    return job, urls


def kill_under_load(rep, a, b):
    """Clients on both servers; b is killed (SIGKILL) after 1000 302s while a goes on. Returns
    (links of a, its load, links of b, its load)."""
    links_a, links_b = load.make_links(a, "multi-a"), load.make_links(b, "multi-b")
    load_a = load.Load(a, links_a, 16, total=3000)
    load_b = load.Load(b, links_b, 16)
    load_a.start()
    load_b.start(exit_on_error=True)
    reached = load_b.wait_received(1000)
    b.kill()
    load_b.stop.set()
    finished = load_a.join(timeout=300) and load_b.join(timeout=60)
    rep.check(PREFIX + "load was running on the second server when it was killed", reached,
              "only %d 302s" % load_b.received)
    rep.check(PREFIX + "every client thread finished", finished, "threads still running")
    got_a = sum(load_a.got_302)
    rep.check(PREFIX + "the first server answers all its 3000 redirects (302) while the second "
              "is killed", got_a == 3000 and not load_a.partial and load_a.conn_errors == 0,
              "%d 302s; statuses %s; %d connection errors; %d broken responses"
              % (got_a, load_a.statuses, load_a.conn_errors, len(load_a.partial)))
    return links_a, load_a, links_b, load_b


def click_rows(db, links):
    """GET click rows per tracking id of links, read in the database."""
    rows = harness.query(db, "SELECT tracking_id, count(*) FROM link_clicks "
                             "WHERE http_method = 'GET' GROUP BY tracking_id")
    counts = {tid: 0 for tid, _ in links}
    for tid, n in rows:
        if tid in counts:
            counts[tid] = int(n)
    return counts


def test_pair(rep):
    try:
        a, b = start_pair(rep, "multi")
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "two servers start on one database", False, e, always=True)
        return
    try:
        job, urls = creation_race(rep, a, b)
        links_a, load_a, links_b, load_b = kill_under_load(rep, a, b)
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "creation and load through two servers", False, e)
        a.stop()
        b.stop(check=False)
        return
    a.stop()
    b.check_sanitizers()
    try:
        rows = harness.query(a.db, "SELECT original_url, count(*) FROM link_tracking WHERE "
                                   "job_id = '%s' GROUP BY original_url" % job)
        per_context = {u: int(n) for u, n in rows}
        rows_a, rows_b = click_rows(a.db, links_a), click_rows(a.db, links_b)
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "the database can be read after the run", False, e)
        return
    rep.check(PREFIX + "the database holds one row per context (%d rows)" % CONTEXTS,
              per_context == {u: 1 for u in urls},
              "rows per context: %s" % {u: n for u, n in per_context.items() if n != 1}
              or "%d contexts" % len(per_context))
    want_a = {tid: n for (tid, _), n in zip(links_a, load_a.got_302)}
    rep.check(PREFIX + "click rows of the first server's links equal its 302s, per link",
              rows_a == want_a, "database %s, clients %s" % (rows_a, want_a))
    got_b = {tid: n for (tid, _), n in zip(links_b, load_b.got_302)}
    short = {t: (rows_b[t], n) for t, n in got_b.items() if rows_b[t] < n}
    rep.comment("multi: killed server: %d 302s received, %d clicks committed"
                % (sum(got_b.values()), sum(rows_b.values())))
    rep.check(PREFIX + "the killed server's committed clicks >= the 302s it sent, per link",
              not short, "links with fewer rows than 302s (rows, 302s): %s" % short)


def run_env(argv, extra):
    """Runs trackdoc with argv and the test environment plus extra (PG* variables)."""
    env = harness.child_env()
    env.update(extra)
    p = subprocess.run([harness.trackdoc_bin()] + argv, capture_output=True, timeout=60,
                       env=env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_pg_variables(rep):
    """TRACKDOC_DB unset and PGHOST set: the PG* variables name the database."""
    p = PREFIX + "PG* variables: "
    db = harness.fresh_db(None)
    u = urllib.parse.urlsplit(db)
    pg = {"PGHOST": u.hostname, "PGPORT": str(u.port or 5432), "PGUSER": u.username or "",
          "PGDATABASE": u.path.lstrip("/")}
    rc, out, err = run_env(["db", "migrate"], pg)
    rep.check(p + "db migrate without TRACKDOC_DB or --db migrates that database",
              rc == 0 and "applied" in out and not harness.sanitizer_report(err),
              "exit %s, stdout %r, stderr %r" % (rc, out, err[-300:]))
    rc, out, err = run_env(["db", "status"], pg)
    rep.check(p + "db status says postgres and the current version",
              rc == 0 and "(postgres)" in out and "run 'trackdoc db migrate'" not in out,
              "exit %s, stdout %r, stderr %r" % (rc, out, err[-300:]))
    tables = harness.query(db, "SELECT count(*) FROM schema_migrations")
    rep.check(p + "the tables are in that database", tables and int(tables[0][0]) >= 1,
              "schema_migrations: %s" % tables)
    sqlite = os.path.join(harness.mkdtemp("multi-pgvars"), "t.db")
    rc2, out2, err2 = run_env(["db", "migrate"], dict(pg, TRACKDOC_DB=sqlite))
    rep.check(p + "TRACKDOC_DB, when set, wins over PGHOST",
              rc2 == 0 and os.path.exists(sqlite) and sqlite in out2,
              "exit %s, stdout %r, stderr %r" % (rc2, out2, err2[-300:]))
    bad = dict(pg, PGPORT="1")
    rc, out, err = run_env(["db", "status"], bad)
    rep.check(p + "an unreachable server: exit 1 and a message naming PostgreSQL",
              rc == 1 and "PostgreSQL" in err and not harness.sanitizer_report(err),
              "exit %s, stderr %r" % (rc, err[-300:]))


PG_SERVER = os.path.join(harness.ROOT, "tests", "pg", "pg-server.sh")


def pg_server(*args):
    """Runs tests/pg/pg-server.sh; returns its stdout, raises when it fails."""
    p = subprocess.run([PG_SERVER] + list(args), capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("pg-server.sh %s: %s" % (args[0], p.stderr.decode(errors="replace")))
    return p.stdout.decode().strip()


def get(server, path):
    """GET path without following redirects; returns (status, parsed JSON body or None)."""
    return load.api(server, "GET", path)


def test_outage(rep):
    """The database stops and starts again under a running server: /healthz says degraded and
    requests that need the database answer 503 meanwhile, then everything works again, on the
    same server, with no restart."""
    p = PREFIX + "outage: "
    pgdir = harness.mkdtemp("multi-pg")
    server = None
    try:
        url = pg_server("start", pgdir)
        server = harness.Server(rep, "multi-outage", ["--rate-limit-api", "0",
                                                      "--rate-limit-track", "0",
                                                      "--link-cache-size", "0"])
        server.db = url
        server.start()
        status, doc = load.api(server, "POST", "/api/link-tracking/create",
                               {"original_url": "https://outage.example.org/",
                                "link_function": "Portfolio"})
        tid = (doc or {}).get("tracking_id")
        status, health = get(server, "/healthz")
        rep.check(p + "before: /healthz 200 ok, database reachable",
                  status == 200 and (health or {}).get("status") == "ok", "%s %s"
                  % (status, health))
        pg_server("halt", pgdir)
        status, health = get(server, "/healthz")
        rep.check(p + "database down: /healthz 503 degraded, reachable false",
                  status == 503 and (health or {}).get("status") == "degraded"
                  and (health or {}).get("database", {}).get("reachable") is False,
                  "%s %s" % (status, health))
        status, doc = get(server, "/api/link-tracking/links/%s" % tid)
        rep.check(p + "database down: reading a link answers 503 database_error",
                  status == 503 and (doc or {}).get("error", {}).get("code") == "database_error",
                  "%s %s" % (status, doc))
        status, _ = get(server, "/track/%s" % tid)
        rep.check(p + "database down: a redirect answers 503 (its click cannot be committed)",
                  status == 503, "status %s" % status)
        pg_server("resume", pgdir)
        status, health = get(server, "/healthz")
        rep.check(p + "database back: /healthz 200 ok again, without a restart",
                  status == 200 and (health or {}).get("status") == "ok", "%s %s"
                  % (status, health))
        status, _ = get(server, "/track/%s" % tid)
        rep.check(p + "database back: the redirect answers 302", status == 302,
                  "status %s" % status)
        server.stop()
        rows = harness.query(url, "SELECT count(*) FROM link_clicks WHERE tracking_id = '%s'"
                             % tid)
        rep.check(p + "the database holds the one click that got its 302",
                  rows == [["1"]], "rows %s" % rows)
    except Exception as e:  # noqa: BLE001
        rep.check(p + "the outage test runs", False, e)
    finally:
        if server is not None:
            server.stop(check=False)
        try:
            pg_server("stop", pgdir)
        except Exception as e:  # noqa: BLE001
            rep.comment("multi: stopping the test's PostgreSQL server: %s" % e)


def test_copy(rep):
    """trackdoc db copy from the SQLite database of a server that ran to a new PostgreSQL
    database: every row arrives, an interrupted copy goes on where it stopped, copying again
    adds nothing, and a destination that was not empty is reported."""
    p = PREFIX + "copy: "
    tmp = harness.mkdtemp("multi-copy")
    src = os.path.join(tmp, "source.db")
    try:
        server = harness.Server(rep, "multi-copy-source", ["--rate-limit-api", "0",
                                                            "--rate-limit-track", "0"])
        server.db = src
        server.start()
        links = load.make_links(server, "copy")
        for i in range(12):
            load.api(server, "GET", "/track/%s" % links[i % len(links)][0])
        server.stop()
        clicks = [r[0] for r in harness.query(src, "SELECT click_id FROM link_clicks "
                                                   "ORDER BY rowid")]
        dst = harness.fresh_db(None)
        rc, out, err = run_env(["db", "migrate", "--db", dst], {})
        harness.psql(dst, "ALTER TABLE link_clicks ADD CONSTRAINT stop_here CHECK "
                          "(click_id <> '%s') NOT VALID" % clicks[6])
        rc, out, err = run_env(["db", "copy", "--from", "sqlite:" + src, "--to", dst,
                                "--batch", "2"], {})
        progress = harness.psql(dst, "SELECT table_name, last_rowid FROM db_copy_progress "
                                     "WHERE table_name = 'link_clicks'")
        rep.check(p + "a copy that fails part-way: exit 1 naming the table, the batches "
                  "before stay committed with a note of how far they got",
                  rc == 1 and "link_clicks" in err and progress == [["link_clicks", "6"]]
                  and not harness.sanitizer_report(err),
                  "exit %s, stderr %r, progress %s" % (rc, err[-300:], progress))
        harness.psql(dst, "ALTER TABLE link_clicks DROP CONSTRAINT stop_here")
        rc, out, err = run_env(["db", "copy", "--from", "sqlite:" + src, "--to", dst,
                                "--batch", "2"], {})
        line = [l.split() for l in out.splitlines() if l.startswith("link_clicks ")]
        rep.check(p + "run again, it goes on from there: the last 6 clicks copied, counts "
                  "verified (exit 0)",
                  rc == 0 and "copy verified" in out and line == [["link_clicks", "12", "12",
                                                                   "6"]],
                  "exit %s, stdout %r, stderr %r" % (rc, out, err[-300:]))
        gone = harness.psql(dst, "SELECT to_regclass('db_copy_progress') IS NULL")
        rep.check(p + "a verified copy leaves no progress table behind", gone == [["t"]],
                  "%s" % gone)
        same = {}
        for table, key in (("link_tracking", "tracking_id"), ("link_clicks", "click_id"),
                           ("api_keys", "key_id")):
            a = harness.query(src, "SELECT %s FROM %s ORDER BY 1" % (key, table))
            b = harness.query(dst, "SELECT %s::text FROM %s ORDER BY 1" % (key, table))
            same[table] = a == b
        rep.check(p + "the links, clicks and API keys are the source's, one for one",
                  all(same.values()), "%s" % same)
        sample = harness.query(dst, "SELECT tracking_id, http_method, click_source, "
                                    "to_char(clicked_at AT TIME ZONE 'UTC', "
                                    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM link_clicks "
                                    "ORDER BY click_id LIMIT 3")
        want = harness.query(src, "SELECT tracking_id, http_method, click_source, clicked_at "
                                  "FROM link_clicks ORDER BY click_id LIMIT 3")
        rep.check(p + "click times and fields come across unchanged", sample == want,
                  "postgres %s, sqlite %s" % (sample, want))
        rc, out, err = run_env(["db", "copy", "--from", "sqlite:" + src, "--to", dst], {})
        rep.check(p + "copying again adds nothing and verifies (exit 0)",
                  rc == 0 and "copy verified" in out and all(
                      l.split()[-1] == "0" for l in out.splitlines()[1:-1]),
                  "exit %s, stdout %r, stderr %r" % (rc, out, err[-300:]))
        other = harness.fresh_db(None)
        run_env(["link", "create", "--url", "https://other.example/", "--function",
                 "Portfolio", "--db", other], {})
        rc, out, err = run_env(["db", "copy", "--from", "sqlite:" + src, "--to", other], {})
        rep.check(p + "a destination that was not empty: exit 1, the table whose counts "
                  "differ named", rc == 1 and "link_tracking" in err and "differs" in out,
                  "exit %s, stdout %r, stderr %r" % (rc, out, err[-300:]))
        rc, out, err = run_env(["db", "copy", "--from", "sqlite:" + src, "--to", src], {})
        rep.check(p + "a destination that is not PostgreSQL: exit 2 saying so",
                  rc == 2 and "postgres://" in err, "exit %s, stderr %r" % (rc, err[-300:]))
    except Exception as e:  # noqa: BLE001
        rep.check(p + "the copy test runs", False, e)


def test_multi(rep):
    test_pair(rep)
    if harness.postgres():
        test_pg_variables(rep)
        test_outage(rep)
        test_copy(rep)
