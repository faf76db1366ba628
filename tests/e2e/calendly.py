"""Calendly booking webhooks end to end: POST /webhooks/calendly with bodies signed here (HMAC-
SHA256 with a known key, as Calendly signs them) and GET /api/link-tracking/conversions.

A booking made through a tracked link (its tracking_id as utm_content, as the redirect hands it
to Calendly) is attributed to that link's job and application; a booking with only a known
application as utm_campaign is attributed by campaign; one without tracking is kept,
unattributed. A bad signature, a stale or future timestamp, a missing header or a tampered body
answer 401 with one and the same body; a signed body that cannot be read answers 400; neither
stores anything. The same event delivered twice is one row, both answered 200. A cancellation
after a booking shows the booking canceled. What is stored is read from the server's database
(the SQLite file read-only, after the server stopped), as a user inspecting it would."""

import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import time

import harness

PREFIX = "calendly: "
KEY = "e2e-calendly-signing-key-7Hq2xZ"
JOB = "7c0a1000-0000-4000-8000-000000000001"
APP = "7c0a1000-0000-4000-8000-000000000002"
JOB2 = "7c0a1000-0000-4000-8000-000000000003"
APP2 = "7c0a1000-0000-4000-8000-000000000004"
EV = "https://api.calendly.com/scheduled_events/E2E%s"
INV = "https://api.calendly.com/scheduled_events/E2E%s/invitees/I%s"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sign(body, key=KEY, t=None):
    """The Calendly-Webhook-Signature of body (bytes) at unix time t."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(key.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def event(kind, n, tracking=None, email="rita.recruiter@example.com", **extra):
    """A Calendly webhook body (bytes) about invitee n."""
    payload = {"uri": INV % (n, n), "email": email, "name": "Rita Recruiter",
               "status": "canceled" if kind == "invitee.canceled" else "active",
               "rescheduled": False, "old_invitee": None, "new_invitee": None,
               "questions_and_answers": [], "cancel_url": "https://calendly.com/cancellations/x",
               "scheduled_event": {"uri": EV % n, "name": "30 Minute Interview",
                                   "start_time": "2031-05-06T14:00:00.000000Z",
                                   "end_time": "2031-05-06T14:30:00.000000Z",
                                   "location": {"type": "zoom"}},
               "tracking": dict({"utm_campaign": None, "utm_source": None, "utm_medium": None,
                                 "utm_content": None, "utm_term": None,
                                 "salesforce_uuid": None}, **(tracking or {}))}
    payload.update(extra)
    return json.dumps({"event": kind, "created_at": "2031-05-01T09:00:00.000000Z",
                       "created_by": "https://api.calendly.com/users/U", "payload": payload},
                      separators=(",", ":")).encode()


def post(server, body, sig=None, headers=None):
    """POST /webhooks/calendly; sig None: no signature header. Returns (status, json or {})."""
    h = {"Content-Type": "application/json"}
    if sig is not None:
        h["Calendly-Webhook-Signature"] = sig
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/webhooks/calendly", body=body, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, {"raw": raw[:200]}


def post_head(server, length):
    """Sends only the head of a POST /webhooks/calendly announcing length bytes; returns the
    status of the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", "/webhooks/calendly")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def api(server, method, path, body=None, auth=True):
    """One API call; returns (status, headers lower-case, json or {})."""
    h = {"Authorization": "Bearer %s" % server.key} if auth else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    try:
        return resp.status, hdrs, json.loads(raw)
    except ValueError:
        return resp.status, hdrs, {}


def make_link(server, job, app):
    st, _, body = api(server, "POST", "/api/link-tracking/create",
                      {"original_url": "https://calendly.com/jane-e2e/30min",
                       "link_function": "Calendly", "job_id": job, "application_id": app,
                       "link_type": "resume"})
    if st not in (200, 201):
        raise RuntimeError("create failed: %d %s" % (st, body))
    return body["tracking_id"]


