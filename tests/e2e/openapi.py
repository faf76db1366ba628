"""docs/openapi.yaml against the live server.

Loads the spec with the yaml module (Debian's python3-yaml), starts its own servers, sends real
requests for every operation of the spec (successes and the main errors), and validates each
answer: its status is documented for the operation, its Content-Type is one of the documented
media types, a JSON body validates against the documented schema (with a small validator of the
JSON Schema subset that OpenAPI 3.0 uses), and documented headers marked required are present
and match their schema. A JSON object may not hold members that its schema does not declare
(unless the schema allows them with additionalProperties): a field the code sends and the spec
does not describe is a failure too. The request bodies the server accepted are validated
against the operation's requestBody.

Then the reverse: every route of src/server/routes.c (parsed from the C table) is in the spec
with the same methods and the same authentication, every operation of the spec was exercised
with at least one 2xx/3xx and one 4xx answer, and every path answers a method it lacks with 405
and an Allow header that lists exactly the spec's methods.

One check per operation and expected status: `ok - openapi: POST /resume 201 matches the spec`.
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import time
import urllib.parse

import docx
import harness
import httpc

PREFIX = "openapi: "
SPEC = os.path.join(harness.ROOT, "docs", "openapi.yaml")
ROUTES_C = os.path.join(harness.ROOT, "src", "server", "routes.c")

METHODS = ["get", "head", "post", "put", "patch", "delete"]
C_METHODS = {"M_GET": "get", "M_HEAD": "head", "M_POST": "post", "M_PUT": "put",
             "M_PATCH": "patch", "M_DELETE": "delete"}

JOB = "0a1b2c3d-4e5f-4a6b-8c7d-00000000ab01"
APP = "0a1b2c3d-4e5f-4a6b-8c7d-00000000ab02"
USER = "0a1b2c3d-4e5f-4a6b-8c7d-00000000ab10"
USER2 = "0a1b2c3d-4e5f-4a6b-8c7d-00000000ab11"
USER3 = "0a1b2c3d-4e5f-4a6b-8c7d-00000000ab12"
NOBODY = "0a1b2c3d-4e5f-4a6b-8c7d-00000000abff"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

FORMATS = {
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}$"),
    "uri": re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$"),
}


# ------------------------------------------------------------------------------- validator

def _describe(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean %s" % ("true" if v else "false")
    if isinstance(v, (int, float)):
        return "number %r" % v
    if isinstance(v, str):
        return "string %r" % (v[:60] + ("..." if len(v) > 60 else ""))
    if isinstance(v, list):
        return "array of %d" % len(v)
    return "object"


def _type_ok(t, v):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    return False


def _same(a, b):
    """JSON equality: true is not 1."""
    return a == b and type(a) is type(b)


def _token(key):
    return str(key).replace("~", "~0").replace("/", "~1")


class Validator:
    """The JSON Schema subset of OpenAPI 3.0: type, nullable, enum, format (date-time, date,
    uuid, uri; loosely), pattern, min/maxLength, minimum/maximum, min/maxItems, items,
    properties, required, additionalProperties, allOf, oneOf, anyOf and $ref (local).

    closed: a member that the schema does not declare is an error unless the schema allows
    others (additionalProperties true or a schema), or declares no properties at all (a
    free-form object). The members of every allOf branch count as declared."""

    def __init__(self, spec, closed):
        self.spec = spec
        self.closed = closed

    def resolve(self, node):
        for _ in range(64):
            if not (isinstance(node, dict) and "$ref" in node):
                return node
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("only local $ref are supported: %s" % ref)
            cur = self.spec
            for part in ref[2:].split("/"):
                cur = cur[part.replace("~1", "/").replace("~0", "~")]
            node = cur
        raise ValueError("$ref loop")

    def _declared(self, s):
        """(names declared by s and its allOf branches, whether other members are allowed)."""
        s = self.resolve(s)
        names = set((s.get("properties") or {}).keys())
        extra = s.get("additionalProperties")
        is_open = extra is True or isinstance(extra, dict)
        if "oneOf" in s or "anyOf" in s:
            is_open = True  # checked by the branches themselves
        for b in s.get("allOf") or []:
            n, o = self._declared(b)
            names |= n
            is_open = is_open or o
        if not names and not s.get("allOf") and extra is None:
            is_open = True  # a free-form object
        return names, is_open

    def validate(self, schema, v, path="", closed=None):
        """Returns a list of error strings (empty when v is valid)."""
        if closed is None:
            closed = self.closed
        s = self.resolve(schema)
        where = path or "/"
        if not isinstance(s, dict):
            return []
        if v is None:
            if s.get("nullable") or any(e is None for e in s.get("enum") or []):
                return []
            if "type" in s:
                return ["%s: null where the spec says %s (not nullable)" % (where, s["type"])]
        t = s.get("type")
        if t and not _type_ok(t, v):
            return ["%s: %s where the spec says %s" % (where, _describe(v), t)]
        errs = []
        if "enum" in s and not any(_same(v, e) for e in s["enum"]):
            errs.append("%s: %s is not one of %s" % (where, _describe(v), s["enum"]))
        if isinstance(v, str):
            fmt = s.get("format")
            if fmt in FORMATS and not FORMATS[fmt].match(v):
                errs.append("%s: %s is not a %s" % (where, _describe(v), fmt))
            if "pattern" in s and not re.search(s["pattern"], v):
                errs.append("%s: %s does not match %s" % (where, _describe(v), s["pattern"]))
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append("%s: longer than %d" % (where, s["maxLength"]))
            if "minLength" in s and len(v) < s["minLength"]:
                errs.append("%s: shorter than %d" % (where, s["minLength"]))
        if _type_ok("number", v):
            if "minimum" in s and v < s["minimum"]:
                errs.append("%s: %r is below %r" % (where, v, s["minimum"]))
            if "maximum" in s and v > s["maximum"]:
                errs.append("%s: %r is above %r" % (where, v, s["maximum"]))
        if isinstance(v, list):
            if "maxItems" in s and len(v) > s["maxItems"]:
                errs.append("%s: more than %d items" % (where, s["maxItems"]))
            if "minItems" in s and len(v) < s["minItems"]:
                errs.append("%s: fewer than %d items" % (where, s["minItems"]))
            if "items" in s:
                for i, el in enumerate(v):
                    errs += self.validate(s["items"], el, "%s/%d" % (path, i))
        if isinstance(v, dict):
            props = s.get("properties") or {}
            for name in s.get("required") or []:
                if name not in v:
                    errs.append("%s: required member %r is missing" % (where, name))
            for name, sub in props.items():
                if name in v:
                    errs += self.validate(sub, v[name], "%s/%s" % (path, _token(name)))
            extra = s.get("additionalProperties")
            others = [k for k in v if k not in props]
            if extra is False:
                for k in others:
                    errs.append("%s: member %r is not allowed" % (where, k))
            elif isinstance(extra, dict):
                for k in others:
                    errs += self.validate(extra, v[k], "%s/%s" % (path, _token(k)))
            if closed:
                names, is_open = self._declared(s)
                if not is_open:
                    for k in v:
                        if k not in names:
                            errs.append("%s: member %r is not in the spec" % (where, k))
        for b in s.get("allOf") or []:
            errs += self.validate(b, v, path, closed=False)
        if "oneOf" in s:
            results = [self.validate(b, v, path, closed) for b in s["oneOf"]]
            ok = [r for r in results if not r]
            if len(ok) != 1:
                errs.append("%s: matches %d of the oneOf schemas, not exactly 1 (%s)"
                            % (where, len(ok), "; ".join(r[0] for r in results if r)[:400]))
        if "anyOf" in s:
            results = [self.validate(b, v, path, closed) for b in s["anyOf"]]
            if all(results):
                errs.append("%s: matches none of the anyOf schemas (%s)"
                            % (where, "; ".join(r[0] for r in results)[:400]))
        return errs


def header_value(schema, raw):
    """A header's text as its schema's type: integers parsed."""
    t = (schema or {}).get("type")
    if t == "integer" and re.match(r"^-?\d+$", raw):
        return int(raw)
    if t == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def media_matches(key, essence):
    k = key.split(";")[0].strip().lower()
    if k == essence or k == "*/*":
        return True
    return k.endswith("/*") and essence.startswith(k[:-1])


# ----------------------------------------------------------------------------------- spec

class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.responses = Validator(doc, closed=True)
        self.requests = Validator(doc, closed=False)

    def operations(self):
        """(path, method) of every operation, in the spec's order."""
        for path, item in self.doc["paths"].items():
            for m in METHODS:
                if m in item:
                    yield path, m

    def op(self, path, method):
        return self.doc["paths"].get(path, {}).get(method)

    def security(self, path, method):
        op = self.op(path, method)
        return op.get("security", self.doc.get("security", []))

    def check(self, path, method, resp):
        """Problems of one live response against the operation (empty list: it matches)."""
        op = self.op(path, method)
        if op is None:
            return ["%s %s is not in the spec" % (method.upper(), path)]
        documented = op.get("responses") or {}
        r = (documented.get(str(resp.status)) or documented.get("%dXX" % (resp.status // 100))
             or documented.get("default"))
        if r is None:
            return ["status %d is not documented (the spec has %s)"
                    % (resp.status, ", ".join(sorted(documented)))]
        r = self.responses.resolve(r)
        problems = []
        for name, h in (r.get("headers") or {}).items():
            h = self.responses.resolve(h)
            raw = resp.header(name)
            if raw is None:
                if h.get("required"):
                    problems.append("required header %s is absent" % name)
                continue
            sch = h.get("schema")
            if sch:
                for e in self.responses.validate(sch, header_value(self.responses.resolve(sch),
                                                                   raw), "", closed=False):
                    problems.append("header %s: %s" % (name, e.replace("/: ", "", 1)))
        content = r.get("content") or {}
        if method == "head":
            return problems  # no body; the headers of GET
        ctype = resp.header("Content-Type")
        if not content:
            if resp.body:
                problems.append("a body of %d bytes (%s) where the spec documents none"
                                % (len(resp.body), ctype))
            return problems
        if ctype is None:
            return problems + ["no Content-Type; the spec documents %s" % ", ".join(content)]
        essence = ctype.split(";")[0].strip().lower()
        keys = [k for k in content if media_matches(k, essence)]
        if not keys:
            return problems + ["Content-Type %s is not one of %s" % (ctype, ", ".join(content))]
        media = self.responses.resolve(content[keys[0]]) or {}
        schema = media.get("schema")
        if essence == "application/json" or essence.endswith("+json"):
            try:
                body = json.loads(resp.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                return problems + ["the body is not JSON: %s" % e]
            if schema:
                problems += self.responses.validate(schema, body)
        elif schema and self.responses.resolve(schema).get("format") != "binary":
            try:
                resp.body.decode("utf-8")
            except UnicodeDecodeError:
                problems.append("a %s body that is not UTF-8 text" % essence)
        return problems

    def check_request(self, path, method, body):
        op = self.op(path, method) or {}
        content = (self.requests.resolve(op.get("requestBody") or {}).get("content") or {})
        media = content.get("application/json")
        if not media or "schema" not in media:
            return ["the spec documents no application/json requestBody"]
        return self.requests.validate(media["schema"], body)


def parse_routes(path):
    """[(pattern, [methods], auth)] from the route table of routes.c."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    out = []
    for m in re.finditer(r"\{\s*\"(/[^\"]*)\"\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,\s*td__\w+\s*\}",
                         text):
        methods = [C_METHODS[x.strip()] for x in m.group(2).split("|") if x.strip() in C_METHODS]
        # A dashboard page (R_SESSION) needs the session cookie: it is authenticated too.
        out.append((m.group(1), methods, "R_AUTH" in m.group(3) or "R_SESSION" in m.group(3)))
    return out


# ---------------------------------------------------------------------------------- runner

class Run:
    """Sends requests, validates each answer, and keeps the results per operation and status."""

    def __init__(self, rep, spec):
        self.rep = rep
        self.spec = spec
        self.results = {}   # (path, method, expected status) -> [problems]
        self.seen = {}      # (path, method) -> set of statuses received
        self.accepted = {}  # (path, method) -> [problems of accepted request bodies]

    def send(self, server, method, path, body=None, headers=None, auth=True,
             content_length=None):
        """Sends one request; returns the response, or raises OSError or httpc.HttpError.
        content_length: send only the head, with this Content-Length."""
        hdrs = []
        if auth is True:
            hdrs.append(("Authorization", "Bearer %s" % server.key))
        elif auth:
            hdrs.append(("Authorization", auth))
        hdrs += list((headers or {}).items())
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs.append(("Content-Type", "application/json"))
        if content_length is not None:
            hdrs.append(("Content-Length", str(content_length)))
        conn = httpc.Connection("127.0.0.1", server.port, timeout=60)
        try:
            conn.send(httpc.build_request(method, path, hdrs, data))
            return conn.read_response(method)
        finally:
            conn.close()

    def call(self, server, op_path, method, path, expect, body=None, headers=None, auth=True,
             content_length=None, note="", resp=None):
        """One request of the operation (op_path, method) to path (or its response resp, when
        already sent); expect is the status the scenario must get. Validates the answer and
        returns it (None when the server did not answer)."""
        problems = self.results.setdefault((op_path, method.lower(), expect), [])
        what = "%s %s%s" % (method, path[:80], " (%s)" % note if note else "")
        if resp is None:
            try:
                resp = self.send(server, method, path, body, headers, auth, content_length)
            except (OSError, httpc.HttpError) as e:
                problems.append("%s: no answer: %s" % (what, e))
                return None
        self.rep.debug("%s -> %d %s" % (what, resp.status, resp.body[:300]))
        self.seen.setdefault((op_path, method.lower()), set()).add(resp.status)
        if resp.status != expect:
            problems.append("%s: got %d, the scenario expects %d: %s"
                            % (what, resp.status, expect, resp.body[:200]))
        for p in self.spec.check(op_path, method.lower(), resp):
            problems.append("%s -> %d: %s" % (what, resp.status, p))
        if body is not None and 200 <= resp.status < 300:
            errs = self.spec.check_request(op_path, method.lower(), body)
            self.accepted.setdefault((op_path, method.lower()), []).extend(
                "%s: %s" % (what, e) for e in errs)
        return resp

    def until(self, server, op_path, method, path, status, tries, **kw):
        """Sends the request up to tries times until it gets status; records the last answer."""
        resp = None
        for _ in range(tries):
            try:
                resp = self.send(server, method, path, kw.get("body"), kw.get("headers"),
                                 kw.get("auth", True))
            except (OSError, httpc.HttpError):
                resp = None
                break
            if resp.status == status:
                break
        return self.call(server, op_path, method, path, status, resp=resp, **kw)

    def report(self):
        order = {op: i for i, op in enumerate(self.spec.operations())}
        for (path, method, status) in sorted(self.results, key=lambda k: (
                order.get((k[0], k[1]), 999), k[2])):
            problems = self.results[(path, method, status)]
            self.rep.check(PREFIX + "%s %s %d matches the spec" % (method.upper(), path, status),
                           not problems, " | ".join(problems[:4]))
        for (path, method) in sorted(self.accepted, key=lambda k: order.get(k, 999)):
            errs = self.accepted[(path, method)]
            self.rep.check(PREFIX + "%s %s: the request bodies the server accepted validate "
                           "against the spec's requestBody" % (method.upper(), path),
                           not errs, " | ".join(errs[:4]))


def jbody(resp):
    try:
        return json.loads(resp.body.decode("utf-8")) if resp is not None else {}
    except ValueError:
        return {}


# -------------------------------------------------------------------------------- scenario

def scenario_links(run, s):
    L = "/api/link-tracking"
    for p in ("/healthz", "/track/health"):
        run.call(s, p, "GET", p, 200, auth=False)
        run.call(s, p, "HEAD", p, 200, auth=False)

    one = {"original_url": "https://calendly.com/oa-test/30min", "link_function": "Calendly",
           "job_id": JOB, "application_id": APP, "link_type": "resume"}
    r = run.call(s, L + "/create", "POST", L + "/create", 201, body=one)
    tid = jbody(r).get("tracking_id") or "lt_calendly_missing0000000"
    run.call(s, L + "/create", "POST", L + "/create", 200, body=one, note="same context again")
    batch = {"job_id": JOB, "link_type": "cover_letter", "links": [
        {"original_url": "https://www.linkedin.com/in/oa-test", "link_function": "LinkedIn"},
        {"original_url": "https://oa-test.example.dev/", "link_function": "Portfolio",
         "expires_in": "90d"}]}
    r = run.call(s, L + "/create", "POST", L + "/create", 201, body=batch, note="batch")
    links = jbody(r).get("links") or [{}, {}]
    gone = links[-1].get("tracking_id") or "lt_portfolio_missing000000"
    run.call(s, L + "/create", "POST", L + "/create", 400,
             body={"original_url": "https://calendly.com/x"}, note="no link_function")
    run.call(s, L + "/create", "POST", L + "/create", 401, body=one, auth=False)
    run.call(s, L + "/create", "POST", L + "/create", 413, content_length=70000)

    run.call(s, "/track/{id}", "GET", "/track/" + tid, 302, auth=False,
             headers={"Referer": "https://mail.google.com/"})
    run.call(s, "/track/{id}", "GET", "/track/lt_calendly_00000000000000", 404, auth=False)
    run.call(s, "/track/{id}", "GET", "/track/lt_calendly_00000000000001", 404, auth=False,
             headers={"Accept": "text/html"}, note="a browser")
    run.call(s, "/track/{id}", "HEAD", "/track/" + tid, 302, auth=False)
    run.call(s, "/track/{id}", "GET", "/track/%s?%s" % (tid, "&".join("p%d=1" % i
                                                                      for i in range(201))),
             414, auth=False, note="201 query parameters")
    run.call(s, "/track/{id}", "GET", "/track/" + tid, 431, auth=False,
             headers={"X-Padding": "x" * 17000}, note="17000 bytes of headers")
    run.call(s, "/track/{id}", "GET", "/track/" + tid, 413, auth=False, content_length=70000,
             note="a GET with a body")
    run.call(s, "/track/{id}", "HEAD", "/track/lt_calendly_00000000000000", 404, auth=False)

    rc = L + "/record-click"
    run.call(s, rc, "POST", rc, 201, body={"tracking_id": tid, "click_source": "email",
                                           "ip_address": "203.0.113.7"})
    run.call(s, rc, "POST", rc, 400, body={"ip_address": "203.0.113.7"})
    run.call(s, rc, "POST", rc, 404, body={"tracking_id": "lt_calendly_00000000000000"})
    run.call(s, rc, "POST", rc, 401, body={"tracking_id": tid}, auth=False)

    run.call(s, L + "/links", "GET", L + "/links?job_id=%s&limit=2" % JOB, 200)
    run.call(s, L + "/links", "GET", L + "/links?limit=0", 400)
    run.call(s, L + "/links", "GET", L + "/links", 401, auth="Bearer td_nope")

    one_link = L + "/links/{id}"
    run.call(s, one_link, "GET", L + "/links/" + tid, 200)
    run.call(s, one_link, "GET", L + "/links/lt_calendly_00000000000000", 404)
    run.call(s, one_link, "GET", L + "/links/" + tid, 401, auth=False)
    run.call(s, one_link, "PATCH", L + "/links/" + tid, 200, body={"utm_tagging": False})
    run.call(s, one_link, "PATCH", L + "/links/" + tid, 200, body={"utm_tagging": None},
             note="back to the server's rule")
    run.call(s, one_link, "PATCH", L + "/links/" + tid, 400, body={"utm_tagging": "no"})
    run.call(s, one_link, "PATCH", L + "/links/lt_calendly_00000000000000", 404,
             body={"utm_tagging": True})
    run.call(s, one_link, "PATCH", L + "/links/" + tid, 401, body={"utm_tagging": True},
             auth=False)

    for action in ("deactivate", "activate"):
        p = L + "/links/{id}/" + action
        run.call(s, p, "POST", "%s/links/%s/%s" % (L, gone, action), 200)
        run.call(s, p, "POST", "%s/links/lt_x_00000000000000/%s" % (L, action), 404)
        run.call(s, p, "POST", "%s/links/%s/%s" % (L, gone, action), 401, auth=False)
    run.call(s, L + "/links/{id}/deactivate", "POST", "%s/links/%s/deactivate" % (L, gone), 200,
             note="again, for the 410s")
    run.call(s, "/track/{id}", "GET", "/track/" + gone, 410, auth=False)
    run.call(s, "/track/{id}", "HEAD", "/track/" + gone, 410, auth=False)
    run.call(s, rc, "POST", rc, 410, body={"tracking_id": gone})

    an = L + "/analytics/{id}"
    run.call(s, an, "GET", "%s/analytics/%s?days=7" % (L, tid), 200)
    run.call(s, an, "GET", "%s/analytics/%s?days=0" % (L, tid), 400)
    run.call(s, an, "GET", "%s/analytics/lt_calendly_00000000000000" % L, 404)
    run.call(s, an, "GET", "%s/analytics/%s" % (L, tid), 401, auth=False)

    run.call(s, an, "GET", "%s/analytics/%s?include=all&format=csv" % (L, tid), 200)
    run.call(s, an, "GET", "%s/analytics/%s?include=robots" % (L, tid), 400)

    js = L + "/jobs/{job_id}/summary"
    run.call(s, js, "GET", "%s/jobs/%s/summary" % (L, JOB), 200)
    run.call(s, js, "GET", "%s/jobs/%s/summary?include=human,scanner&format=csv" % (L, JOB), 200)
    run.call(s, js, "GET", "%s/jobs/42/summary" % L, 400)
    run.call(s, js, "GET", "%s/jobs/%s/summary" % (L, JOB), 401, auth=False)

    aps = L + "/applications/{application_id}/summary"
    run.call(s, aps, "GET", "%s/applications/%s/summary?include=all" % (L, APP), 200)
    run.call(s, aps, "GET", "%s/applications/%s/summary?format=csv" % (L, APP), 200)
    run.call(s, aps, "GET", "%s/applications/app-1/summary" % L, 400)
    run.call(s, aps, "GET", "%s/applications/%s/summary" % (L, APP), 401, auth=False)

    rp = L + "/report"
    run.call(s, rp, "GET", "%s/report?days=7" % L, 200)
    run.call(s, rp, "GET", "%s/report?days=1&include=all&format=csv" % L, 200)
    run.call(s, rp, "GET", "%s/report?days=0" % L, 400)
    run.call(s, rp, "GET", "%s/report" % L, 401, auth=False)
    return tid


def scenario_candidates(run, s):
    C, CU = "/api/candidates", "/api/candidates/{user_id}"
    prof = {"user_id": USER, "first_name": "Zoë", "last_name": "Lindqvist",
            "email": "zoe@example.com", "phone_number": "+46 70 123 45 67",
            "mailing_address": "Sveavägen 44\n111 34 Stockholm",
            "calendly_url": "https://calendly.com/zoe-oa/30min",
            "linkedin_url": "https://www.linkedin.com/in/zoe-oa/"}
    run.call(s, C, "POST", C, 201, body=prof)
    run.call(s, C, "POST", C, 201, body={"user_id": USER3, "first_name": "Kept",
                                         "created_at": "2020-01-01T00:00:00Z"},
             note="created_at is ignored")
    run.call(s, C, "POST", C, 409, body={"user_id": USER.upper()}, note="user_id in upper case")
    run.call(s, C, "POST", C, 400, body={"first_name": "x"}, note="no user_id")
    run.call(s, C, "POST", C, 400, body={"user_id": USER2, "emial": "x"}, note="unknown member")
    run.call(s, C, "POST", C, 401, body=prof, auth=False)
    run.call(s, C, "POST", C, 413, content_length=70000)

    run.call(s, CU, "PUT", "%s/%s" % (C, USER2), 201, body={"first_name": "Ann", "last_name": "Lee"})
    run.call(s, CU, "PUT", "%s/%s" % (C, USER2), 200,
             body={"user_id": USER2, "first_name": "Ann", "email": "ann@example.com"})
    run.call(s, CU, "PUT", "%s/%s" % (C, USER2), 400, body={"user_id": USER},
             note="user_id of another")
    run.call(s, CU, "PUT", "%s/%s" % (C, USER2), 401, body={}, auth=False)

    r = run.call(s, C, "GET", C + "?limit=1", 200, note="a page with a next one")
    cursor = jbody(r).get("next_cursor") or USER
    run.call(s, C, "GET", "%s?limit=1&cursor=%s" % (C, cursor), 200, note="the next page")
    run.call(s, C, "GET", C + "?cursor=zz", 400)
    run.call(s, C, "GET", C, 401, auth=False)

    run.call(s, CU, "GET", "%s/%s" % (C, USER), 200)
    run.call(s, CU, "GET", "%s/nope" % C, 400)
    run.call(s, CU, "GET", "%s/%s" % (C, NOBODY), 404)
    run.call(s, CU, "GET", "%s/%s" % (C, USER), 401, auth=False)

    run.call(s, CU, "PATCH", "%s/%s" % (C, USER2), 200, body={"phone_number": "+1 415 555 0100",
                                                              "email": None})
    run.call(s, CU, "PATCH", "%s/%s" % (C, USER2), 400, body={"email": "not-an-address"})
    run.call(s, CU, "PATCH", "%s/%s" % (C, NOBODY), 404, body={"first_name": "x"})
    run.call(s, CU, "PATCH", "%s/%s" % (C, USER2), 401, body={}, auth=False)


def scenario_documents(run, s):
    resume = docx.sample("sample_resume.json")
    resume.update(job_id=JOB, application_id=APP)
    jr = docx.sample("sample_resume_jsonresume.json")
    for k in ("basics",):
        jr[k] = dict(jr[k])
        for drop in ("name", "email", "phone"):
            jr[k].pop(drop, None)  # the profile of USER gives them
    jr.update(user_id=USER, format="md", job_id=JOB)
    letter = docx.sample("sample_cover_letter.json")
    letter.update(job_id=JOB, application_id=APP)

    docs = []
    for kind, body in (("/resume", resume), ("/cover-letter", letter)):
        r = run.call(s, kind, "POST", kind, 201, body=body)
        docs.append((jbody(r).get("download_url") or "/download/missing.docx",
                     jbody(r).get("filename")))
    r = run.call(s, "/resume", "POST", "/resume", 201, body=jr,
                 note="JSON Resume completed from a profile")
    purged = jbody(r).get("download_url") or "/download/missing.md"
    if not jbody(r).get("profile_found"):
        run.results[("/resume", "post", 201)].append("JSON Resume with user_id: profile_found "
                                                     "is not true: %s" % r.body[:200])
    run.call(s, "/resume", "POST", "/resume?inline=1", 200,
             body={"personal": {"full_name": "Jane Doe"}, "format": "md", "job_id": JOB,
                   "calendly_url": "https://calendly.com/jane-oa/30min"}, note="inline=1")
    run.call(s, "/resume", "POST", "/resume", 200, body={"personal": {"full_name": "Jane Doe"}},
             headers={"Accept": DOCX_TYPE}, note="Accept names the .docx type")
    run.call(s, "/resume", "POST", "/resume", 201, body={"personal": {"full_name": "Jane Doe"}},
             headers={"Accept": DOCX_TYPE + ";q=0, */*"}, note="Accept refuses the .docx type")
    run.call(s, "/cover-letter", "POST", "/cover-letter?inline=true", 200,
             body={"personal": {"full_name": "Jane Doe"}, "format": "html"}, note="inline=true")
    for kind in ("/resume", "/cover-letter"):
        run.call(s, kind, "POST", kind, 400, body={"format": "md"}, note="no name")
        run.call(s, kind, "POST", kind, 400, body={"personal": {"full_name": "J D"},
                                                   "template": "no-such-template"},
                 note="unknown template")
        run.call(s, kind, "POST", kind, 400, body={"personal": {"full_name": "J D"},
                                                   "format": "pdf"}, note="format")
        run.call(s, kind, "POST", kind, 400, body={"personal": {"full_name": "J D"},
                                                   "job_id": "42"}, note="job_id")
        run.call(s, kind, "POST", kind, 401, body={"personal": {"full_name": "J D"}}, auth=False)
        run.call(s, kind, "POST", kind, 413, content_length=(1 << 20) + 1)
        run.call(s, kind, "POST", kind, 500, body={"personal": {"full_name": "J D"},
                                                   "template": "broken", "format": "md"},
                 note="a template that does not compile")

    D = "/download/{filename}"
    for url, name in docs:
        run.call(s, D, "GET", url, 200)
        run.call(s, D, "HEAD", url, 200)
    run.call(s, D, "GET", "/download/resume_Nobody_20200101_000000.docx", 404)
    run.call(s, D, "HEAD", "/download/resume_Nobody_20200101_000000.docx", 404)
    run.call(s, D, "GET", "/download/..%2Fdb%2Ftrackdoc.db", 404, note="an encoded ../")
    run.call(s, D, "GET", "/download/a.md%00.txt", 400, note="an encoded NUL")
    run.call(s, D, "GET", docs[0][0], 401, auth=False)
    run.call(s, D, "HEAD", docs[0][0], 401, auth=False)

    C, CU = "/api/candidates", "/api/candidates/{user_id}"
    run.call(s, CU, "DELETE", "%s/%s?purge=maybe" % (C, USER), 400)
    run.call(s, CU, "DELETE", "%s/x" % C, 400, note="not a UUID")
    run.call(s, CU, "DELETE", "%s/%s" % (C, USER), 401, auth=False)
    r = run.call(s, CU, "DELETE", "%s/%s?purge=1" % (C, USER), 200)
    if jbody(r).get("files_deleted", 0) < 1:
        run.results[(CU, "delete", 200)].append("files_deleted is %r after a document was made "
                                               "for the user" % jbody(r).get("files_deleted"))
    run.call(s, D, "GET", purged, 404, note="a document purged with its candidate")
    run.call(s, CU, "DELETE", "%s/%s" % (C, USER), 404)
    run.call(s, CU, "DELETE", "%s/%s" % (C, USER2), 200, note="without purge")


def send_form(s, path, fields, origin=True, cookie=None):
    """POSTs an HTML form (application/x-www-form-urlencoded) as a browser on the server's own
    page would: Origin is the server's (or origin, when a string), with the session cookie."""
    data = urllib.parse.urlencode(fields).encode("ascii")
    hdrs = [("Content-Type", "application/x-www-form-urlencoded")]
    if origin:
        hdrs.append(("Origin", s.base if origin is True else origin))
    if cookie:
        hdrs.append(("Cookie", cookie))
    conn = httpc.Connection("127.0.0.1", s.port, timeout=60)
    try:
        conn.send(httpc.build_request("POST", path, hdrs, data))
        return conn.read_response("POST")
    finally:
        conn.close()


def scenario_dashboard(run, s, tid):
    """The dashboard: sign-in (refusals first), the pages with the session cookie, the assets,
    sign-out. Pages are HTML; errors are JSON for these clients (no Accept: text/html)."""
    D, login, out = "/dashboard", "/dashboard/login", "/dashboard/logout"
    html = {"Accept": "text/html"}
    run.call(s, D, "GET", D, 401, auth=False)
    run.call(s, D, "GET", D, 303, auth=False, headers=html, note="a browser")
    run.call(s, login, "GET", login, 200, auth=False)
    run.call(s, login, "POST", login, 403, note="another site's form",
             resp=send_form(s, login, {"api_key": s.key}, origin="https://evil.example"))
    run.call(s, login, "POST", login, 403, note="no Origin, no Referer",
             resp=send_form(s, login, {"api_key": s.key}, origin=False))
    run.call(s, login, "POST", login, 401, resp=send_form(s, login, {"api_key": "td_" + "0" * 40}))
    run.call(s, login, "POST", login, 400, resp=send_form(s, login, {"key": s.key}),
             note="no api_key field")
    run.call(s, login, "POST", login, 413, auth=False, content_length=70000)
    r = run.call(s, login, "POST", login, 303, resp=send_form(s, login, {"api_key": s.key}))
    cookie = ((r.header("Set-Cookie") if r else None) or "td_session=none").split(";")[0]
    C = {"Cookie": cookie}
    run.call(s, D, "GET", D, 200, auth=False, headers=C)
    run.call(s, D, "GET", D + "?days=0", 400, auth=False, headers=C)
    run.call(s, login, "GET", login, 303, auth=False, headers=C, note="signed in already")
    J = D + "/jobs/{job_id}"
    run.call(s, J, "GET", "%s/jobs/%s" % (D, JOB), 200, auth=False, headers=C)
    run.call(s, J, "GET", "%s/jobs/%s" % (D, NOBODY), 404, auth=False, headers=C,
             note="a job without links")
    run.call(s, J, "GET", "%s/jobs/42" % D, 400, auth=False, headers=C)
    run.call(s, J, "GET", "%s/jobs/%s" % (D, JOB), 401, auth=False)
    run.call(s, J, "GET", "%s/jobs/%s" % (D, JOB), 303, auth=False, headers=html)
    K = D + "/links/{id}"
    run.call(s, K, "GET", "%s/links/%s?days=7" % (D, tid), 200, auth=False, headers=C)
    run.call(s, K, "GET", "%s/links/lt_calendly_00000000000000" % D, 404, auth=False, headers=C)
    run.call(s, K, "GET", "%s/links/%s?days=x" % (D, tid), 400, auth=False, headers=C)
    run.call(s, K, "GET", "%s/links/%s" % (D, tid), 401, auth=False)
    run.call(s, K, "GET", "%s/links/%s" % (D, tid), 303, auth=False, headers=html)
    A = D + "/assets/{name}"
    run.call(s, A, "GET", D + "/assets/dashboard.css", 200, auth=False)
    run.call(s, A, "GET", D + "/assets/favicon.svg", 200, auth=False)
    run.call(s, A, "GET", D + "/assets/app.js", 404, auth=False)
    run.call(s, out, "POST", out, 403, resp=send_form(s, out, {}, origin="null", cookie=cookie),
             note="Origin null")
    run.call(s, out, "POST", out, 303, resp=send_form(s, out, {}, cookie=cookie))
    run.call(s, D, "GET", D, 401, auth=False, headers=C, note="the cookie after sign-out")


def scenario_readonly(run, ro, tid):
    """A replica (--db-readonly, on the main server's database) with small rate limits: the
    503s of writes, the inline document that is not stored, then the 429s."""
    body = {"personal": {"full_name": "Jane Doe"}, "format": "txt", "job_id": JOB,
            "calendly_url": "https://calendly.com/jane-oa/15min"}
    r = run.call(ro, "/resume", "POST", "/resume?inline=1", 200, body=body, note="read-only")
    if r is not None and r.header("X-Trackdoc-Stored") != "false":
        run.results[("/resume", "post", 200)].append("read-only: no X-Trackdoc-Stored: false")
    run.call(ro, "/resume", "POST", "/resume", 503, body=body, note="read-only")
    run.call(ro, "/cover-letter", "POST", "/cover-letter", 503, body=body, note="read-only")
    C = "/api/candidates"
    run.call(ro, C, "POST", C, 503, body={"user_id": NOBODY}, note="read-only")
    run.call(ro, "/api/candidates/{user_id}", "PUT", "%s/%s" % (C, NOBODY), 503, body={},
             note="read-only")
    run.call(ro, "/track/{id}", "GET", "/track/" + tid, 503, auth=False,
             note="read-only: the click cannot be committed")
    run.call(ro, "/track/{id}", "HEAD", "/track/" + tid, 503, auth=False, note="read-only")
    CU = "/api/candidates/{user_id}"
    run.call(ro, CU, "PATCH", "%s/%s" % (C, USER3), 503, body={"first_name": "x"},
             note="read-only")
    run.call(ro, CU, "DELETE", "%s/%s" % (C, USER3), 503, note="read-only")
    # The buckets: rate 1/s, burst 10.
    nolink = "/track/lt_calendly_00000000000000"
    run.until(ro, "/track/{id}", "GET", nolink, 429, 15, auth=False, note="bucket emptied")
    run.until(ro, "/track/{id}", "GET", nolink, 429, 15, auth=False,
              headers={"Accept": "text/html"}, note="a browser")
    run.until(ro, "/api/link-tracking/links", "GET", "/api/link-tracking/links?limit=1", 429, 15,
              note="bucket emptied")
    run.until(ro, "/track/{id}", "HEAD", nolink, 429, 5, auth=False, note="bucket empty")
    for op, method, path, kw in (
            ("/resume", "POST", "/resume", {"body": body}),
            ("/cover-letter", "POST", "/cover-letter", {"body": body}),
            ("/api/candidates", "GET", "/api/candidates", {}),
            ("/api/link-tracking/create", "POST", "/api/link-tracking/create",
             {"body": {"original_url": "https://calendly.com/x", "link_function": "Calendly"}}),
            ("/download/{filename}", "GET", "/download/x.md", {}),
            ("/download/{filename}", "HEAD", "/download/x.md", {}),
            ("/dashboard/login", "GET", "/dashboard/login", {"auth": False})):
        run.until(ro, op, method, path, 429, 5, note="API bucket empty", **kw)
    resp = None
    for _ in range(15):
        resp = send_form(ro, "/dashboard/login", {"api_key": "td_" + "0" * 40})
        if resp.status == 429:
            break
    run.call(ro, "/dashboard/login", "POST", "/dashboard/login", 429, resp=resp,
             note="sign-in attempts")


CALENDLY_KEY = "openapi-calendly-signing-key"


def calendly_post(s, body, sig):
    """POST /webhooks/calendly with raw bytes and a signature header (None: none)."""
    hdrs = [("Content-Type", "application/json")]
    if sig is not None:
        hdrs.append(("Calendly-Webhook-Signature", sig))
    conn = httpc.Connection("127.0.0.1", s.port, timeout=60)
    try:
        conn.send(httpc.build_request("POST", "/webhooks/calendly", hdrs, body))
        return conn.read_response("POST")
    finally:
        conn.close()


def calendly_sign(body, key=CALENDLY_KEY):
    t = int(time.time())
    return "t=%d,v1=%s" % (t, hmac.new(key.encode(), b"%d." % t + body,
                                       hashlib.sha256).hexdigest())


def scenario_calendly(run, s, tid):
    """The webhook (bodies signed here with the server's key) and the bookings listing."""
    W, C = "/webhooks/calendly", "/api/link-tracking/conversions"
    booking = {"event": "invitee.created", "created_at": "2031-05-01T09:00:00.000000Z",
               "payload": {"uri": "https://api.calendly.com/scheduled_events/OA/invitees/OA1",
                           "email": "rita@example.com", "status": "active",
                           "scheduled_event": {"uri": "https://api.calendly.com/scheduled_events/OA",
                                               "name": "30 Minute Meeting",
                                               "start_time": "2031-05-06T14:00:00.000000Z"},
                           "tracking": {"utm_source": "trackdoc", "utm_medium": "calendly",
                                        "utm_campaign": APP, "utm_content": tid}}}
    for note, obj in (("a booking", booking), ("the same booking again", booking),
                      ("its cancellation", dict(booking, event="invitee.canceled")),
                      ("another event type", {"event": "routing_form_submission.created"})):
        raw = json.dumps(obj).encode()
        run.call(s, W, "POST", W, 200, body=obj, resp=calendly_post(s, raw, calendly_sign(raw)),
                 note=note)
    raw = b"{\"event\": \"invitee.created\", "
    run.call(s, W, "POST", W, 400, resp=calendly_post(s, raw, calendly_sign(raw)),
             note="signed, not JSON")
    raw = json.dumps(booking).encode()
    run.call(s, W, "POST", W, 401, resp=calendly_post(s, raw, calendly_sign(raw, "other")),
             note="another key")
    run.call(s, W, "POST", W, 401, resp=calendly_post(s, raw, None), note="no signature")
    run.call(s, W, "POST", W, 413, auth=False, content_length=(1 << 20) + 1)

    run.call(s, C, "GET", "%s?job_id=%s&limit=1" % (C, JOB), 200)
    run.call(s, C, "GET", "%s?tracking_id=%s&event_type=canceled" % (C, tid), 200)
    run.call(s, C, "GET", C + "?limit=0", 400)
    run.call(s, C, "GET", C, 401, auth=False)


def check_methods(run, rep, s):
    """Each path of the spec answers a method it lacks with 405 and Allow = the spec's."""
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    samples = {"{id}": "lt_calendly_00000000000000", "{job_id}": JOB, "{user_id}": USER,
               "{filename}": "resume_Nobody_20200101_000000.docx"}
    for path, item in run.spec.doc["paths"].items():
        listed = [m.upper() for m in METHODS if m in item]
        other = next(m for m in ("DELETE", "PUT", "POST", "PATCH") if m not in listed)
        concrete = path
        for k, v in samples.items():
            concrete = concrete.replace(k, v)
        want = ", ".join(m for m in order if m in listed)
        try:
            conn = httpc.Connection("127.0.0.1", s.port, timeout=30)
            try:
                conn.send(httpc.build_request(other, concrete, [
                    ("Authorization", "Bearer %s" % s.key)]))
                resp = conn.read_response(other)
            finally:
                conn.close()
            got = (resp.status, resp.header("Allow"))
        except (OSError, httpc.HttpError) as e:
            got = ("no answer", str(e))
        rep.check(PREFIX + "%s %s: 405 with Allow: %s, the methods of the spec"
                  % (other, path, want), got == (405, want), "got %s, Allow %r" % got)


def check_routes(rep, spec):
    """routes.c and the spec list the same operations, with the same authentication."""
    routes = parse_routes(ROUTES_C)
    rep.check(PREFIX + "the route table of routes.c parses", len(routes) >= 10,
              "%d routes found in %s" % (len(routes), ROUTES_C))
    in_c = {(p, m) for p, ms, _ in routes for m in ms}
    in_spec = set(spec.operations())
    missing = sorted("%s %s" % (m.upper(), p) for p, m in in_c - in_spec)
    extra = sorted("%s %s" % (m.upper(), p) for p, m in in_spec - in_c)
    rep.check(PREFIX + "every route of src/server/routes.c is in the spec", not missing,
              "not in the spec: %s" % ", ".join(missing))
    rep.check(PREFIX + "every operation of the spec is a route of src/server/routes.c",
              not extra, "not in routes.c: %s" % ", ".join(extra))
    wrong = []
    schemes = spec.doc.get("components", {}).get("securitySchemes", {})
    for p, ms, auth in routes:
        for m in ms:
            if (p, m) not in in_spec:
                continue
            sec = spec.security(p, m)
            names = {n for req in sec for n in req}
            if auth and not (sec and names and names <= set(schemes)):
                wrong.append("%s %s needs an API key, the spec says none" % (m.upper(), p))
            if not auth and sec and any(req for req in sec):
                wrong.append("%s %s needs no key, the spec says %s" % (m.upper(), p, sec))
    rep.check(PREFIX + "the spec's security matches R_AUTH of routes.c", not wrong,
              "; ".join(wrong))


def check_coverage(run, rep):
    missing = []
    for path, method in run.spec.operations():
        got = run.seen.get((path, method), set())
        documented = [k for k in (run.spec.op(path, method).get("responses") or {})
                      if k.isdigit()]
        if not any(200 <= s < 400 for s in got):
            missing.append("%s %s: no 2xx/3xx" % (method.upper(), path))
        if any(k.startswith("4") for k in documented) and not any(400 <= s < 500 for s in got):
            missing.append("%s %s: no 4xx" % (method.upper(), path))
    rep.check(PREFIX + "every operation of the spec was exercised with a 2xx/3xx, and with a "
              "4xx where the spec documents one", not missing, "; ".join(missing))
    untried = []
    for path, method in run.spec.operations():
        documented = {int(k) for k in (run.spec.op(path, method).get("responses") or {})
                      if k.isdigit()}
        left = sorted(documented - run.seen.get((path, method), set()))
        if left:
            untried.append("%s %s %s" % (method.upper(), path, "/".join(map(str, left))))
    rep.comment("documented statuses not produced by this test: %s" % "; ".join(untried))


def test_openapi(rep):
    try:
        import yaml  # noqa: PLC0415 - a missing module is one failed check, not a crash
    except ImportError:
        rep.check(PREFIX + "python3 can import yaml", False,
                  "the yaml module is missing: run scripts/install-deps.sh (it installs the "
                  "Debian package python3-yaml)", always=True)
        return
    try:
        with open(SPEC, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        ok = isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3.0")
        detail = "openapi: %r" % (doc.get("openapi") if isinstance(doc, dict) else doc)
    except (OSError, yaml.YAMLError) as e:
        ok, detail = False, e
    if not rep.check(PREFIX + "docs/openapi.yaml loads as OpenAPI 3.0", ok, detail):
        return
    spec = Spec(doc)
    check_routes(rep, spec)

    run = Run(rep, spec)
    main = harness.Server(rep, "openapi", ["--rate-limit-api", "0", "--rate-limit-track", "0"])
    main.env["TRACKDOC_CALENDLY_SIGNING_KEY"] = CALENDLY_KEY
    # The shipped templates, and one that does not compile (for the 500 template_error).
    templates = os.path.join(main.dir, "templates")
    shutil.copytree(os.path.join(harness.ROOT, "templates"), templates,
                    ignore=shutil.ignore_patterns("src", "*.md~"))
    with open(os.path.join(templates, "broken.md"), "w", encoding="utf-8") as f:
        f.write("# {{#personal}}{{full_name}}\n")
    main.args += ["--templates-dir", templates]
    ro = None
    try:
        main.start()
        tid = scenario_links(run, main)
        scenario_candidates(run, main)
        scenario_documents(run, main)
        scenario_calendly(run, main, tid)
        scenario_dashboard(run, main, tid)
        check_methods(run, rep, main)
        ro = harness.Server(rep, "openapi-readonly", ["--db-readonly", "--rate-limit-api", "1",
                                                      "--rate-limit-track", "1"], key=False)
        ro.db = main.db
        ro.start()
        ro.key = main.key
        scenario_readonly(run, ro, tid)
    except Exception as e:  # noqa: BLE001 - a start failure is one failed check
        rep.check(PREFIX + "the servers start", False, e, always=True)
    finally:
        if ro is not None:
            ro.stop()
        main.stop()
    run.report()
    check_coverage(run, rep)
