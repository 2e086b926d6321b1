"""A route crawler: every rule of ``app.url_map``, GET and POST, with hostile values in
each path variable, query parameter, form field and JSON field the route reads.

Which parameters a route reads is found out, not listed:

- path variables come from the rule itself;
- query parameters and form fields: a baseline request is made with a recording
  ``request.args`` / ``request.form`` (every name a view or a WTForms form asks for is
  noted), the forms on every baseline page are parsed (a POST route gets the fields of
  the forms that post to it, with their current values as the baseline), and
  Flask-Admin list views add their declared list arguments (``page``, ``sort``,
  ``desc``, ``search``, ``page_size`` and every filter's ``flt0_<arg>``);
- JSON fields of the API's writes come from its OpenAPI document (``requestBody``).

So a new route, form field, filter or API operation is crawled without touching this file.

Bounded combinations, not a cartesian product (per route):

- "rotated" requests: every parameter at once, parameter *j* of request *k* holding
  hostile value ``(j + k) % n`` — each parameter meets each value once. The first
  identity that a route lets in gets the values only the guard stops (NUL, bytes that
  are not UTF-8) this way; admin list filters (independent of each other: each one is
  validated and applied on its own) get the whole set; other identities, and routes
  that turn the identity away, a short set (who is let in and what is shown may differ,
  not how a value is parsed).
- "single" requests, once per route as the first identity let in: one parameter hostile,
  the rest at their baseline, so an early refusal of one value cannot hide what another
  parameter does with its own (a form must be valid apart from the hostile field to
  reach the database write). Parameters that reach the code the same way are crawled
  once (``Crawler._equivalence``): an admin form field per column type and write path,
  any other parameter per view function — the generated admin and API views share
  theirs. Bounded ``<int:…>`` path variables are refused by routing and rotate only.
"""
import functools
import html.parser
import inspect
import json
import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlsplit

from flask import g
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

try:  # the alliance admin's model views; the crawler itself works on any Flask app
    from flask_admin.model import BaseModelView
except ImportError:  # pragma: no cover
    BaseModelView = ()

# The fixed hostile set. bytes: not valid UTF-8.
HOSTILE = {
    "nul": "a\x00b",
    "int32": "2147483648",
    "int64": "9223372036854775808",
    "int30": "9" * 30,
    "int5000": "1" * 5000,  # past Python's 4300-digit int() limit
    "negative": "-1",
    "huge_negative": "-" + "9" * 20,
    "date_min": "0001-01-01",
    "date_max": "9999-12-31",
    "datetime_min": "0001-01-01 00:00:00",
    "datetime_max": "9999-12-31 23:59:59",
    "abc": "abc",
    "long": ("长" * 10 + "x" * 90) * 100,  # 10,000 characters, some of them multi-byte
    "bad_utf8": b"\xff\xfe\xed\xa0\x80",
    "newline": "a\r\nb",
}
# What only the request guard stops, whatever the parameter.
GUARDED = ("nul", "bad_utf8")
# One parameter at a time: the values that get past the guard to be judged by the
# parameter's own rules (int64, int5000 and huge_negative add little there).
SINGLE_VALUES = [k for k in HOSTILE if k not in GUARDED + ("int64", "int5000", "huge_negative")]
# Another identity on a route crawled already, or an identity the route turns away.
SHORT_VALUES = GUARDED + ("int30", "abc", "long")
# Flask-Admin list arguments every model view reads.
ADMIN_LIST_ARGS = ("page", "page_size", "sort", "desc", "search")
# Writes that end a session or remove rows go last, in this order.
LAST = ("delete_view", "action_view", "logout")


@functools.lru_cache(maxsize=512)
def encode(value, safe=""):
    if isinstance(value, bytes):
        return quote_from_bytes(value, safe=safe)
    return quote(str(value).encode("utf-8"), safe=safe)


def urlencode(pairs):
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


def json_value(value):
    """A hostile value as JSON would carry it: digits as numbers, the rest as text."""
    if isinstance(value, bytes):
        return value.decode("latin-1")  # re-encoded below as the raw bytes
    if re.fullmatch(r"-?\d{1,40}", value):
        return int(value)
    return value


