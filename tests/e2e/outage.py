"""A PostgreSQL outage under load (docs/scaling.md, "Outages"): a server of the test's own on a
PostgreSQL server of the test's own (tests/pg/pg-server.sh), links created and each followed
once (so the server knows them), then client threads following them while the database is
stopped and started again. Every redirect of a known link must answer 302 throughout, its click
going to the spool while the database is down; a link the server does not know answers 503 with
Retry-After; /healthz says degraded with the spool's depth. Once the database is back the spool
drains. Then the database stops again, a few more redirects are spooled, the server is killed
(SIGKILL) with its spool not empty, and the next server started in its folder replays it. At the
end the clicks are counted in the database with psql: exactly the 302s the clients received, per
link. Runs in the PostgreSQL round of the suite (TRACKDOC_TEST_DB)."""

import http.client
import json
import os
import signal
import subprocess
import time

import harness
import load
import multi

PREFIX = "outage: "
THREADS = 8
BEFORE = 300  # 302s received before the database stops
DURING = 400  # 302s received while it is down
AFTER = 300  # 302s received once it is back
SPOOLED_BEFORE_KILL = 40


def get(server, path, headers=None):
    """GET path of a server (or of a port); returns (status, headers as a dict, parsed JSON
    body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", getattr(server, "port", server), timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, doc
    finally:
        conn.close()


def health(server):
    status, _, doc = get(server, "/healthz")
    return status, doc or {}


def wait_drained(server, timeout=60):
    """Polls /healthz until the database answers and the spool is empty; returns the last
    answer (a count of polls, not a time, is what the test waits on)."""
    status, doc = health(server)
    for _ in range(int(timeout / 0.2)):
        if status == 200 and doc.get("spool", {}).get("depth") == 0:
            break
        time.sleep(0.2)
        status, doc = health(server)
    return status, doc


def follow(server, links, n, got):
    """n redirects, one after another, over links; counts the 302s per link into got. Returns
    the other answers."""
    other = []
    for k in range(n):
        i = k % len(links)
        status, hdrs, _ = get(server, "/track/%s" % links[i][0])
        if status == 302 and hdrs.get("location") == links[i][1]:
            got[i] += 1
        else:
            other.append((status, hdrs.get("location")))
    return other


def loaded_outage(rep, server, pgdir, links, got):
    """Phase 1: the database stops and starts under load."""
    p = PREFIX
    # Made with the CLI, straight into the database: this server has never seen it.
    r = harness.run_cli(["link", "create", "--url", "https://cold.example.org/", "--function",
                         "Portfolio", "--db", server.db, "--json"])
    if r.returncode != 0:
        raise RuntimeError("link create: %s" % r.stderr[-300:])
    never_followed = json.loads(r.stdout)["tracking_id"]
    ld = load.Load(server, links, THREADS)
    running = during = after = False
    halted_at = resumed_at = 0
    ld.start()
    try:
        running = ld.wait_received(BEFORE)
        multi.pg_server("halt", pgdir)
        halted_at = ld.received
        during = ld.wait_received(halted_at + DURING, timeout=120)
        status, hdrs, doc = get(server, "/track/lt_portfolio_zzzzzzzzzzzzzz",
                                {"Accept": "application/json"})
        rep.check(p + "database down: an id the server never saw answers 503 database_error "
                  "with Retry-After, not 404",
                  status == 503 and hdrs.get("retry-after") and (doc or {}).get(
                      "error", {}).get("code") == "database_error",
                  "%s %s %s" % (status, hdrs.get("retry-after"), doc))
        status, hdrs, doc = get(server, "/track/%s" % never_followed)
        rep.check(p + "database down: a link that exists but was never followed through this "
                  "server answers 503 with Retry-After", status == 503
                  and hdrs.get("retry-after"), "%s %s %s" % (status, hdrs, doc))
        hstatus, hdoc = health(server)
        spool = hdoc.get("spool", {})
        rep.check(p + "database down: /healthz 503 degraded, database unreachable, spool depth "
                  "> 0", hstatus == 503 and hdoc.get("status") == "degraded"
                  and hdoc.get("database", {}).get("reachable") is False
                  and spool.get("enabled") is True and (spool.get("depth") or 0) > 0
                  and hdoc.get("clicks", {}).get("spooled", 0) > 0,
                  "%s %s" % (hstatus, hdoc))
        spool_file = os.path.join(server.dir, "var", "spool", "clicks.spool")
        size = os.path.getsize(spool_file) if os.path.exists(spool_file) else -1
        rep.check(p + "database down: the clicks are in var/spool/clicks.spool of the server's "
                  "folder", size > 0, "size %d" % size)
        multi.pg_server("resume", pgdir)
        resumed_at = ld.received
        after = ld.wait_received(resumed_at + AFTER, timeout=120)
    finally:
        ld.stop.set()
        finished = ld.join(timeout=120)
    for i, n in enumerate(ld.got_302):
        got[i] += n
    rep.comment("outage: %d 302s before the stop, %d while down, %d after; statuses %s"
                % (halted_at, resumed_at - halted_at, ld.received - resumed_at, ld.statuses))
    rep.check(p + "load ran before, during and after the outage (%d, %d, %d 302s)"
              % (BEFORE, DURING, AFTER), running and during and after,
              "before %s, during %s, after %s" % (running, during, after))
    rep.check(p + "every client thread finished", finished, "threads still running")
    rep.check(p + "every redirect of a known link answered 302, before, during and after the "
              "outage", set(ld.statuses) == {302} and not ld.partial and ld.conn_errors == 0,
              "statuses %s; %d connection errors; broken responses %s"
              % (ld.statuses, ld.conn_errors, ld.partial[:3]))
    rep.check(p + "every Location is the link's original URL", not ld.bad_location,
              "%d wrong, e.g. %s" % (len(ld.bad_location), ld.bad_location[:3]))
    status, doc = wait_drained(server)
    spool = doc.get("spool", {})
    rep.check(p + "database back: /healthz 200 ok, the spool drains to 0 without a restart",
              status == 200 and doc.get("status") == "ok" and spool.get("depth") == 0
              and spool.get("replayed", 0) > 0, "%s %s" % (status, doc))


def killed_with_spool(rep, server, pgdir, links, got):
    """Phase 2: the database stops, redirects are spooled, the server is killed; the next server
    in the same folder replays the spool. Returns the new server."""
    p = PREFIX
    multi.pg_server("halt", pgdir)
    other = follow(server, links, SPOOLED_BEFORE_KILL, got)
    rep.check(p + "database down again: %d redirects answer 302" % SPOOLED_BEFORE_KILL,
              not other, "other answers: %s" % other[:5])
    status, doc = health(server)
    depth = doc.get("spool", {}).get("depth", 0)
    rep.check(p + "the spool holds at least those %d clicks" % SPOOLED_BEFORE_KILL,
              depth >= SPOOLED_BEFORE_KILL, "%s %s" % (status, doc))
    server.kill()
    with open(server.err_path, "r", errors="replace") as f:
        first_stderr = f.read()
    multi.pg_server("resume", pgdir)
    server.want_key = False  # its API key is in the database already
    server.start()
    server.stopped = False
    status, doc = wait_drained(server)
    rep.check(p + "a server started after a SIGKILL replays the spool it left (/healthz: ok, "
              "depth 0, %d replayed)" % depth, status == 200 and doc.get("spool", {}).get(
                  "depth") == 0 and doc.get("spool", {}).get("replayed") == depth,
              "%s %s" % (status, doc))
    rep.check(p + "its log says clicks of an earlier run were waiting",
              "from an earlier run wait for the database" in server.stderr(),
              server.stderr()[-500:])
    report = harness.sanitizer_report(first_stderr)
    rep.check(p + "the killed server's stderr has no sanitizer report", report is None, report)
    return server


def spawn(argv, cwd, tag):
    """Starts trackdoc serve (argv after "serve") in cwd; returns (process, stderr path, port or
    None when it exited before listening)."""
    out = os.path.join(harness.mkdtemp(tag), "stdout.txt")
    err = out[:-10] + "stderr.txt"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([harness.trackdoc_bin(), "serve", "--listen", "127.0.0.1:0"]
                                + argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                env=harness.child_env(), cwd=cwd)
    for _ in range(int(harness.START_TIMEOUT / 0.05)):
        with open(out, "r", errors="replace") as f:
            m = harness.LISTEN_RE.match(f.readline())
        if m:
            return proc, err, int(m.group(1))
        if proc.poll() is not None:
            return proc, err, None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return proc, err, None


def read(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


def stop(proc):
    """SIGTERM; the exit code (None when it had to be killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=harness.STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def spool_settings(rep):
    """The spool's settings, on any backend: bad sizes, a path that cannot be made, one spool
    per server, the default's next free slot, and what /healthz says of it."""
    p = PREFIX + "settings: "
    tmp = harness.mkdtemp("outage-settings")
    db = harness.fresh_db(os.path.join(tmp, "t.db"))
    rc, _, err = multi.run_env(["serve", "--spool-max", "10", "--db", db], {})
    rep.check(p + "serve --spool-max 10: exit 2 naming the flag and the range",
              rc == 2 and "--spool-max" in err and "64K" in err, "exit %s, %r" % (rc, err[-300:]))
    rc, _, err = multi.run_env(["serve", "--db", db], {"TRACKDOC_SPOOL_MAX": "lots"})
    rep.check(p + "TRACKDOC_SPOOL_MAX=lots: exit 2 naming the variable",
              rc == 2 and "TRACKDOC_SPOOL_MAX" in err, "exit %s, %r" % (rc, err[-300:]))
    afile = os.path.join(tmp, "a-file")
    with open(afile, "w") as f:
        f.write("x")
    proc, errp, port = spawn(["--db", db, "--spool", os.path.join(afile, "clicks.spool")], tmp,
                             "outage-badspool")
    rc = stop(proc)
    rep.check(p + "--spool inside a file: exit 1, the message names the path",
              port is None and rc == 1 and "a-file/clicks.spool" in read(errp)
              and not harness.sanitizer_report(read(errp)), "exit %s, %r" % (rc, read(errp)[-300:]))
    procs = []
    try:
        mine = os.path.join(tmp, "mine.spool")
        a = spawn(["--db", db, "--spool", mine, "--spool-max", "64M"], tmp, "outage-a")
        procs.append(a[0])
        b = spawn(["--db", db, "--spool", mine], tmp, "outage-b")
        procs.append(b[0])
        rc = stop(b[0])
        rep.check(p + "a second server on the same --spool: exit 1, \"in use by another "
                  "process\"", a[2] and b[2] is None and rc == 1
                  and "in use by another process" in read(b[1]),
                  "first port %s, second exit %s: %r" % (a[2], rc, read(b[1])[-300:]))
        status, _, doc = get(a[2] or 9, "/healthz")
        spool = (doc or {}).get("spool", {})
        rep.check(p + "/healthz: spool enabled, depth 0, max_bytes as --spool-max 64M",
                  status == 200 and spool.get("enabled") is True and spool.get("depth") == 0
                  and spool.get("max_bytes") == 64 << 20 and
                  (doc or {}).get("clicks", {}).get("spooled") == 0, "%s %s" % (status, doc))
        c = spawn(["--db", db], tmp, "outage-c")
        procs.append(c[0])
        d = spawn(["--db", db], tmp, "outage-d")
        procs.append(d[0])
        rep.check(p + "two servers in one folder without --spool: both start, on "
                  "var/spool/clicks.spool and clicks-2.spool",
                  c[2] and d[2] and "var/spool/clicks.spool:" in read(c[1])
                  and "var/spool/clicks-2.spool:" in read(d[1]),
                  "ports %s %s; %r; %r" % (c[2], d[2], read(c[1])[-200:], read(d[1])[-200:]))
        e = spawn(["--db", db, "--spool", "off"], tmp, "outage-e")
        procs.append(e[0])
        status, _, doc = get(e[2] or 9, "/healthz")
        rep.check(p + "--spool off: /healthz says the spool is not enabled",
                  status == 200 and (doc or {}).get("spool", {}).get("enabled") is False,
                  "%s %s" % (status, doc))
    finally:
        codes = [stop(x) for x in procs]
    rep.check(p + "every server stopped with exit 0 (the one refused: 1)",
              codes == [0, 1, 0, 0, 0], "exit codes %s" % codes)


def test_outage(rep):
    try:
        spool_settings(rep)
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "settings: the checks run", False, "%s: %s" % (type(e).__name__, e))
    if not harness.postgres():
        rep.comment("skipped: outage: the database stopped under load needs the PostgreSQL "
                    "round (TRACKDOC_TEST_DB): it stops and starts a PostgreSQL server of its own")
        return
    pgdir = harness.mkdtemp("outage-pg")
    server = None
    try:
        url = multi.pg_server("start", pgdir)
        server = harness.Server(rep, "outage", ["--rate-limit-api", "0",
                                                "--rate-limit-track", "0"])
        server.db = url
        server.start()
        links = load.make_links(server, "outage")
        got = [0] * len(links)
        other = follow(server, links, len(links), got)  # the server now knows every link
        rep.check(PREFIX + "each link followed once before the outage (302)", not other,
                  "other answers: %s" % other)
        loaded_outage(rep, server, pgdir, links, got)
        server = killed_with_spool(rep, server, pgdir, links, got)
        server.stop()
        rows = multi.click_rows(url, links)
        want = {tid: n for (tid, _), n in zip(links, got)}
        rep.comment("outage: %d 302s received in all, %d click rows"
                    % (sum(want.values()), sum(rows.values())))
        rep.check(PREFIX + "click rows in PostgreSQL equal the 302s the clients received, per "
                  "link: every click exactly once", rows == want,
                  "database %s, clients %s" % (rows, want))
        dup = harness.query(url, "SELECT count(*) - count(DISTINCT click_id) FROM link_clicks")
        rep.check(PREFIX + "no click id is stored twice", dup == [["0"]], "%s" % dup)
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "the outage test runs", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if server is not None:
            server.stop(check=False)
        try:
            multi.pg_server("stop", pgdir)
        except Exception as e:  # noqa: BLE001
            rep.comment("outage: stopping the test's PostgreSQL server: %s" % e)
