"""The engine of the declarative cases in tests/e2e/cases/*.json (format: tests/e2e/README.md).

Each file holds a list of steps run in order against one server: an HTTP request with the
status, headers and JSON fields it must answer, or a CLI invocation (argv) with its exit code
and output. Steps can save values (a tracking id) that later steps use as {placeholders}.
"""

import datetime
import json
import os
import re
import socket
import time

import harness
import httpc

MISSING = object()
PLACEHOLDER_RE = re.compile(r"\{(rep:([^:{}]*):(\d+)|date:(-?\d+)|[a-z_][a-z0-9_]*)\}")
WHOLE_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# Every error body: {"error": {"code", "message"[, "field"]}} and nothing else.
ERROR_KEYS = {"code", "message", "field"}


class CaseError(Exception):
    """A case that cannot run as written (unknown placeholder, bad format)."""


# The repository root: fixtures are named {repo}/tests/data/...
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# ---- placeholders ----

def dynamic_vars():
    return {"today": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}


def subst(value, env):
    """Replaces {name}, {rep:TEXT:N} (TEXT N times) and {date:-N} (the UTC date N days ago) in
    every string of value. A string that is exactly one
    {name} takes the saved value with its JSON type (so {count} can be an integer)."""
    if isinstance(value, str):
        m = WHOLE_RE.fullmatch(value)
        if m and m.group(1) in env and not isinstance(env[m.group(1)], str):
            return env[m.group(1)]

        def one(m):
            if m.group(1).startswith("rep:"):
                return m.group(2) * int(m.group(3))
            if m.group(1).startswith("date:"):
                day = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                    days=int(m.group(4)))
                return day.strftime("%Y-%m-%d")
            name = m.group(1)
            if name not in env:
                raise CaseError("unknown placeholder {%s} (not defined, or an earlier step did "
                                "not save it)" % name)
            return str(env[name])

        return PLACEHOLDER_RE.sub(one, value)
    if isinstance(value, list):
        return [subst(v, env) for v in value]
    if isinstance(value, dict):
        return {subst(k, env): subst(v, env) for k, v in value.items()}
    return value


# ---- JSON paths and matchers ----

def get_path(doc, path):
    """Follows a dotted path ("links.0.tracking_id", "click_timeline.-1") into doc."""
    if path == "":
        return doc
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part, MISSING)
        elif isinstance(cur, list) and re.fullmatch(r"-?\d+", part):
            i = int(part)
            cur = cur[i] if -len(cur) <= i < len(cur) else MISSING
        else:
            return MISSING
        if cur is MISSING:
            return MISSING
    return cur


def is_matcher(v):
    return isinstance(v, dict) and len(v) >= 1 and all(k.startswith("$") for k in v)


def show(v):
    if v is MISSING:
        return "(absent)"
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 200 else s[:200] + "..."


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "?"


def match(actual, expected):
    """None when actual satisfies expected (a value compared strictly, or a {"$op": ...}
    matcher, nested anywhere), else a short description of the difference."""
    if is_matcher(expected):
        for op, arg in expected.items():
            err = match_op(actual, op, arg)
            if err:
                return err
        return None
    if actual is MISSING:
        return "absent, expected %s" % show(expected)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return "%s, expected an object" % show(actual)
        if set(actual) != set(expected):
            return "keys %s, expected %s" % (sorted(actual), sorted(expected))
        for k in expected:
            err = match(actual[k], expected[k])
            if err:
                return "%s: %s" % (k, err)
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return "%s, expected %s" % (show(actual), show(expected))
        for i, (a, e) in enumerate(zip(actual, expected)):
            err = match(a, e)
            if err:
                return "[%d]: %s" % (i, err)
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        ok = isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    elif isinstance(expected, (int, float)):
        ok = isinstance(actual, (int, float)) and actual == expected
    else:
        ok = type(actual) is type(expected) and actual == expected
    return None if ok else "%s, expected %s" % (show(actual), show(expected))