def json_body(fields):
    text = json.dumps(fields, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # pragma: no cover
        return text.encode("utf-8", "surrogatepass")


# --- recording what a view reads ---------------------------------------------------------

class Recorder:
    active = None  # the set receiving names while a probe runs


class RecordingMultiDict(ImmutableMultiDict):
    def _note(self, key):
        if Recorder.active is not None and isinstance(key, str):
            Recorder.active.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


def recording_request_class(base):
    return type("RecordingRequest", (base,), {"parameter_storage_class": RecordingMultiDict})


# --- forms on a page -----------------------------------------------------------------------

class FormParser(html.parser.HTMLParser):
    """The forms of a page: action, method and {field: current value}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").upper(),
                          "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        fields, name = self._form["fields"], a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                fields.setdefault(name, None)
                return
            fields[name] = a.get("value") or ("y" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, None)
        elif tag == "option" and self._select:
            if fields.get(self._select) is None or "selected" in a:
                fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def page_forms(html_text, page_path):
    """[(method, action path, action query, fields)] of the page's forms."""
    parser = FormParser()
    parser.feed(html_text)
    out = []
    for form in parser.forms:
        parts = urlsplit(form["action"] or page_path)
        if parts.netloc and parts.netloc != "localhost":
            continue
        fields = {k: v for k, v in form["fields"].items() if v is not None and k != "csrf_token"}
        out.append((form["method"], parts.path or page_path, dict(parse_qsl(parts.query)), fields))
    return out


# --- targets ------------------------------------------------------------------------------------

@dataclass
class Target:
    identity: str
    method: str
    rule: object
    path_values: dict                                # argument → baseline text
    query: dict = field(default_factory=dict)        # baseline query parameters
    form: dict = field(default_factory=dict)         # baseline form fields
    json: dict = None                                # baseline JSON body (API writes)
    rotated_only: set = field(default_factory=set)   # independent params (admin list filters)
    bounded_paths: set = field(default_factory=set)  # <int:…> arguments: routing refuses
    reached: bool = True                             # the baseline got past the access rule

    @property
    def endpoint(self):
        return self.rule.endpoint

    def label(self):
        return f"{self.identity:5} {self.method:4} {self.rule.rule}"


@dataclass
class Failure:
    target: str
    where: str
    value: str
    status: int
    error: str


class ErrorLog(logging.Handler):
    """The last unhandled exception the app logged (its 500 handler logs every one)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.last = f"{type(exc).__name__}: {str(exc)[:200]}"


class Crawler:
    def __init__(self, app, clients, baseline_args=None, admin_only=("admin",), openapi=None):
        """``clients``: {identity: test client (logged in as it)}, the first the most
        privileged; ``baseline_args``: {rule argument: text} for path variables (an export
        type…; anything else is "1", the first record); ``openapi``: the API document's URL.

        Requests go out through one cookie-less client with each identity's cookies as a
        fixed header: every request starts from the same session, and the test client's
        cookie jar does not re-parse every (long) URL twice per request."""
        self.app = app
        self.clients = clients
        self.raw_client = app.test_client(use_cookies=False)
        self.cookies = {identity: self._cookie_header(client) for identity, client in clients.items()}
        self.baseline_args = baseline_args or {}
        self.admin_only = admin_only
        self.failures = []
        self.requests = 0
        self.seconds = 0.0
        self.forms = {}           # (identity, path) → (query, fields)
        self.singled = set()      # (method, rule) crawled one parameter at a time
        self.classes = set()      # equivalence classes crawled one parameter at a time
        self.addr = 0
        self.error_log = ErrorLog()
        admin = app.extensions.get("alliance_admin")
        self.admin_views = {v.endpoint: v for v in admin._views} if admin else {}
        self.bodies = self._request_bodies(openapi) if openapi else {}

    def _cookie_header(self, client):
        names = (self.app.config.get("SESSION_COOKIE_NAME", "session"),
                 self.app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        cookies = [client.get_cookie(name) for name in names]
        return "; ".join(f"{c.key}={c.value}" for c in cookies if c is not None)

    def _request_bodies(self, url):
        """{(method, Flask rule): {field: example}} from the OpenAPI document."""
        spec = next(iter(self.clients.values())).get(url).get_json()
        prefix = spec["servers"][0]["url"]
        out = {}
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                schema = (operation.get("requestBody") or {}).get("content", {}).get(
                    "application/json", {}).get("schema")
                if schema:
                    rule = prefix + re.sub(r"\{id\}", "<int:pk>", path)
                    out[(method.upper(), rule)] = {
                        name: (1 if prop.get("type") == "integer" else "正常内容")
                        for name, prop in schema.get("properties", {}).items()}
        return out

    # -- plumbing ------------------------------------------------------------------------------

    def _remote_addr(self):
        # a new address for every request: login throttles and sign-up limits must not
        # hide the code behind them from the crawl (they have their own tests)
        self.addr += 1
        return f"10.{(self.addr >> 16) & 255}.{(self.addr >> 8) & 255}.{self.addr & 255}"

    def _send(self, target, path, query, form, body=None, raw_path=None, referrer=None):
        url = path + ("?" + urlencode(query) if query else "")
        headers = {"Cookie": self.cookies[target.identity]} if self.cookies[target.identity] else {}
        if referrer is not None:
            headers["Referer"] = referrer
        kwargs = {"environ_base": {"REMOTE_ADDR": self._remote_addr()}, "headers": headers}
        if raw_path is not None:
            kwargs["environ_overrides"] = {"PATH_INFO": raw_path}
        if body is not None:
            kwargs["data"] = body
            kwargs["content_type"] = "application/json"
        elif target.method == "POST":
            kwargs["data"] = urlencode(form).encode("ascii")
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        self.requests += 1
        self.error_log.last = None
        vars(g).clear()  # each request starts with a fresh g, as in its own app context
        response = self.raw_client.open(url, method=target.method, **kwargs)
        database = self.app.extensions.get("database")
        if database is not None and not database.is_closed() and database.in_transaction():
            self.failures.append(Failure(target.label(), "after the request", "-", response.status_code,
                                         "a transaction was left open"))
            database.rollback()
        page = None
        if response.status_code == 200 and target.method == "GET" and response.mimetype == "text/html":
            page = response.get_data(as_text=True)
        location = response.headers.get("Location", "")
        response.close()
        return response.status_code, page, location

    def _path(self, target, overrides=None):
        """The URL path (percent-encoded) and, when a value is not UTF-8, the raw PATH_INFO."""
        values = dict(target.path_values, **(overrides or {}))
        path, raw, needs_raw = target.rule.rule, target.rule.rule, False
        for match in re.finditer(r"<(?:([^:<>]+):)?([^<>]+)>", target.rule.rule):
            value = values[match.group(2)]
            path = path.replace(match.group(0), encode(value, safe="/" if match.group(1) == "path" else ""))
            needs_raw = needs_raw or isinstance(value, bytes)
            text = value.decode("latin-1") if isinstance(value, bytes) else value.encode("utf-8").decode("latin-1")
            raw = raw.replace(match.group(0), text)
        return path, (raw if needs_raw else None)

    def _check(self, target, where, values, status):
        if status >= 500:
            self.failures.append(Failure(target.label(), where, values, status, self.error_log.last or ""))

    # -- discovery -----------------------------------------------------------------------------

    def targets(self):
        out = []
        for rule in self.app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
                continue
            for identity in self.clients:
                if rule.rule.startswith("/admin") and identity not in self.admin_only:
                    continue
                for method in ("GET", "POST"):
                    if method not in rule.methods:
                        continue
                    path_values = {arg: self.baseline_args.get(arg, "1") for arg in rule.arguments}
                    target = Target(identity, method, rule, path_values)
                    target.bounded_paths = {("path", arg) for arg, conv in rule._converters.items()
                                            if isinstance(conv, IntegerConverter) and conv.max is not None}
                    if (method, rule.rule) in self.bodies:
                        target.json = dict(self.bodies[(method, rule.rule)])
                    self._declared(target)
                    out.append(target)

        def order(t):
            kind = t.endpoint.rpartition(".")[2]
            return t.method == "POST", LAST.index(kind) + 1 if kind in LAST else 0
        return sorted(out, key=order)

    def _declared(self, target):
        """Parameters Flask-Admin model views read only when present (lists, record id)."""
        view = self.admin_views.get(target.endpoint.partition(".")[0])
        if not isinstance(view, BaseModelView):
            return
        kind = target.endpoint.partition(".")[2]
        if kind in ("edit_view", "details_view", "delete_view"):
            target.query["id"] = "1"
        if kind in ("index_view", "export"):
            for arg in ADMIN_LIST_ARGS:
                target.query.setdefault(arg, "")
        if kind == "index_view":  # the export applies the same filters the same way
            for key in view._filter_args or {}:
                target.query[f"flt0_{key}"] = ""
                target.rotated_only.add(f"flt0_{key}")

    def _discover(self, target):
        """A baseline request that notes which names the view reads; pages' forms are kept."""
        path, _ = self._path(target)
        if target.method == "POST":
            known = self.forms.get((target.identity, path))
            if known is None and target.endpoint.endswith(".create_view"):
                # a new record's form, filled like the existing record's edit form
                known = self.forms.get((target.identity, path.replace("/new/", "/edit/")))
            if known:
                target.query.update(known[0])
                target.form.update(known[1])
        names = set()
        Recorder.active = names
        try:
            body = json_body(target.json) if target.json is not None else None
            status, page, location = self._send(target, path, list(target.query.items()),
                                                list((target.form or {"_probe": "1"}).items()), body)
        finally:
            Recorder.active = None
        self._check(target, "baseline", "-", status)
        target.reached = status not in (401, 403, 405) and "/login" not in location
        if page and "<form" in page:
            for method, action, query, fields in page_forms(page, path):
                if method == "POST":
                    self.forms.setdefault((target.identity, action), (query, fields))
        for name in names:
            if target.method == "POST" and name not in target.query:
                target.form.setdefault(name, "")
            elif target.method == "GET":
                target.query.setdefault(name, "")

    # -- the crawl -------------------------------------------------------------------------------

    def run(self):
        """The crawl. It runs inside one app context, so that the database connection a
        request opens is not closed and reopened for the next one (on PostgreSQL that
        was most of the crawl's time); ``g`` is emptied before every request instead."""
        self.app.logger.addHandler(self.error_log)
        original = self.app.request_class
        self.app.request_class = recording_request_class(original)
        started = time.monotonic()
        context = self.app.app_context()
        context.push()
        try:
            targets = self.targets()
            gets = [t for t in targets if t.method == "GET"]
            for target in gets:  # every page first, so that POST routes know their forms
                self._discover(target)
            for target in gets:
                self._attack(target)
            for target in targets:  # then the writes, in order (sessions end last)
                if target.method == "POST":
                    self._discover(target)
                    self._attack(target)
        finally:
            context.pop()
            self.app.request_class = original
            self.app.logger.removeHandler(self.error_log)
        self.seconds = time.monotonic() - started
        return self.failures

    def _params(self, target):
        return ([("path", a) for a in target.path_values] + [("query", q) for q in target.query]
                + [("form", f) for f in target.form] + [("json", j) for j in (target.json or {})])

    def _attack(self, target):
        params = self._params(target)
        key = (target.method, target.rule.rule)
        single = target.reached and key not in self.singled
        if single:
            self.singled.add(key)
        names = list(HOSTILE)
        if not any(p[1] in target.rotated_only for p in params):
            names = list(GUARDED if single else SHORT_VALUES)
        for k in range(len(names)):
            assigned = {p: names[(j + k) % len(names)] for j, p in enumerate(params)}
            self._one(target, assigned, "rotated", referrer=HOSTILE[names[k]])
        if not single:
            return
        for p in params:
            if p[1] in target.rotated_only or p in target.bounded_paths:
                continue
            same = self._equivalence(target, p)
            if same in self.classes:
                continue
            self.classes.add(same)
            for name in SINGLE_VALUES:
                self._one(target, {p: name}, f"{p[0]}:{p[1]}")

    def _equivalence(self, target, param):
        """Parameters that reach the code the same way. An admin form field: its column
        type (class, NULL, choices, unique) written by the same function. Anything else:
        its name, read by the same view function."""
        view = self.admin_views.get(target.endpoint.partition(".")[0])
        kind = target.endpoint.partition(".")[2]
        if isinstance(view, BaseModelView) and param[0] == "form" and kind in ("create_view", "edit_view"):
            column = view.model._meta.fields.get(param[1])
            if column is not None:
                write = getattr(type(view), "create_model" if kind == "create_view" else "update_model")
                return ("column", write.__qualname__.replace(".update_model", ".create_model"),
                        type(column).__name__, column.null, bool(column.choices), column.unique)
        function = inspect.unwrap(self.app.view_functions[target.endpoint])
        return (target.method, function.__module__, function.__qualname__, param)

    def _one(self, target, assigned, where, referrer=None):
        """One request: ``assigned`` {param: hostile value name}, the rest at the baseline."""
        overrides = {p[1]: HOSTILE[n] for p, n in assigned.items() if p[0] == "path"}
        path, raw = self._path(target, overrides)

        def value(kind, key, baseline):
            name = assigned.get((kind, key))
            return baseline if name is None else HOSTILE[name]

        query = [(k, value("query", k, v)) for k, v in target.query.items()]
        form = [(k, value("form", k, v)) for k, v in target.form.items()]
        body = None
        if target.json is not None:
            fields = {k: json_value(value("json", k, v)) if ("json", k) in assigned else v
                      for k, v in target.json.items()}
            body = json_body(fields)
            if any(assigned.get(("json", k)) == "bad_utf8" for k in target.json):
                body = body.replace("ÿþ".encode("utf-8"), b"\xff\xfe")  # the raw bytes, not UTF-8
        if isinstance(referrer, bytes) or (referrer and re.search(r"[\r\n\x00]", referrer)):
            referrer = None  # a client cannot send these in a header (the guard's tests do NUL)
        status, _, _ = self._send(target, path, query, form, body, raw_path=raw, referrer=referrer)
        if status >= 500:
            values = ",".join(sorted(set(assigned.values())))
            self._check(target, where, values, status)

    # -- the result ------------------------------------------------------------------------------

    def report(self):
        lines = [f"{len(self.failures)} responses ≥ 500 in {self.requests} requests ({self.seconds:.1f} s):"]
        lines += [f"  {f.status} {f.target} [{f.where} = {f.value}] {f.error}" for f in self.failures]
        return "\n".join(lines)

    def distinct(self):
        """Failures counted once per (route, method, exception type) over all identities."""
        return sorted({(f.target[6:], f.error.split(":")[0]) for f in self.failures})
