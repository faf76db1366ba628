"""Click truth on the redirect path, end to end: every click gets its 302 whatever made it; the
stored class and reason follow the request (browser with Accept-Language, no Accept-Language,
HEAD, a link preview, a crawler, a burst over several links of one application from one
address, a click right after the link was made); addresses are stored truncated (IPv4 /24,
IPv6 /48) unless --store-full-ip; the visitor hash is the same for one visitor and differs
between visitors. What is stored is read from the server's SQLite file (read-only, Python's
sqlite3) after it stopped: what a user exporting their data would see."""

import http.client
import json
import re
import sqlite3
import time

import harness

PREFIX = "clicktruth: "
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Safari/537.36")
BROWSER_2 = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like "
             "Gecko) Version/17.4 Safari/605.1.15")
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def uid(n):
    return "5c1a0000-0000-4000-8000-%012d" % n


def call(server, method, path, body=None, headers=None, auth=False):
    """One request; returns (status, headers dict lower-case, body bytes)."""
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Bearer %s" % server.key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def make_link(server, job, app, function, url):
    st, _, body = call(server, "POST", "/api/link-tracking/create",
                       {"original_url": url, "link_function": function, "job_id": job,
                        "application_id": app}, auth=True)
    if st not in (200, 201):
        raise RuntimeError("create failed: %d %s" % (st, body[:200]))
    return json.loads(body)["tracking_id"]


def click(server, tid, ua=BROWSER, lang=True, ip=None, method="GET"):
    h = {"User-Agent": ua} if ua is not None else {}
    if lang:
        h["Accept-Language"] = "en-GB,en;q=0.9"
    if ip:
        h["X-Forwarded-For"] = ip
    st, hd, _ = call(server, method, "/track/%s" % tid, headers=h)
    return st, hd.get("location")