def match_op(actual, op, arg):
    if op == "$absent":
        return None if (actual is MISSING) == bool(arg) else "%s, expected %s" % (
            show(actual), "absent" if arg else "present")
    if op == "$present":
        return None if (actual is not MISSING) == bool(arg) else "expected present"
    if actual is MISSING:
        return "absent"
    if op == "$re":
        if not isinstance(actual, str) or not re.search(arg, actual):
            return "%s does not match /%s/" % (show(actual), arg)
    elif op == "$not_re":
        if not isinstance(actual, str) or re.search(arg, actual):
            return "%s matches /%s/" % (show(actual), arg)
    elif op == "$type":
        if type_name(actual) != arg and not (arg == "number" and type_name(actual) == "integer"):
            return "%s is %s, expected %s" % (show(actual), type_name(actual), arg)
    elif op == "$len":
        if not isinstance(actual, (list, str, dict)) or len(actual) != arg:
            return "length %s, expected %d" % (
                len(actual) if isinstance(actual, (list, str, dict)) else "n/a", arg)
    elif op == "$gte":
        if type_name(actual) not in ("integer", "number") or actual < arg:
            return "%s, expected >= %s" % (show(actual), arg)
    elif op == "$lte":
        if type_name(actual) not in ("integer", "number") or actual > arg:
            return "%s, expected <= %s" % (show(actual), arg)
    elif op == "$ne":
        if match(actual, arg) is None:
            return "%s, expected anything else" % show(actual)
    elif op == "$in":
        if all(match(actual, a) is not None for a in arg):
            return "%s, expected one of %s" % (show(actual), show(arg))
    elif op == "$contains":
        if not isinstance(actual, list) or all(match(a, arg) is not None for a in actual):
            return "%s does not contain %s" % (show(actual), show(arg))
    else:
        raise CaseError("unknown matcher %s" % op)
    return None


# ---- HTTP steps ----

def expand(value):
    """Expands {"$repeat": {"count": N, "item": X}} into a list of N copies of X, with "{i}" in
    its strings replaced by the index (for bodies too long to write out, like 101 links)."""
    if isinstance(value, dict) and set(value) == {"$repeat"}:
        spec = value["$repeat"]
        text = json.dumps(expand(spec["item"]))
        return [json.loads(text.replace("{i}", str(i))) for i in range(spec["count"])]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def build(step, env, server):
    """Turns a step's request into (method, path, header list, body bytes or None, options)."""
    req = subst(expand(step["request"]), env)
    method = req.get("method", "GET")
    path = req["path"]
    headers = []
    hdrs = req.get("headers", {})
    for k, v in (hdrs.items() if isinstance(hdrs, dict) else hdrs):
        headers.append((k, v))
    auth = req.get("auth", path.startswith("/api/"))
    if auth is True:
        headers.append(("Authorization", "Bearer %s" % server.key))
    elif isinstance(auth, str):
        headers.append(("Authorization", auth))
    body = None
    if "json" in req:
        body = json.dumps(req["json"], ensure_ascii=False)
        if "pad_to" in req:
            obj = dict(req["json"])
            obj["_pad"] = ""
            base = len(json.dumps(obj, ensure_ascii=False).encode("utf-8"))
            if base > req["pad_to"]:
                raise CaseError("pad_to %d is below the body's own size %d"
                                % (req["pad_to"], base))
            obj["_pad"] = "p" * (req["pad_to"] - base)
            body = json.dumps(obj, ensure_ascii=False)
        body = body.encode("utf-8")
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
    elif "body" in req:
        body = req["body"].encode("utf-8")
    elif "body_size" in req:
        body = b"x" * req["body_size"]
    opts = {"chunked": req.get("chunked", False), "send_body": req.get("send_body", True),
            "timeout": req.get("timeout", 30)}
    return method, path, headers, body, opts