def rows(db):
    """The stored conversions, oldest first."""
    cols = ("invitee_uri", "event_type", "tracking_id", "job_id", "application_id",
            "link_function", "attribution", "utm_content", "utm_campaign", "invitee_email",
            "invitee_hash", "event_name")
    got = harness.query(db, "SELECT %s FROM link_conversions ORDER BY received_at, conversion_id"
                        % ", ".join("coalesce(CAST(%s AS TEXT), '')" % c for c in cols))
    return [dict(zip(cols, r)) for r in got]


def test_calendly(rep):
    def check(name, ok, detail=""):
        return rep.check(PREFIX + name, ok, detail)

    s = harness.Server(rep, "calendly", ["--rate-limit-api", "0", "--rate-limit-track", "0"],
                       env={"TRACKDOC_CALENDLY_SIGNING_KEY": KEY})
    try:
        s.start()
    except Exception as e:  # noqa: BLE001 - a start failure is one failed check
        check("the server starts", False, e)
        return
    try:
        scenario(s, check)
    finally:
        s.stop()
    stored(s, check)
    other_servers(rep, check)


def scenario(s, check):
    tid = make_link(s, JOB, APP)
    make_link(s, JOB2, APP2)

    # The redirect hands the tracking to Calendly; a booking there sends it back.
    st, hdrs, _ = api(s, "GET", "/track/%s" % tid, auth=False)
    loc = hdrs.get("location", "")
    check("the redirect to Calendly carries utm_content=<tracking_id>",
          st == 302 and "utm_content=%s" % tid in loc, (st, loc))
    query = dict(p.split("=", 1) for p in loc.split("?", 1)[-1].split("&") if "=" in p)
    tracking = {k: v for k, v in query.items() if k.startswith("utm_")}
    tracking.setdefault("utm_content", tid)

    body = event("invitee.created", 1, tracking)
    st, out = post(s, body, sign(body))
    check("a signed booking is recorded (200)", st == 200 and out.get("status") == "recorded",
          (st, out))
    check("it is attributed by tracking_id", out.get("attribution") == "tracking_id", out)
    st, again = post(s, body, sign(body))
    check("the same event again (a retry, signed anew): 200, not stored twice",
          st == 200 and again.get("status") == "duplicate"
          and again.get("conversion_id") == out.get("conversion_id"), (st, again))

    # Refusals: one and the same 401 body, whatever was wrong; nothing stored.
    bad = event("invitee.created", 90, tracking)
    now = int(time.time())
    tampered = bad.replace(b"Rita", b"Rito")
    answers = {
        "a signature made with another key": post(s, bad, sign(bad, key="not-the-key")),
        "a timestamp 10 minutes old": post(s, bad, sign(bad, t=now - 600)),
        "a timestamp 10 minutes ahead": post(s, bad, sign(bad, t=now + 600)),
        "no signature header": post(s, bad),
        "a malformed signature header": post(s, bad, "v1=%s" % ("0" * 64)),
        "a body changed after signing": post(s, tampered, sign(bad)),
    }
    for what, (st, err) in answers.items():
        check("%s: 401 invalid_signature" % what,
              st == 401 and err.get("error", {}).get("code") == "invalid_signature", (st, err))
    bodies = {json.dumps(err, sort_keys=True) for _, err in answers.values()}
    check("every signature failure gets the same body (it does not say which part failed)",
          len(bodies) == 1, bodies)

    # Signed but unreadable: 400 with the JSON error; nothing stored.
    for what, text, code, field in (
            ("not JSON", b"{\"event\": \"invitee.created\", ", "invalid_json", None),
            ("no payload", b"{\"event\":\"invitee.created\"}", "invalid_payload", "/payload"),
            ("no invitee URI", b"{\"event\":\"invitee.created\",\"payload\":{\"email\":\"a@b\"}}",
             "invalid_payload", "/payload/uri"),
            ("tracking not an object",
             event("invitee.created", 91).replace(b"\"tracking\":{", b"\"tracking\":\"x\",\"t\":{"),
             "invalid_payload", "/payload/tracking")):
        st, err = post(s, text, sign(text))
        e = err.get("error", {})
        check("a signed body with %s: 400 %s" % (what, code),
              st == 400 and e.get("code") == code and e.get("field") == field
              and e.get("message"), (st, err))

    body = json.dumps({"event": "routing_form_submission.created", "payload": {}}).encode()
    st, out = post(s, body, sign(body))
    check("another event type: 200 ignored (so that Calendly does not retry)",
          st == 200 and out.get("status") == "ignored", (st, out))

    # A cancellation after the booking.
    body = event("invitee.canceled", 1, tracking)
    st, out = post(s, body, sign(body))
    check("its cancellation is recorded (200)", st == 200 and out.get("status") == "recorded",
          (st, out))

    # Campaign only, and no tracking at all.
    body = event("invitee.created", 2, {"utm_campaign": APP2, "utm_source": "newsletter"})
    st, out = post(s, body, sign(body))
    check("a booking whose only known value is the application as utm_campaign: attributed "
          "by campaign", st == 200 and out.get("attribution") == "campaign", (st, out))
    body = event("invitee.created", 3, None, email="someone@example.org")
    st, out = post(s, body, sign(body))
    check("a booking without tracking is kept, unattributed",
          st == 200 and out.get("status") == "recorded" and out.get("attribution") == "none",
          (st, out))

    # A body over the 64 KiB of other routes: long answers to booking questions.
    qa = [{"question": "Q%d" % i, "answer": "x" * 10000, "position": i} for i in range(10)]
    body = event("invitee.created", 4, {"utm_content": tid}, questions_and_answers=qa)
    st, out = post(s, body, sign(body))
    check("a signed booking of %d KiB is recorded" % (len(body) // 1024),
          st == 200 and out.get("status") == "recorded", (st, out))
    st = post_head(s, (1 << 20) + 1)
    check("a body over 1 MiB: 413 before it is read", st == 413, st)

    listing(s, check, tid)
    analytics(s, check, tid)


def raw_get(server, path):
    """A GET with the API key; returns (status, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer %s" % server.key})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def analytics(s, check, tid):
    """The bookings just delivered, as the summaries, the report's funnel, CSV and stats show."""
    L = "/api/link-tracking"
    _, _, every = api(s, "GET", "%s/conversions?limit=100" % L)
    convs = every.get("conversions") or []
    total = (every.get("summary") or {}).get("bookings")
    unattributed = sum(1 for c in convs if c.get("event_type") == "invitee.created"
                       and not c.get("job_id") and not c.get("old_invitee"))
    _, _, by_link = api(s, "GET", "%s/conversions?tracking_id=%s" % (L, tid))
    link_books = (by_link.get("summary") or {}).get("bookings")
    link_cancels = (by_link.get("summary") or {}).get("cancellations")

    st, _, out = api(s, "GET", "%s/analytics/%s" % (L, tid))
    bs = out.get("booking_statistics") or {}
    check("analytics of the link: its bookings and cancellation (by tracking_id)",
          st == 200 and link_books and bs.get("bookings") == link_books
          and bs.get("cancellations") == link_cancels == 1, (st, bs, link_books))
    st, _, out = api(s, "GET", "%s/jobs/%s/summary" % (L, JOB))
    link = [x for x in out.get("links") or [] if x.get("tracking_id") == tid]
    check("job summary: 2 bookings and 1 cancellation; the link and its function carry theirs",
          st == 200 and out.get("bookings") == 2 and out.get("cancellations") == 1
          and link and link[0].get("bookings") == link_books
          and (out.get("by_function") or {}).get("Calendly", {}).get("bookings") == link_books,
          (st, out.get("bookings"), out.get("cancellations"), link))
    st, _, out = api(s, "GET", "%s/applications/%s/summary" % (L, APP2))
    check("application summary: the booking attributed by campaign counts for it",
          st == 200 and out.get("bookings") == 1, (st, out.get("bookings")))
    st, _, out = api(s, "GET", "%s/report?days=1" % L)
    fu = out.get("funnel") or {}
    check("report: today's bookings in overall_statistics",
          st == 200 and (out.get("overall_statistics") or {}).get("bookings") == total,
          (st, out.get("overall_statistics"), total))
    check("report funnel: every booking, the unattributed ones apart, Calendly's through links",
          fu.get("period") == "all_time" and fu.get("bookings") == total
          and fu.get("unattributed_bookings") == unattributed >= 1
          and any(f.get("link_function") == "Calendly" and f.get("bookings") >= link_books
                  for f in fu.get("by_function") or [])
          and any(j.get("job_id") == JOB and j.get("bookings") == 2 and j.get("booked")
                  for j in fu.get("jobs") or []), fu)
    st, body = raw_get(s, "%s/report?days=1&format=csv" % L)
    check("report CSV: booking columns, the funnel rows, unattributed bookings",
          st == 200 and body.startswith(
              "section,key,clicks,human_clicks,documents,bookings,cancellations\r\n")
          and ("\r\nfunnel,unattributed,,,,%d,\r\n" % unattributed) in body
          and ("\r\nfunnel_job,%s,,0,0,2,1\r\n" % JOB) in body, body[-600:])
    st, body = raw_get(s, "%s/jobs/%s/summary?format=csv" % (L, JOB))
    check("job CSV: bookings and cancellations columns",
          st == 200 and "last_human_click,bookings,cancellations\r\n" in body
          and (",%d,1\r\n" % link_books) in body, body[:600])
    r = s.cli("stats", "--job", JOB, "--db", s.db)
    check("trackdoc stats --job prints the bookings",
          r.returncode == 0 and re.search(r"\nbookings +2\ncancellations +1\n", r.stdout)
          and re.search(r"FUNCTION +LINKS +CLICKS +HUMAN +BOOKINGS", r.stdout),
          (r.returncode, r.stdout[:800], r.stderr[:300]))
    r = s.cli("stats", "--days", "1", "--db", s.db)
    check("trackdoc stats prints the funnel with the unattributed bookings",
          r.returncode == 0 and re.search(r"Funnel \(all time\)\n", r.stdout)
          and re.search(r"\nbookings +%d\n" % total, r.stdout)
          and re.search(r"\nunattributed +%d\n" % unattributed, r.stdout),
          (r.returncode, r.stdout[-800:], r.stderr[:300]))


def listing(s, check, tid):
    L = "/api/link-tracking/conversions"
    st, _, out = api(s, "GET", "%s?job_id=%s" % (L, JOB))
    convs = out.get("conversions") or []
    check("the listing of the job: its 3 rows, newest first",
          st == 200 and [c.get("invitee_uri") for c in convs]
          == [INV % (4, 4), INV % (1, 1), INV % (1, 1)]
          and [c.get("event_type") for c in convs][1:] == ["invitee.canceled", "invitee.created"],
          (st, [(c.get("invitee_uri"), c.get("event_type")) for c in convs]))
    booked = next((c for c in convs if c.get("invitee_uri") == INV % (1, 1)
                   and c.get("event_type") == "invitee.created"), {})
    check("the canceled booking shows booking_status canceled and when",
          booked.get("booking_status") == "canceled" and booked.get("canceled_at"), booked)
    check("a row carries its link, application, event and utm values, and no address",
          booked.get("tracking_id") == tid and booked.get("application_id") == APP
          and booked.get("event_name") == "30 Minute Interview"
          and booked.get("scheduled_start") == "2031-05-06T14:00:00.000Z"
          and (booked.get("utm") or {}).get("content") == tid
          and booked.get("invitee_email") is None
          and HEX64.match(booked.get("invitee_hash") or ""), booked)
    check("the summary of the job: 2 bookings, 1 cancellation, 1 active",
          out.get("summary") == {"bookings": 2, "cancellations": 1, "reschedules": 0,
                                 "active": 1}, out.get("summary"))
    st, _, out = api(s, "GET", "%s?application_id=%s" % (L, APP2))
    check("by application: the booking attributed by campaign, with its job",
          st == 200 and len(out.get("conversions") or []) == 1
          and out["conversions"][0].get("job_id") == JOB2
          and out["conversions"][0].get("attribution") == "campaign", (st, out))
    st, _, out = api(s, "GET", "%s?tracking_id=%s&event_type=invitee.canceled" % (L, tid))
    check("by link and event type", st == 200 and out.get("count") == 1, (st, out))
    seen, cursor, pages = [], None, 0
    while pages < 10:
        st, _, out = api(s, "GET", "%s?limit=2%s" % (L, "&cursor=" + cursor if cursor else ""))
        if st != 200:
            break
        seen += [c["conversion_id"] for c in out.get("conversions") or []]
        pages += 1
        cursor = out.get("next_cursor")
        if not cursor:
            break
    check("pages of 2 walk all 5 rows once", st == 200 and len(seen) == 5 and len(set(seen)) == 5
          and pages == 3, (st, pages, seen))
    st, _, out = api(s, "GET", L)
    check("the summary of everything: 4 bookings, 1 cancellation, 3 active",
          out.get("summary") == {"bookings": 4, "cancellations": 1, "reschedules": 0,
                                 "active": 3}, out.get("summary"))
    for what, path, code in (("a job_id that is not a UUID", L + "?job_id=42", 400),
                             ("a malformed tracking_id", L + "?tracking_id=x%20y", 400),
                             ("an unknown event_type", L + "?event_type=invitee.updated", 400),
                             ("limit 0", L + "?limit=0", 400),
                             ("a cursor this server did not give", L + "?cursor=abc", 400)):
        st, _, out = api(s, "GET", path)
        check("the listing with %s: %d" % (what, code),
              st == code and out.get("error", {}).get("code"), (st, out))
    st, _, out = api(s, "GET", L, auth=False)
    check("the listing needs an API key: 401", st == 401, (st, out))
    st, hdrs, out = api(s, "GET", "/webhooks/calendly", auth=False)
    check("GET /webhooks/calendly: 405, Allow: POST", st == 405 and hdrs.get("allow") == "POST",
          (st, hdrs.get("allow")))


def stored(s, check):
    got = rows(s.db)
    check("5 rows stored: the booking, its cancellation, by campaign, unattributed, the long one",
          [(r["invitee_uri"], r["event_type"]) for r in got]
          == [(INV % (1, 1), "invitee.created"), (INV % (1, 1), "invitee.canceled"),
              (INV % (2, 2), "invitee.created"), (INV % (3, 3), "invitee.created"),
              (INV % (4, 4), "invitee.created")],
          [(r["invitee_uri"], r["event_type"]) for r in got])
    check("nothing from a refused or unreadable request is stored",
          not any("E2E9" in r["invitee_uri"] for r in got), got)
    by = {(r["invitee_uri"], r["event_type"]): r for r in got}
    first = by.get((INV % (1, 1), "invitee.created"), {})
    cancel = by.get((INV % (1, 1), "invitee.canceled"), {})
    check("the booking's row: tracking_id, job, application, function, attribution",
          first.get("job_id") == JOB and first.get("application_id") == APP
          and first.get("link_function") == "Calendly"
          and first.get("attribution") == "tracking_id" and first.get("tracking_id")
          and first.get("event_name") == "30 Minute Interview", first)
    check("no address is stored by default; its hash is (64 hex), the same in both events",
          all(r["invitee_email"] == "" for r in got) and HEX64.match(first.get("invitee_hash", ""))
          and first.get("invitee_hash") == cancel.get("invitee_hash"), got)
    camp = by.get((INV % (2, 2), "invitee.created"), {})
    check("the campaign row: the application and the job of its link, no tracking_id",
          camp.get("attribution") == "campaign" and camp.get("application_id") == APP2
          and camp.get("job_id") == JOB2 and camp.get("tracking_id") == "", camp)
    none = by.get((INV % (3, 3), "invitee.created"), {})
    check("the unattributed row: no job, no application",
          none.get("attribution") == "none" and none.get("job_id") == ""
          and none.get("application_id") == "", none)
    check("the signing key appears nowhere in the server's output", KEY not in s.stderr(),
          "found in stderr")


def other_servers(rep, check):
    # No key: the route says it is not configured.
    n = harness.Server(rep, "calendly-nokey", ["--rate-limit-api", "1"])
    try:
        n.start()
        body = event("invitee.created", 5)
        st, out = post(n, body, sign(body))
        check("without a signing key: 503 not_configured",
              st == 503 and out.get("error", {}).get("code") == "not_configured", (st, out))
        statuses = []
        for _ in range(40):
            st, _ = post(n, body, sign(body))
            statuses.append(st)
            if st == 429:
                break
        check("the webhook is rate-limited like /api: 429 once the bucket is empty",
              statuses[-1] == 429, statuses)
    except Exception as e:  # noqa: BLE001
        check("the server without a key starts", False, e)
    finally:
        n.stop()

    # The key from a file, and addresses kept.
    d = harness.mkdtemp("calendly-key")
    path = os.path.join(d, "calendly.key")
    with open(path, "w") as f:
        f.write(KEY + "\n")
    k = harness.Server(rep, "calendly-keyfile", ["--calendly-signing-key-file", path],
                       env={"TRACKDOC_CALENDLY_STORE_EMAIL": "true",
                            "TRACKDOC_CALENDLY_TOLERANCE": "15m"})
    try:
        k.start()
        body = event("invitee.created", 6, email="Kept@Example.com")
        st, out = post(k, body, sign(body))
        check("the key read from --calendly-signing-key-file verifies (trailing newline "
              "dropped)", st == 200 and out.get("status") == "recorded", (st, out))
        body = event("invitee.created", 7)
        st, out = post(k, body, sign(body, t=int(time.time()) - 600))
        check("TRACKDOC_CALENDLY_TOLERANCE=15m accepts a signature 10 minutes old",
              st == 200 and out.get("status") == "recorded", (st, out))
    except Exception as e:  # noqa: BLE001
        check("the server with a key file starts", False, e)
    finally:
        k.stop()
    got = rows(k.db)
    check("TRACKDOC_CALENDLY_STORE_EMAIL=true keeps the address, and its hash",
          len(got) == 2 and got[0]["invitee_email"] == "Kept@Example.com"
          and HEX64.match(got[0]["invitee_hash"]), got)

    r = harness.run_cli(["serve", "--listen", "127.0.0.1:0", "--db", os.path.join(d, "x.db"),
                         "--calendly-signing-key-file", os.path.join(d, "missing.key")])
    check("serve with a key file that does not exist: exit 2 naming the flag",
          r.returncode == 2 and "--calendly-signing-key-file" in r.stderr, (r.returncode,
                                                                            r.stderr[-300:]))
    env = harness.child_env()
    env["TRACKDOC_CALENDLY_TOLERANCE"] = "0s"
    p = subprocess.run([harness.trackdoc_bin(), "serve", "--listen", "127.0.0.1:0", "--db",
                        os.path.join(d, "x.db")], capture_output=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode(errors="replace")
    check("TRACKDOC_CALENDLY_TOLERANCE=0s: exit 2 naming the variable",
          p.returncode == 2 and "TRACKDOC_CALENDLY_TOLERANCE" in err, (p.returncode, err[-300:]))
    empty = os.path.join(d, "empty.key")
    open(empty, "w").close()
    r = harness.run_cli(["serve", "--listen", "127.0.0.1:0", "--db", os.path.join(d, "x.db"),
                         "--calendly-signing-key-file", empty])
    check("serve with an empty key file: exit 2 saying so",
          r.returncode == 2 and "empty" in r.stderr, (r.returncode, r.stderr[-300:]))