def rows(db, tid):
    """The stored clicks of a link, oldest first."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return [dict(zip(("class", "reason", "ip", "visitor", "method", "ua"), r))
                for r in con.execute(
            "SELECT click_class, class_reason, ip_address, visitor_hash, http_method, user_agent "
            "FROM link_clicks WHERE tracking_id = ? ORDER BY clicked_at, click_id", (tid,))]
    finally:
        con.close()


def test_clicktruth(rep):
    def check(name, ok, detail=""):
        return rep.check(PREFIX + name, ok, detail)

    # A: the signals, with too-soon off so that fresh links can be clicked at once, and the
    # client address taken from X-Forwarded-For so that several visitors can be played.
    a = harness.Server(rep, "clicktruth-a", args=["--trust-proxy", "--rate-limit-track", "0"],
                       env={"TRACKDOC_TOO_SOON": "off"}).start()
    url = "https://zoe.dev/30min"  # not Calendly: the Location is the URL itself
    try:
        human = make_link(a, uid(1), uid(2), "Calendly", url)
        signals = make_link(a, uid(3), uid(4), "Calendly", url)
        burst1 = make_link(a, uid(5), uid(6), "Calendly", url)
        burst2 = make_link(a, uid(5), uid(6), "LinkedIn", "https://www.linkedin.com/in/zoe/")
        other_app = make_link(a, uid(5), uid(7), "Portfolio", "https://zoe.dev/")

        res = [click(a, human, ip="203.0.113.77"), click(a, human, ip="203.0.113.77"),
               click(a, human, ua=BROWSER_2, ip="198.51.100.9"),
               click(a, human, ip="2001:db8:1:2::5")]
        check("a person's clicks get their 302 to the original URL",
              all(r == (302, url) for r in res), res)
        res = [click(a, signals, ip="192.0.2.10", lang=False),
               click(a, signals, ip="192.0.2.11", method="HEAD"),
               click(a, signals, ua=SLACK, ip="192.0.2.12", lang=False),
               click(a, signals, ua=GOOGLEBOT, ip="192.0.2.13", lang=False),
               click(a, signals, ua=None, ip="192.0.2.14", lang=False)]
        check("bots, previews, HEAD probes and agent-less requests get their 302 too",
              all(r[0] == 302 for r in res), res)
        # Two links of one application from one address within the burst window (2 s), then
        # a link of another application from that address: only the first two are a burst.
        res = [click(a, burst1, ip="192.0.2.50"), click(a, burst2, ip="192.0.2.50"),
               click(a, other_app, ip="192.0.2.60")]
        check("a burst's clicks get their 302", all(r[0] == 302 for r in res), res)
    finally:
        a.stop()

    got = rows(a.db, human)
    check("a browser with Accept-Language is a human click (reason browser)",
          len(got) == 4 and all(r["class"] == "human" and r["reason"] == "browser" for r in got),
          got)
    check("addresses are stored truncated: IPv4 /24, IPv6 /48",
          sorted(r["ip"] for r in got) == ["198.51.100.0", "2001:db8:1::", "203.0.113.0",
                                           "203.0.113.0"], [r["ip"] for r in got])
    check("every click has a visitor hash (32 hex), never the address",
          all(r["visitor"] and HEX32.match(r["visitor"]) for r in got), got)
    by_ip = {}
    for r in got:
        by_ip.setdefault(r["ip"], set()).add(r["visitor"])
    check("the same address and agent give the same visitor; another address another one",
          len(got) == 4 and len(by_ip.get("203.0.113.0", ())) == 1
          and len({r["visitor"] for r in got}) == 3, got)

    # Clicks of one millisecond have no order: match each click by its user agent and method.
    got = rows(a.db, signals)
    want = {(BROWSER, "GET"): ("bot", "no-accept-language"),
            (BROWSER, "HEAD"): ("scanner", "head-request"),
            (SLACK, "GET"): ("preview", None), (GOOGLEBOT, "GET"): ("bot", None),
            (None, "GET"): ("bot", "no-user-agent")}
    ok = len(got) == len(want)
    for r in got:
        cls, reason = want.get((r["ua"], r["method"]), ("?", "?"))
        ok = ok and r["class"] == cls
        ok = ok and (r["reason"] == reason if reason else (r["reason"] or "").startswith("ua:"))
    check("stored classes: no Accept-Language bot, HEAD scanner, Slackbot preview (ua:...), "
          "Googlebot bot (ua:...), no agent bot", ok, got)

    b1, b2, oth = rows(a.db, burst1), rows(a.db, burst2), rows(a.db, other_app)
    check("a burst: the second link's click is a scanner click (reason burst)",
          len(b2) == 1 and b2[0]["class"] == "scanner" and b2[0]["reason"] == "burst", b2)
    check("a burst: the first click, recorded as human, was reclassified (reason burst)",
          len(b1) == 1 and b1[0]["class"] == "scanner" and b1[0]["reason"] == "burst", b1)
    check("another application's link from another address is not part of the burst",
          len(oth) == 1 and oth[0]["class"] == "human", oth)

    # B: defaults (too-soon on, 5 s) and --store-full-ip.
    b = harness.Server(rep, "clicktruth-b", args=["--trust-proxy", "--store-full-ip"]).start()
    try:
        fresh = make_link(b, uid(8), uid(9), "Calendly", url)
        st = click(b, fresh, ip="203.0.113.77")
        check("a click right after the link was made still gets its 302", st == (302, url), st)
        st, _, body = call(b, "POST", "/api/link-tracking/record-click",
                           {"tracking_id": fresh, "ip_address": "198.51.100.77",
                            "user_agent": GOOGLEBOT}, auth=True)
        check("record-click from another front-end is accepted", st in (200, 201), body[:200])
    finally:
        b.stop()
    got = rows(b.db, fresh)
    check("a click within seconds of the link's creation is a scanner click (too-soon)",
          len(got) == 2 and got[0]["class"] == "scanner" and got[0]["reason"] == "too-soon", got)
    check("--store-full-ip keeps whole addresses",
          [r["ip"] for r in got] == ["203.0.113.77", "198.51.100.77"], got)
    check("record-click judges the user agent it is given (Googlebot: bot)",
          len(got) == 2 and got[1]["class"] == "bot" and (got[1]["reason"] or "").startswith("ua:"),
          got)

    # C: record-click truncates the address it is given, like redirects do.
    c = harness.Server(rep, "clicktruth-c").start()
    try:
        lid = make_link(c, uid(10), uid(11), "Calendly", url)
        time.sleep(0.05)
        st, _, body = call(c, "POST", "/api/link-tracking/record-click",
                           {"tracking_id": lid, "ip_address": "198.51.100.77",
                            "user_agent": BROWSER}, auth=True)
        check("record-click with a browser agent is accepted", st in (200, 201), body[:200])
    finally:
        c.stop()
    got = rows(c.db, lid)
    check("record-click stores the given address truncated to its /24",
          len(got) == 1 and got[0]["ip"] == "198.51.100.0", got)