def do_request(server, method, path, headers, body, opts, no_body_check=False):
    """Sends one request on a new connection and reads the answer. With no_body_check, also
    verifies that nothing follows the response (a HEAD must send no body): either the
    connection ends, or a pipelined GET /healthz gets its own clean answer."""
    conn = httpc.Connection("127.0.0.1", server.port, timeout=opts["timeout"])
    try:
        data = httpc.build_request(method, path, headers, body, opts["chunked"],
                                   opts["send_body"], host="127.0.0.1:%d" % server.port)
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything: read the answer
        resp = conn.read_response(method)
        extra = None
        if no_body_check:
            if (resp.header("Connection") or "").lower() == "close":
                left = conn.leftover()
                if left:
                    extra = "%d bytes after the response: %r" % (len(left), left[:80])
            else:
                conn.send(httpc.build_request("GET", "/healthz", [], host="127.0.0.1"))
                try:
                    follow = conn.read_response("GET")
                    if follow.status != 200 or not follow.body.startswith(b"{"):
                        extra = "pipelined GET /healthz got %d %r" % (follow.status,
                                                                       follow.body[:80])
                except httpc.HttpError as e:
                    extra = "bytes after the response broke the next one: %s" % e
        resp.extra = extra
        return resp
    finally:
        conn.close()


def check_common(resp, method, headers):
    """What every response must satisfy, whatever the case says."""
    problems = []
    if resp.header("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is %r, expected nosniff"
                        % resp.header("X-Content-Type-Options"))
    wants_html = any(k.lower() == "accept" and "text/html" in v for k, v in headers)
    if resp.status >= 400 and not wants_html:
        ctype = resp.header("Content-Type") or ""
        if not ctype.startswith("application/json"):
            problems.append("error with Content-Type %r, expected application/json" % ctype)
        if method == "HEAD":
            return problems
        try:
            doc = json.loads(resp.body)
        except ValueError:
            problems.append("error body is not JSON: %r" % resp.body[:120])
        else:
            err = doc.get("error") if isinstance(doc, dict) else None
            if not isinstance(doc, dict) or set(doc) != {"error"} or not isinstance(err, dict):
                problems.append("error body is not {\"error\": {...}}: %s" % show(doc))
            elif not (set(err) <= ERROR_KEYS and isinstance(err.get("code"), str)
                      and isinstance(err.get("message"), str) and err["message"]
                      and isinstance(err.get("field", ""), str)):
                problems.append("error object is not {code, message[, field]}: %s" % show(err))
    return problems


def check_http(step, resp, env):
    exp = subst(step.get("expect", {}), env)
    problems = []
    if "status" in exp:
        want = exp["status"] if isinstance(exp["status"], list) else [exp["status"]]
        if resp.status not in want:
            problems.append("status %d, expected %s" % (resp.status, "/".join(map(str, want))))
    for name, want in exp.get("headers", {}).items():
        got = resp.header(name)
        err = match(MISSING if got is None else got, want)
        if err:
            problems.append("header %s: %s" % (name, err))
        elif got is not None and resp.header_count(name) != 1:
            problems.append("header %s sent %d times" % (name, resp.header_count(name)))
    body_text = resp.body.decode("utf-8", "replace")
    if "body_re" in exp and not re.search(exp["body_re"], body_text):
        problems.append("body %r does not match /%s/" % (body_text[:200], exp["body_re"]))
    if "body_not_re" in exp and re.search(exp["body_not_re"], body_text):
        problems.append("body %r matches /%s/" % (body_text[:200], exp["body_not_re"]))
    if "body_max" in exp and len(resp.body) > exp["body_max"]:
        problems.append("body is %d bytes, expected at most %d" % (len(resp.body),
                                                                 exp["body_max"]))
    if exp.get("body_empty") and resp.body:
        problems.append("body is %d bytes, expected none" % len(resp.body))
    if exp.get("no_body") and getattr(resp, "extra", None):
        problems.append(resp.extra)
    if "json" in exp:
        try:
            doc = json.loads(resp.body)
        except ValueError:
            doc = MISSING
            problems.append("body is not JSON: %r" % resp.body[:200])
        if doc is not MISSING:
            for path, want in exp["json"].items():
                err = match(get_path(doc, path), want)
                if err:
                    problems.append("%s: %s" % (path or "body", err))
    return problems


def save_http(step, resp, env):
    problems = []
    doc = MISSING
    for var, src in step.get("save", {}).items():
        if src.startswith("header:"):
            val = resp.header(src[7:])
            val = MISSING if val is None else val
        elif src == "status":
            val = resp.status
        else:
            if doc is MISSING:
                try:
                    doc = json.loads(resp.body)
                except ValueError:
                    doc = None
            val = get_path(doc, src)
        if val is MISSING:
            problems.append("cannot save {%s}: %s is absent" % (var, src))
        else:
            env[var] = val
    return problems


