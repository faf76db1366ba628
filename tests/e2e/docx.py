"""Word documents end to end: the built-in .docx templates rendered by `trackdoc render` for a
job, opened by LibreOffice (converted to text), their hyperlinks tracked, and a tracked link
followed through a real server to the original URL. Expected texts come from the sample data
(tests/data/model/), not from trackdoc's output."""

import http.client
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import zipfile

import harness
from declarative import REPO

# Fixtures checked through LibreOffice: tests/data/docx/NAME.docx, NAME.data.json, NAME.expect.
FIXTURES = ["split_runs", "table", "nested", "inline", "headers", "resume"]
JOB = "6a1f0c2e-7b3d-4e5f-9a8b-0000000d0c01"
APP = "6a1f0c2e-7b3d-4e5f-9a8b-0000000d0c02"
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
TRACKED_RE = re.compile(r"^http://127\.0\.0\.1:8080/track/(lt_[a-z0-9-]+_[0-9A-Za-z]{14})$")


def sample(name):
    with open(os.path.join(REPO, "tests", "data", "model", name), encoding="utf-8") as f:
        return json.load(f)


def soffice_text(rep, tmp, docs):
    """Converts the documents to plain text with LibreOffice in one run; returns {path: text}
    or None (reported) when LibreOffice is missing or fails."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        rep.check("docx: LibreOffice (soffice) is installed (scripts/install-deps.sh)", False,
                  "soffice not found", always=True)
        return None
    out = os.path.join(tmp, "txt")
    profile = "file://" + os.path.join(tmp, "lo-profile")
    try:
        p = subprocess.run([exe, "--headless", "--norestore", "-env:UserInstallation=" + profile,
                            "--convert-to", "txt:Text (encoded):UTF8", "--outdir", out] + docs,
                           capture_output=True, timeout=240)
    except subprocess.TimeoutExpired:
        rep.check("docx: LibreOffice converts the documents", False, "timed out", always=True)
        return None
    texts = {}
    for d in docs:
        txt = os.path.join(out, os.path.splitext(os.path.basename(d))[0] + ".txt")
        if os.path.exists(txt):
            with open(txt, encoding="utf-8-sig", errors="replace") as f:
                texts[d] = f.read()
    if len(texts) != len(docs):
        rep.check("docx: LibreOffice converts every document", False,
                  "exit %s, converted %d of %d: %s" % (p.returncode, len(texts), len(docs),
                                                       p.stderr.decode()[-300:]), always=True)
    return texts


def in_order(text, needles):
    """Returns the first needle not found after the previous one, or None."""
    at = 0
    flat = re.sub(r"\s+", " ", text)
    for n in needles:
        i = flat.find(re.sub(r"\s+", " ", n), at)
        if i < 0:
            return n
        at = i + len(n)
    return None


def hyperlink_targets(path):
    """Returns the external hyperlink targets of word/document.xml."""
    with zipfile.ZipFile(path) as z:
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
    targets = []
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        tag = m.group(0)
        if HYPERLINK in tag:
            t = re.search(r'Target="([^"]*)"', tag)
            targets.append(t.group(1).replace("&amp;", "&") if t else None)
    return targets


def expected_resume(d):
    """What a reader must see, in order, from the sample résumé (API shape)."""
    out = [d["personal"]["full_name"], d["target_position"], d["personal"]["email"],
           d["professional_summary"][:60]]
    for e in d["experience"]:
        out += [e["title"], e["company"]]
        for line in e["description"].split("\n"):
            line = line.strip().lstrip("-*• ").strip()
            if line:
                out.append(line[:50])
    for e in d["education"]:
        out += [e["degree"], e["institution"]]
    return out


def expected_letter(d):
    c = d["content"]
    return ([d["personal"]["full_name"], d["recipient"]["name"], d["recipient"]["company"],
             c["opening_paragraph"][:60]] + [p[:60] for p in c["body_paragraphs"]]
            + [c["closing_paragraph"][:60]])


def test_docx(rep):
    prefix = "docx: "
    tmp = harness.mkdtemp("docx")
    db = os.path.join(tmp, "db", "trackdoc.db")
    resume, letter = sample("sample_resume.json"), sample("sample_cover_letter.json")
    data = {"resume": os.path.join(REPO, "tests/data/model/sample_resume.json"),
            "letter": os.path.join(REPO, "tests/data/model/sample_cover_letter.json")}
    tpl = {"resume": os.path.join(REPO, "templates/resume.docx"),
           "letter": os.path.join(REPO, "templates/cover_letter.docx")}
    outs = {}
    for kind in ("resume", "letter"):
        for tracked in (True, False):
            out = os.path.join(tmp, "%s-%s.docx" % (kind, "job" if tracked else "plain"))
            argv = ["render", tpl[kind], "--data", data[kind], "--db", db, "-o", out]
            if tracked:
                argv += ["--job-id", JOB, "--application-id", APP]
            r = harness.run_cli(argv, timeout=120)
            rep.check(prefix + "render %s %s: exit 0, a .docx written" % (
                os.path.basename(tpl[kind]), "for a job" if tracked else "without a job"),
                r.returncode == 0 and os.path.exists(out),
                "exit %s: %s" % (r.returncode, r.stderr.strip()[:300]))
            report = harness.sanitizer_report(r.stderr)
            rep.check(prefix + "render has no sanitizer report", report is None, report)
            outs[(kind, tracked)] = out

    # Hyperlinks: tracked for the job, the candidate's own URLs without one.
    originals = {resume["personal"]["linkedin_url"], letter["personal"]["linkedin_url"]}
    for key in ("calendly_url", "portfolio_url"):
        for d in (resume, letter):
            if d.get(key):
                originals.add(d[key])
    tracked_ids = []
    for (kind, tracked), out in outs.items():
        if not os.path.exists(out):
            continue
        targets = hyperlink_targets(out)
        if tracked:
            bad = [t for t in targets if not (t and TRACKED_RE.match(t))]
            rep.check(prefix + "%s for a job: every hyperlink is a tracked link" % kind,
                      targets and not bad, "targets %s" % targets)
            tracked_ids += [TRACKED_RE.match(t).group(1) for t in targets
                            if t and TRACKED_RE.match(t)]
        else:
            bad = [t for t in targets if t not in originals]
            rep.check(prefix + "%s without a job: hyperlinks are the candidate's URLs" % kind,
                      targets and not bad, "targets %s, expected among %s" % (targets,
                                                                             sorted(originals)))

    # A finished document turned into a template with the CSV mapping, then rendered.
    conv = os.path.join(tmp, "converted.docx")
    conv_out = os.path.join(tmp, "converted-rendered.docx")
    conv_data = os.path.join(tmp, "converted.json")
    with open(conv_data, "w", encoding="utf-8") as f:
        json.dump({"personal": {"full_name": "Ada Byron", "email": "ada@example.org"}}, f)
    r = harness.run_cli(["template", "convert", os.path.join(REPO, "tests/data/docx/convert.docx"),
                         "--map", os.path.join(REPO, "tests/data/docx/convert_map.csv"),
                         "-o", conv, "--json"])
    summary = json.loads(r.stdout) if r.returncode == 0 else {}
    rep.check(prefix + "template convert applies 4 of 5 mapping rows (the name 4 times: 3 in the body, split runs included, 1 in the header)",
              r.returncode == 0 and summary.get("rows") == 5 and summary.get("rows_not_found") == 1
              and [m["found"] for m in summary.get("mapping", [])] == [4, 1, 2, 1, 0],
              "exit %s: %s %s" % (r.returncode, r.stdout[:400], r.stderr[:200]))
    r = harness.run_cli(["render", conv, "--data", conv_data, "--model", "none", "-o", conv_out])
    rep.check(prefix + "the converted template renders", r.returncode == 0,
              "exit %s: %s" % (r.returncode, r.stderr[:300]))

    # The fixtures built for the tests (tests/data/docx/make_fixtures.py): each rendered with its
    # data; what LibreOffice shows must hold the lines of its .expect file, in order.
    fixtures = {}
    for name in FIXTURES:
        out = os.path.join(tmp, "fixture-%s.docx" % name)
        base = os.path.join(REPO, "tests", "data", "docx", name)
        r = harness.run_cli(["render", base + ".docx", "--data", base + ".data.json",
                             "--model", "none", "-o", out])
        rep.check(prefix + "fixture %s renders" % name, r.returncode == 0,
                  "exit %s: %s" % (r.returncode, r.stderr[:300]))
        with open(base + ".expect", encoding="utf-8") as f:
            fixtures[out] = (name, [line for line in f.read().split("\n") if line])

    # A Word template under another name (.dotx) is still a Word template: told by its content.
    dotx = os.path.join(tmp, "letter.dotx")
    dotx_out = os.path.join(tmp, "from-dotx.docx")
    shutil.copyfile(os.path.join(REPO, "tests/data/docx/split_runs.docx"), dotx)
    r = harness.run_cli(["render", dotx, "--data",
                         os.path.join(REPO, "tests/data/docx/split_runs.data.json"),
                         "--model", "none", "-o", dotx_out])
    ok = r.returncode == 0 and zipfile.is_zipfile(dotx_out)
    if ok:
        with zipfile.ZipFile(dotx_out) as z:
            ok = b"Ada" in z.read("word/document.xml") and b"{{" not in z.read("word/document.xml")
    rep.check(prefix + "a .docx named .dotx is rendered as a Word document, not copied as text",
              ok, "exit %s: %s" % (r.returncode, r.stderr[:300]))

    # LibreOffice opens every output; the text a reader sees is the sample's, in order.
    docs = [o for o in list(outs.values()) + [conv, conv_out] + list(fixtures)
            if os.path.exists(o)]
    texts = soffice_text(rep, tmp, docs) if docs else None
    if texts is not None:
        for (kind, tracked), out in outs.items():
            want = expected_resume(resume) if kind == "resume" else expected_letter(letter)
            text = texts.get(out, "")
            missing = in_order(text, want)
            rep.check(prefix + "LibreOffice opens the %s (%s) and shows the data in order" % (
                kind, "job" if tracked else "plain"), text and missing is None,
                "missing %r in %r" % (missing, text[:400]))
            rep.check(prefix + "%s (%s): no {{tag}} left in the text" % (
                kind, "job" if tracked else "plain"), "{{" not in text and "}}" not in text,
                re.findall(r"\{\{[^}]*\}\}", text)[:5])

    if texts is not None:
        for out, (name, want) in fixtures.items():
            text = texts.get(out, "")
            missing = in_order(text, want)
            rep.check(prefix + "LibreOffice shows fixture %s as expected (%s.expect)" % (
                name, name), text and missing is None,
                "missing %r in %r" % (missing, text[:400]))
        t = re.sub(r"\s+", " ", texts.get(conv, ""))
        rep.check(prefix + "converted template: tags and static text where the mapping says, "
                  "the discarded text gone",
                  "{{personal.full_name}}" in t and "{{personal.email}}" in t
                  and "Globex, Inc. makes anvils" in t and "CONFIDENTIAL" not in t
                  and "Jane Doe" not in t, t[:400])
        t = re.sub(r"\s+", " ", texts.get(conv_out, ""))
        rep.check(prefix + "converted template rendered: the new values in place",
                  "Ada Byron" in t and "ada@example.org" in t and "{{" not in t, t[:400])

    # A tracked link from the document leads, through a real server, to the original URL.
    if tracked_ids:
        server = harness.Server(rep, "docx", ["--rate-limit-track", "0"], key=False)
        server.db = db
        try:
            server.start()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            cal = [i for i in tracked_ids if i.startswith("lt_calendly_")]
            tid = (cal or tracked_ids)[0]
            conn.request("GET", "/track/" + tid)
            resp = conn.getresponse()
            status, location = resp.status, resp.getheader("Location")
            conn.close()
            # Calendly links carry trackdoc's utm parameters (for booking attribution).
            want = re.compile(r"^%s\?utm_source=trackdoc&utm_medium=calendly&utm_campaign="
                              r"[0-9a-f-]{36}&utm_content=%s$"
                              % (re.escape(resume.get("calendly_url", "")), re.escape(tid)))
            rep.check(prefix + "the tracked Calendly link of the document answers 302 to the "
                      "candidate's Calendly URL, with trackdoc's utm parameters",
                      status == 302 and bool(want.match(location or "")),
                      "status %s, Location %r, expected %r" % (status, location,
                                                               resume.get("calendly_url")))
        finally:
            server.stop()
