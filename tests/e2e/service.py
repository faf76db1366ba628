"""The document service end to end, as the issue asks: a cover letter generated for a job
through the API, opened as a .docx (zipfile) and by LibreOffice, its tracked Calendly link
followed to Calendly, the click recorded for the job and the application and counted by the job
summary; then a server with tracking switched off (original URLs), and one whose database is
read-only, so that the tracker fails (documents still made, original URLs, failures counted).
Expectations come from the payload sent, never from trackdoc's own answers."""

import http.client
import json
import os
import re
import sqlite3
import zipfile

import docx
import harness

PREFIX = "service: "
JOB = "7d1e2f3a-4b5c-4d6e-8f70-000000005e01"
APP = "7d1e2f3a-4b5c-4d6e-8f70-000000005e02"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CALENDLY = "https://calendly.com/zoe-lindqvist/30min"
LINKEDIN = "https://www.linkedin.com/in/zoe-lindqvist/"
PORTFOLIO = "https://zoelindqvist.dev/"


def letter(**extra):
    """The cover-letter payload: the sample letter (API shape) with the job's ids."""
    d = docx.sample("sample_cover_letter.json")
    d["calendly_url"] = CALENDLY
    d.update(extra)
    return d


def request(server, method, path, body=None, headers=None, auth=True):
    """Sends one request; returns (status, {lower-case header: value}, body bytes)."""
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Bearer %s" % server.key
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        h["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def as_json(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


def save(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def hyperlinks(path):
    """The external hyperlink targets of the document body, or None when it is not a .docx."""
    try:
        return docx.hyperlink_targets(path)
    except (zipfile.BadZipFile, KeyError, OSError):
        return None


def clicks_in_db(db, tracking_id):
    """The clicks of a link with its link's job and application, read from the database
    (read-only) after the server stopped."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute(
            "SELECT l.job_id, l.application_id, l.link_function, c.http_method "
            "FROM link_clicks c JOIN link_tracking l ON l.tracking_id = c.tracking_id "
            "WHERE c.tracking_id = ?", (tracking_id,)).fetchall()
    finally:
        con.close()


def test_tracked_letter(rep, tmp):
    """The end-to-end test of the issue; returns the database and key for the read-only run."""
    server = harness.Server(rep, "service", ["--rate-limit-api", "0", "--rate-limit-track", "0"])
    cal_id = None
    docx_path = None
    try:
        server.start()
    except Exception as e:  # noqa: BLE001 - a start failure is one failed check
        rep.check(PREFIX + "server starts", False, e, always=True)
        return server, None
    try:
        status, _, body = request(server, "POST", "/cover-letter",
                                  letter(job_id=JOB, application_id=APP))
        doc = as_json(body) or {}
        rep.check(PREFIX + "POST /cover-letter for a job: 201 with a .docx download URL",
                  status == 201 and doc.get("success") is True
                  and re.match(r"^/download/cover_letter_Zoe_Lindqvist_\d{8}_\d{6}(_\d+)?\.docx$",
                               doc.get("download_url") or ""),
                  "status %s: %s" % (status, body[:300]))
        tracking = doc.get("tracking") or {}
        rep.check(PREFIX + "the answer says three URLs were tracked, none failed",
                  tracking.get("tracking_enabled") is True and tracking.get("urls_tracked") == 3
                  and tracking.get("tracking_failures") == 0, tracking)

        status, hdrs, data = request(server, "GET", doc.get("download_url") or "/download/x")
        rep.check(PREFIX + "GET the download URL: 200, the Word content type, an attachment",
                  status == 200 and hdrs.get("content-type") == DOCX_TYPE
                  and hdrs.get("content-disposition")
                  == 'attachment; filename="%s"' % doc.get("filename"),
                  "status %s, headers %s" % (status, hdrs))
        docx_path = save(tmp, "letter-job.docx", data)
        targets = hyperlinks(docx_path)
        tracked = [t for t in targets or [] if t and docx.TRACKED_RE.match(
            t.replace(server.base, "http://127.0.0.1:8080"))]
        cal = [t for t in tracked if "/track/lt_calendly_" in t]
        rep.check(PREFIX + "the .docx opens (zipfile) and its Calendly hyperlink is a tracked link "
                  "of this server",
                  targets is not None and len(cal) == 1 and cal[0].startswith(server.base + "/track/"),
                  "hyperlink targets %s" % targets)
        rep.check(PREFIX + "no hyperlink of the .docx goes to the original URLs",
                  targets is not None and not {CALENDLY, LINKEDIN, PORTFOLIO} & set(targets),
                  targets)
        if cal:
            cal_id = cal[0].rsplit("/", 1)[1]
            listed = [l for l in tracking.get("links", []) if l.get("variable") == "calendly_url"]
            rep.check(PREFIX + "the hyperlink is the Calendly link the answer lists",
                      listed and listed[0].get("tracking_id") == cal_id
                      and listed[0].get("original_url") == CALENDLY, listed)

            status, hdrs, _ = request(server, "GET", "/track/" + cal_id, auth=False,
                                      headers={"Referer": "https://mail.google.com/"})
            want = ("%s?utm_source=trackdoc&utm_medium=calendly&utm_campaign=%s&utm_content=%s"
                    % (CALENDLY, APP, cal_id))
            rep.check(PREFIX + "GET the tracked link: 302 to the original Calendly URL, with "
                      "the application as utm_campaign and the link as utm_content",
                      status == 302 and hdrs.get("location") == want,
                      "status %s, Location %r" % (status, hdrs.get("location")))

            status, _, body = request(server, "GET", "/api/link-tracking/links/" + cal_id)
            link = as_json(body) or {}
            rep.check(PREFIX + "the link belongs to the job and the application, one click",
                      status == 200 and link.get("job_id") == JOB
                      and link.get("application_id") == APP and link.get("total_clicks") == 1,
                      "status %s: %s" % (status, body[:300]))

            status, _, body = request(server, "GET",
                                      "/api/link-tracking/jobs/%s/summary?include=all" % JOB)
            summary = as_json(body) or {}
            fn = (summary.get("by_function") or {}).get("Calendly") or {}
            rep.check(PREFIX + "the job summary shows one Calendly click",
                      status == 200 and fn.get("clicks") == 1 and summary.get("total_clicks") == 1,
                      "status %s: %s" % (status, body[:400]))
    finally:
        server.stop()
    if cal_id:
        rows = clicks_in_db(server.db, cal_id)
        rep.check(PREFIX + "the database holds one click of the Calendly link, for the job and "
                  "the application", rows == [(JOB, APP, "Calendly", "GET")], rows)
    return server, docx_path


def test_libreoffice(rep, tmp, docx_path):
    """LibreOffice opens the generated letter and shows what was sent."""
    if not docx_path or not os.path.exists(docx_path):
        return
    texts = docx.soffice_text(rep, tmp, [docx_path])
    if texts is None:
        return
    text = texts.get(docx_path, "")
    missing = docx.in_order(text, docx.expected_letter(letter()))
    rep.check(PREFIX + "LibreOffice opens the generated .docx and shows the letter in order",
              text and missing is None, "missing %r in %r" % (missing, text[:400]))
    rep.check(PREFIX + "no {{tag}} left in the generated .docx", "{{" not in text,
              re.findall(r"\{\{[^}]*\}\}", text)[:5])


def test_tracking_off(rep, tmp):
    """ENABLE_URL_TRACKING=false: documents keep the candidate's own URLs, even for a job."""
    # with a retention period too: its thread purges at start and must stop cleanly on SIGTERM
    server = harness.Server(rep, "service-untracked", ["--rate-limit-api", "0",
                                                       "--retention-days", "30"])
    old = os.environ.get("ENABLE_URL_TRACKING")
    os.environ["ENABLE_URL_TRACKING"] = "false"
    try:
        server.start()
    except Exception as e:  # noqa: BLE001 - a start failure is one failed check
        rep.check(PREFIX + "tracking off: server starts", False, e, always=True)
        return
    finally:
        if old is None:
            del os.environ["ENABLE_URL_TRACKING"]
        else:
            os.environ["ENABLE_URL_TRACKING"] = old
    try:
        status, _, body = request(server, "POST", "/cover-letter",
                                  letter(job_id=JOB, application_id=APP))
        doc = as_json(body) or {}
        tracking = doc.get("tracking") or {}
        rep.check(PREFIX + "tracking off: 201, tracking_enabled false, nothing tracked",
                  status == 201 and tracking.get("tracking_enabled") is False
                  and tracking.get("urls_tracked") == 0 and tracking.get("tracking_failures") == 0,
                  "status %s: %s" % (status, body[:300]))
        status, _, data = request(server, "GET", doc.get("download_url") or "/download/x")
        targets = hyperlinks(save(tmp, "letter-untracked.docx", data)) if status == 200 else None
        rep.check(PREFIX + "tracking off: the .docx hyperlinks are the original URLs",
                  targets is not None and sorted(targets) == sorted([LINKEDIN, PORTFOLIO, CALENDLY]),
                  "status %s, targets %s" % (status, targets))
        status, _, body = request(server, "GET", "/api/link-tracking/links?job_id=" + JOB)
        links = (as_json(body) or {}).get("links")
        rep.check(PREFIX + "tracking off: no link was made for the job",
                  status == 200 and links == [], "status %s: %s" % (status, body[:200]))
    finally:
        server.stop()


def test_tracker_failing(rep, tmp, first):
    """A read-only database (after a first server made the schema and the key): the tracker
    cannot store links, the document is still made with the original URLs, failures counted."""
    server = harness.Server(rep, "service-readonly", ["--rate-limit-api", "0", "--db-readonly"],
                            key=False)
    server.db = first.db
    server.key = first.key
    try:
        server.start()
    except Exception as e:  # noqa: BLE001
        rep.check(PREFIX + "read-only: server starts on the first server's database", False, e,
                  always=True)
        return
    try:
        app = "7d1e2f3a-4b5c-4d6e-8f70-000000005eff"  # a new context: no link exists for it
        status, hdrs, data = request(server, "POST", "/cover-letter?inline=1",
                                     letter(job_id=JOB, application_id=app))
        rep.check(PREFIX + "read-only: ?inline=1 gives the .docx all the same (200)",
                  status == 200 and hdrs.get("content-type") == DOCX_TYPE
                  and data[:2] == b"PK", "status %s: %s" % (status, data[:200]))
        rep.check(PREFIX + "read-only: the three tracking failures are counted in the headers",
                  hdrs.get("x-trackdoc-tracking-failures") == "3"
                  and hdrs.get("x-trackdoc-urls-tracked") == "0"
                  and hdrs.get("x-trackdoc-stored") == "false", hdrs)
        targets = hyperlinks(save(tmp, "letter-readonly.docx", data)) if status == 200 else None
        rep.check(PREFIX + "read-only: the hyperlinks are the original URLs",
                  targets is not None and sorted(targets) == sorted([LINKEDIN, PORTFOLIO, CALENDLY]),
                  targets)

        status, _, body = request(server, "POST", "/resume?inline=1",
                                  dict(docx.sample("sample_resume.json"), job_id=JOB,
                                       format="txt"))
        text = body.decode("utf-8", "replace")
        rep.check(PREFIX + "read-only: a text résumé too, with the original Calendly URL",
                  status == 200 and docx.sample("sample_resume.json")["calendly_url"] in text
                  and "/track/" not in text, "status %s: %s" % (status, text[:200]))

        status, hdrs, body = request(server, "POST", "/cover-letter",
                                     letter(job_id=JOB, application_id=app))
        err = (as_json(body) or {}).get("error") or {}
        rep.check(PREFIX + "read-only: asking for a download URL answers 503 storage_error "
                  "(nothing can be recorded), pointing at ?inline=1",
                  status == 503 and err.get("code") == "storage_error"
                  and "inline=1" in err.get("message", ""), "status %s: %s" % (status, body[:300]))

        status, _, body = request(server, "GET", "/api/link-tracking/links?job_id=" + JOB)
        links = (as_json(body) or {}).get("links") or []
        rep.check(PREFIX + "read-only: no link was stored for the new application",
                  status == 200 and not [l for l in links if l.get("application_id") == app],
                  "status %s: %s" % (status, body[:200]))
    finally:
        server.stop()


def test_service(rep):
    tmp = harness.mkdtemp("service")
    first, docx_path = test_tracked_letter(rep, tmp)
    test_libreoffice(rep, tmp, docx_path)
    test_tracking_off(rep, tmp)
    if first.key and first.port:
        test_tracker_failing(rep, tmp, first)