def run_http(step, env, server, rep):
    method, path, headers, body, opts = build(step, env, server)
    exp = step.get("expect", {})
    repeat = step.get("repeat", 1)
    until = step.get("until_status")
    counts = {}
    resp = None
    for _ in range(repeat):
        try:
            resp = do_request(server, method, path, headers, body, opts,
                              no_body_check=bool(exp.get("no_body")))
        except socket.timeout:
            return ["no response within %s s (the connection stayed open, silent)"
                    % opts["timeout"]]
        except httpc.HttpError as e:
            return ["no valid response: %s" % e]
        counts[resp.status] = counts.get(resp.status, 0) + 1
        if until is not None and resp.status == until:
            break
    rep.debug("%s %s -> %d %s\n  %s\n  %s" % (
        method, path[:200], resp.status, resp.reason,
        "; ".join("%s: %s" % h for h in resp.headers)[:600],
        resp.body[:600].decode("utf-8", "replace")))
    problems = []
    if until is not None and resp.status != until:
        problems.append("no %d in %d requests (statuses %s)" % (until, repeat, counts))
    if not exp.get("answered_by_libmicrohttpd"):
        problems += check_common(resp, method, headers)
    problems += check_http(step, resp, env)
    for var, status in step.get("save_counts", {}).items():
        env[var] = counts.get(status, 0)
    problems += save_http(step, resp, env)
    problems += check_vars(step, env)
    return problems


def check_vars(step, env):
    """expect.vars: conditions on values saved so far ({"api_ok": {"$gte": 10}})."""
    problems = []
    for var, want in step.get("expect", {}).get("vars", {}).items():
        err = match(env.get(var, MISSING), subst(want, env))
        if err:
            problems.append("{%s}: %s" % (var, err))
    return problems


# ---- CLI steps ----

def run_argv(step, env, rep):
    argv = subst(step["argv"], env)
    exp = subst(step.get("expect", {}), env)
    stdin = subst(step["stdin"], env) if "stdin" in step else None
    r = harness.run_cli(argv, timeout=step.get("timeout", 60), stdin=stdin)
    rep.debug("trackdoc %s -> exit %s\n  stdout: %s\n  stderr: %s" % (
        " ".join(argv)[:300], r.returncode, r.stdout[:600], r.stderr[:600]))
    problems = []
    if "exit" in exp:
        err = match(r.returncode, exp["exit"])
        if err:
            problems.append("exit code %s (stderr: %r)" % (err, r.stderr.strip()[:200]))
    if "stdout_file" in exp:
        with open(exp["stdout_file"], encoding="utf-8") as f:
            want = f.read()
        if r.stdout != want:
            problems.append("stdout differs from %s: got %r, want %r"
                            % (os.path.relpath(exp["stdout_file"], REPO), r.stdout[:300],
                               want[:300]))
    for stream, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        if stream + "_re" in exp and not re.search(exp[stream + "_re"], text):
            problems.append("%s %r does not match /%s/" % (stream, text[:200],
                                                           exp[stream + "_re"]))
        if stream + "_not_re" in exp and re.search(exp[stream + "_not_re"], text):
            problems.append("%s %r matches /%s/" % (stream, text[:200],
                                                    exp[stream + "_not_re"]))
        if exp.get(stream + "_empty") and text:
            problems.append("%s is not empty: %r" % (stream, text[:200]))
    report = harness.sanitizer_report(r.stderr)
    if report:
        problems.append("sanitizer report: %s" % report)
    doc = MISSING
    if "stdout_json" in exp or step.get("save"):
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            problems.append("stdout is not JSON: %r" % r.stdout[:200])
    if doc is not MISSING:
        for path, want in exp.get("stdout_json", {}).items():
            err = match(get_path(doc, path), want)
            if err:
                problems.append("stdout %s: %s" % (path or "JSON", err))
        for var, src in step.get("save", {}).items():
            val = get_path(doc, src)
            if val is MISSING:
                problems.append("cannot save {%s}: %s is absent" % (var, src))
            else:
                env[var] = val
    problems += check_vars(step, env)
    return problems


# ---- files ----

# The keys each part of a step may have: a misspelt key is an error, not a check that
# silently never runs.
# stdin: text given to a CLI step's standard input (none otherwise).
STEP_KEYS = {"name", "request", "argv", "stdin", "expect", "save", "save_counts", "repeat",
             "until_status", "sleep", "timeout"}
REQUEST_KEYS = {"method", "path", "headers", "auth", "json", "pad_to", "body", "body_size",
                "chunked", "send_body", "timeout"}
# answered_by_libmicrohttpd: the request is refused by libmicrohttpd before trackdoc sees it
# (its own HTML error page); only the status and what the case lists are checked.
HTTP_EXPECT_KEYS = {"status", "headers", "json", "body_re", "body_not_re", "body_max", "body_empty",
                    "no_body", "vars", "answered_by_libmicrohttpd"}
# stdout_file: standard output must equal that file (a golden file) byte for byte.
CLI_EXPECT_KEYS = {"exit", "stdout_re", "stderr_re", "stdout_not_re", "stderr_not_re",
                   "stdout_empty", "stderr_empty", "stdout_json", "stdout_file", "vars"}


def check_step(step):
    """Returns what is wrong with the form of a step, or None."""
    if not isinstance(step.get("name"), str) or ("request" in step) == ("argv" in step):
        return "needs a name and one of request or argv"
    exp = step.get("expect", {})
    allowed, must = (HTTP_EXPECT_KEYS, "status") if "request" in step else (CLI_EXPECT_KEYS, "exit")
    unknown = (set(step) - STEP_KEYS) | (set(exp) - allowed)
    if "request" in step:
        unknown |= (set(step["request"]) - REQUEST_KEYS) | ({"stdin"} & set(step))
    if unknown:
        return "unknown keys %s" % sorted(unknown)
    if must not in exp:
        return "expect.%s is required" % must
    return None


def load(path):
    """Reads a case file; returns (stem, document). Raises ValueError or CaseError."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    stem = os.path.splitext(os.path.basename(path))[0]
    names = set()
    for i, step in enumerate(doc["cases"]):
        err = check_step(step)
        if err:
            raise CaseError("%s: case %d (%s): %s" % (stem, i, step.get("name"), err))
        if step["name"] in names:
            raise CaseError("%s: two cases are named %r" % (stem, step["name"]))
        names.add(step["name"])
    return stem, doc


def selected(rep, stem, doc):
    """True when -k selects one of the file's cases."""
    return any(rep.wants("%s: %s" % (stem, s["name"])) for s in doc["cases"])


def run_file(stem, doc, rep, main_server):
    """Runs the steps of one loaded case file; its server is the shared main one, one of its
    own, or none."""
    spec = doc.get("server", "main")
    own = None
    server = None
    env = {"version": harness.version(), "bin": harness.trackdoc_bin(), "repo": REPO,
           "backend": "postgres" if harness.postgres() else "sqlite"}
    if spec == "main":
        server = main_server
    elif spec != "none":
        own = harness.Server(rep, spec["name"], spec.get("args", []), env=spec.get("env"))
        try:
            own.start()
        except Exception as e:  # noqa: BLE001 - any start failure is one failed check
            rep.check("%s: start server" % stem, False, e, always=True)
            return
        server = own
    if server is not None:
        env.update(key=server.key, port=server.port, base=server.base, db=server.db)
    else:
        tmp = harness.mkdtemp(stem)
        env.update(tmp=tmp, db=harness.fresh_db(os.path.join(tmp, "trackdoc.db")))
    rep.comment("%s: %s" % (stem, doc.get("description", "")))
    try:
        for step in doc["cases"]:
            name = "%s: %s" % (stem, step["name"])
            if "sleep" in step:
                time.sleep(step["sleep"])
            env.update(dynamic_vars())
            try:
                if "request" in step:
                    problems = run_http(step, env, server, rep)
                else:
                    problems = run_argv(step, env, rep)
            except Exception as e:  # noqa: BLE001 - a broken case is one failed check
                problems = ["%s: %s" % (type(e).__name__, e)]
            rep.check(name, not problems, "; ".join(problems))
    finally:
        if own is not None:
            own.stop()
