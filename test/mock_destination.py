#!/usr/bin/env python3
"""Mock HTTP destination for reverse_etl tests.

Records every request it receives and answers as the test tells it to, through a
small control API under /_mock/.  Standard library only, so it runs with any
Python 3.9+ (Debian's /usr/bin/python3 is the target).  See test/README-mock.md.

    python3 test/mock_destination.py --host 127.0.0.1 --port 0 \
        [--pid-file F] [--log F] [--idle-timeout S]
"""

import argparse
import gc
import importlib
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CONTROL_PREFIX = "/_mock/"

# A destination that receives 64 MB in one request is a bug in the caller; refusing
# it keeps a runaway test from eating the machine's memory.
MAX_BODY_BYTES = 64 * 1024 * 1024

ANSWER_KEYS = ("status", "body", "headers", "delay_ms", "drop", "echo_request")

# How an answer with "echo_request" writes the request back in its body, and the
# Content-Type it gets (true means "json").
ECHO_FORMATS = {
    "json": "application/json",                        # ASCII only: \u00e9, as Python writes it
    "json_utf8": "application/json; charset=utf-8",    # non-ASCII characters as they are
    "form": "application/x-www-form-urlencoded",       # %XX, '+' for a space
    "text": "text/plain; charset=utf-8",               # "Name: value" lines, raw
}

# What an unconfigured mock answers: tests that only care about what was sent need
# no setup at all.
BUILTIN_DEFAULT = {"status": 200, "body": '{"ok":true}',
                   "headers": {"Content-Type": "application/json"}}


class ConfigError(ValueError):
    """A control request whose JSON is well-formed but means nothing valid."""


class BadRequest(Exception):
    """A request we cannot parse; answered with 400 and the connection closed."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------

class Answer:
    """One validated way of answering a request (immutable once built)."""

    __slots__ = ("status", "body", "headers", "delay", "drop", "times", "echo")

    def __init__(self, status=200, body=b"", headers=(), delay=0.0, drop=False,
                 times=None, echo=None):
        self.status = status
        self.body = body
        self.headers = headers
        self.delay = delay
        self.drop = drop
        self.times = times
        self.echo = echo    # None, or a key of ECHO_FORMATS

    def body_for(self, method, target, headers):
        """The body to send: the configured one, or the request echoed back."""
        if self.echo is None:
            return self.body
        if self.echo == "form":
            pairs = [("method", method), ("url", target)] + list(headers.items())
            return urlencode(pairs).encode("ascii")
        if self.echo == "text":
            lines = [f"{method} {target}"] + [f"{n}: {v}" for n, v in headers.items()]
            return ("\n".join(lines) + "\n").encode("utf-8")
        doc = {"method": method, "url": target, "headers": headers}
        return json.dumps(doc, ensure_ascii=self.echo == "json").encode("utf-8")


def parse_answer(obj, where, allow_times=False):
    """Validate one answer object from the control JSON.

    Errors name the offending place (e.g. "script[2].status") because the test
    author only sees the 400 body, not this code.
    """
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: must be a JSON object")
    allowed = ANSWER_KEYS + (("times",) if allow_times else ())
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(allowed)}")

    status = obj.get("status", 200)
    # 1xx are not final answers and would wedge the client.
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ConfigError(f"{where}.status: must be an integer from 200 to 599")

    headers = obj.get("headers", {})
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}.headers: must be an object of name -> value")
    header_list = []
    for name, value in headers.items():
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{where}.headers.{name}: must be a string or number")
        if any(c in name for c in "\r\n:") or any(c in str(value) for c in "\r\n"):
            raise ConfigError(f"{where}.headers.{name}: contains a line break or colon")
        # We always compute Content-Length ourselves so keep-alive framing stays right.
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        header_list.append((name, str(value)))

    echo = obj.get("echo_request", False)
    if echo is True:
        echo = "json"
    if echo is False:
        echo = None
    elif echo not in ECHO_FORMATS:
        raise ConfigError(f"{where}.echo_request: must be true, false or one of "
                          f"{', '.join(ECHO_FORMATS)}")
    if echo is not None and ("body" in obj or status in (204, 304)):
        raise ConfigError(f"{where}.echo_request: the echo is the body; "
                          f"give no body and a status that has one")

    body = obj.get("body", "")
    is_json = not isinstance(body, str)
    if not is_json:
        body_bytes = body.encode("utf-8")
    else:
        # A JSON value as body is a convenience: no double escaping in the config.
        body_bytes = json.dumps(body, separators=(",", ":")).encode("utf-8")
    if body_bytes and status in (204, 304):
        raise ConfigError(f"{where}.body: a {status} answer cannot have a body")
    if not any(n.lower() == "content-type" for n, _ in header_list):
        if echo is not None:
            header_list.append(("Content-Type", ECHO_FORMATS[echo]))
        elif body_bytes:
            # A JSON value is JSON: parsing it again to find out (a vendor
            # mock's answer, every request) cost as much as building it.
            header_list.append(("Content-Type", "application/json" if is_json
                                else _guess_content_type(body_bytes)))

    delay_ms = obj.get("delay_ms", 0)
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, (int, float)) or delay_ms < 0:
        raise ConfigError(f"{where}.delay_ms: must be a number >= 0")

    drop = obj.get("drop", False)
    if not isinstance(drop, bool):
        raise ConfigError(f"{where}.drop: must be true or false")

    times = obj.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                              or times < 1):
        raise ConfigError(f"{where}.times: must be an integer >= 1")

    return Answer(status, body_bytes, tuple(header_list), delay_ms / 1000.0, drop, times, echo)


# A vendor mock keeps what it is sent (100,000 objects in a long sync), all of
# it long-lived: left to the cyclic garbage collector, every collection of the
# oldest generation walks all of it again, which made the mock's cost per
# request grow with what it holds (half its CPU time in a 100,000-record sync).
# After each vendor request everything alive is moved out of the collector's
# reach (gc.freeze: O(1)); objects are still freed by reference counting, and a
# new config or a reset hands them back (gc.unfreeze) so that reference cycles
# among them, if any, can be collected. PyPy has neither (nor needs them).
_freeze = getattr(gc, "freeze", lambda: None)
_thaw = getattr(gc, "unfreeze", lambda: None)


def _guess_content_type(body):
    try:
        json.loads(body)
        return "application/json"
    except ValueError:
        return "text/plain; charset=utf-8"


# What a mock over its "capacity" answers.
CAPACITY_ANSWER = parse_answer({"status": 429, "body": {"error": "too many concurrent requests"}}, "capacity")


class Config:
    """The parsed answer configuration plus its consumable state.

    Script entries and rules with `times` are used up as requests arrive, so a
    Config is mutated; every access happens under State.lock.
    """

    TOP_KEYS = ("default", "script", "records", "per_path", "vendor", "capacity")
    RECORD_KEYS = ("match", "rules", "items")

    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ConfigError("config: must be a JSON object")
        unknown = sorted(set(raw) - set(self.TOP_KEYS))
        if unknown:
            raise ConfigError(f"config: unknown key(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(self.TOP_KEYS)}")
        self.raw = raw

        self.default = parse_answer(raw.get("default", BUILTIN_DEFAULT), "default")

        # A destination that limits concurrent requests: one arriving while
        # this many are unanswered gets a 429 at once, before anything else.
        self.capacity = raw.get("capacity")
        if self.capacity is not None and (isinstance(self.capacity, bool) or not isinstance(self.capacity, int)
                                          or self.capacity < 1):
            raise ConfigError("capacity: must be an integer >= 1")

        script = raw.get("script", [])
        if not isinstance(script, list):
            raise ConfigError("script: must be an array of answers")
        # Each element is [answer, uses left]; the head is consumed first.
        self.script = deque()
        for i, entry in enumerate(script):
            answer = parse_answer(entry, f"script[{i}]", allow_times=True)
            self.script.append([answer, answer.times or 1])

        per_path = raw.get("per_path", {})
        if not isinstance(per_path, dict):
            raise ConfigError("per_path: must be an object of path prefix -> answer")
        for prefix in per_path:
            if not prefix.startswith("/"):
                raise ConfigError(f"per_path: prefix {prefix!r} must start with /")
        # Longest prefix first so "/v1/batch" beats "/v1".
        self.per_path = sorted(
            ((p, parse_answer(a, f"per_path.{p}")) for p, a in per_path.items()),
            key=lambda pa: len(pa[0]), reverse=True)

        # A vendor's API (test/mocks/<type>.py): answers as the vendor documents,
        # keeping what it was sent (objects, ids) until the next config or reset.
        self.vendor = None
        if raw.get("vendor") is not None:
            self.vendor = load_vendor(raw["vendor"])

        self.match = None
        self.items = ["batch"]
        self.rules = {}
        records = raw.get("records")
        if records is not None:
            if not isinstance(records, dict):
                raise ConfigError("records: must be an object with match and rules")
            unknown = sorted(set(records) - set(self.RECORD_KEYS))
            if unknown:
                raise ConfigError(f"records: unknown key(s) {', '.join(unknown)}; "
                                  f"allowed: {', '.join(self.RECORD_KEYS)}")
            match = records.get("match")
            if not isinstance(match, str) or not match:
                raise ConfigError("records.match: must be a non-empty dotted path "
                                  "such as \"id\" or \"traits.id\"")
            self.match = match.split(".")
            items = records.get("items", "batch")
            if not isinstance(items, str) or not items:
                raise ConfigError("records.items: must be a non-empty dotted path")
            self.items = items.split(".")
            rules = records.get("rules", {})
            if not isinstance(rules, dict):
                raise ConfigError("records.rules: must be an object of value -> answer")
            # Element: [answer, uses left or None for unlimited].
            for key, answer in rules.items():
                parsed = parse_answer(answer, f"records.rules.{key}", allow_times=True)
                self.rules[key] = [parsed, parsed.times]

    def script_remaining(self):
        return sum(left for _, left in self.script)

    def choose(self, path, body, method="POST", headers=None):
        """Pick the answer for a destination request; returns (answer, source).

        Precedence: script, then per-record rules, then the vendor, then
        per_path, then default.
        """
        if self.script:
            entry = self.script[0]
            entry[1] -= 1
            if entry[1] == 0:
                self.script.popleft()
            return entry[0], "script"

        if self.rules:
            for record in self._records_in(body):
                key = _as_text(_lookup(record, self.match))
                rule = self.rules.get(key) if key is not None else None
                if rule is None or rule[1] == 0:
                    continue
                if rule[1] is not None:
                    rule[1] -= 1
                return rule[0], f"record:{key}"

        if self.vendor is not None:
            # Imported here: the mock runs alone (scripts/demo.sh copies just
            # this file) unless a test asks for a vendor.
            request = importlib.import_module("mocks.base").VendorRequest(method, path, headers or {}, body)
            source = f"vendor:{self.vendor.TYPE}"
            try:
                quick = self.vendor.answer_only and request.path != "/__vendor/state"
                answer = self.vendor.quick_answer(request) if quick else self.vendor.handle(request)
                _freeze()
                return parse_answer(answer, f"vendor {self.vendor.TYPE} answer"), source
            except Exception:
                # A bug in the vendor mock: answered and recorded, so the test
                # that hit it shows the traceback instead of a closed connection.
                return parse_answer({"status": 500, "body": "vendor mock error:\n" +
                                     traceback.format_exc()}, "vendor error"), source + ":error"

        bare_path = path.split("?", 1)[0]
        for prefix, answer in self.per_path:
            if bare_path.startswith(prefix):
                return answer, f"per_path:{prefix}"
        return self.default, "default"

    def _records_in(self, body):
        """The records a body carries: an object, an array of objects, or the array
        at `items` ("batch" by default, as Segment sends)."""
        if not body:
            return []
        try:
            doc = json.loads(body)
        except ValueError:
            return []
        if isinstance(doc, list):
            return [r for r in doc if isinstance(r, dict)]
        if isinstance(doc, dict):
            inner = _lookup(doc, self.items)
            if isinstance(inner, list):
                return [r for r in inner if isinstance(r, dict)]
            return [doc]
        return []


def load_vendor(raw):
    """The vendor mock named by config key `vendor` ({"type": T, options...})."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ConfigError('vendor: must be an object with "type" (a file of test/mocks/)')
    name = raw["type"]
    if not name.isidentifier() or name == "base":
        raise ConfigError(f"vendor.type: {name!r} is not a vendor mock")
    try:
        module = importlib.import_module(f"mocks.{name}")
    except ModuleNotFoundError:
        raise ConfigError(f"vendor.type: no vendor mock test/mocks/{name}.py")
    options = {k: v for k, v in raw.items() if k != "type"}
    try:
        return module.Mock(options)
    except ValueError as problem:
        raise ConfigError(f"vendor: {problem}")


def _lookup(value, parts):
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _as_text(value):
    """Text form used to compare a record's value with rule keys (JSON object keys
    are always strings, so 7 and "7" must both match rule "7")."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------------

class State:
    """Recordings and configuration, shared by all connection threads.

    Sequence numbering, answer choice and recording happen under one lock so that
    the n-th recorded request is exactly the one that got the n-th script entry.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.connections = 0
        self.in_flight = 0  # destination requests received and not yet answered
        self._clear()

    def _clear(self):
        self.records = []
        self.seq = 0
        self.config = Config({})
        _thaw()

    def reset(self):
        with self.lock:
            self._clear()
            self.changed.notify_all()

    def set_config(self, config):
        with self.lock:
            self.config = config
            _thaw()

    def next_connection(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def record_and_choose(self, entry, body):
        with self.lock:
            if self.config.capacity is not None and self.in_flight >= self.config.capacity:
                answer, source = CAPACITY_ANSWER, "capacity"
            else:
                answer, source = self.config.choose(entry["path"], body, entry["method"],
                                                    entry["headers"])
            self.seq += 1
            entry["seq"] = self.seq
            # Counts this request too; it is answered (and uncounted) by answered().
            self.in_flight += 1
            entry["in_flight"] = self.in_flight
            entry["status"] = None if answer.drop else answer.status
            entry["dropped"] = answer.drop
            entry["delay_ms"] = round(answer.delay * 1000)
            entry["answer_from"] = source
            self.records.append(entry)
            self.changed.notify_all()
            return answer

    def answered(self):
        with self.lock:
            self.in_flight -= 1

    def select(self, query):
        """Recorded requests filtered by path_prefix, method and since (seq)."""
        keep = _record_filter(query)
        with self.lock:
            return [r for r in self.records if keep(r)]

    def wait_for(self, query, count, timeout):
        """Block until `count` recorded requests match the query, or timeout."""
        keep = _record_filter(query)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                n = sum(1 for r in self.records if keep(r))
                left = deadline - time.monotonic()
                if n >= count or left <= 0:
                    return n
                self.changed.wait(left)


def _record_filter(query):
    prefix = query.get("path_prefix", "")
    method = query.get("method", "").upper()
    since = int(query.get("since", "0") or 0)
    return lambda r: (r["seq"] > since and r["path"].startswith(prefix)
                      and (not method or r["method"] == method))


# --------------------------------------------------------------------------------
# HTTP handling
# --------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as the extension's pool expects
    server_version = "reverse-etl-mock/1"

    def version_string(self):
        return self.server_version

    def setup(self):
        self.timeout = self.server.idle_timeout  # StreamRequestHandler applies it
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = self.server.state.next_connection()

    def handle(self):
        # A client that hangs up mid-request (timeouts, dropped tests) is normal here,
        # not an error worth a traceback.
        try:
            super().handle()
        except (ConnectionError, TimeoutError, socket.timeout):
            pass

    def log_request(self, code="-", size="-"):
        pass  # we log our own, richer line per request

    def log_message(self, fmt, *args):
        self.server.log(f"conn={self.conn_id} {self.address_string()} {fmt % args}")

    def _dispatch(self):
        try:
            body = self._read_body()
        except BadRequest as e:
            self.close_connection = True
            self._send_json(e.status, {"error": str(e)})
            return
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            self._control(path, body)
        else:
            self._destination(body)

    # Any method is accepted and recorded: the destination types use several.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    # ---- request body --------------------------------------------------------

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.split(",")[-1].strip().lower() != "chunked":
                raise BadRequest(501, f"unsupported Transfer-Encoding: {te}")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""  # HTTP/1.1: no length and no chunking means no body
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            raise BadRequest(400, f"bad Content-Length: {length!r}")
        if n > MAX_BODY_BYTES:
            raise BadRequest(413, f"body over {MAX_BODY_BYTES} bytes")
        return self._read_exact(n)

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionResetError("client closed the connection mid-body")
        return data

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ConnectionResetError("client closed the connection mid-body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, "bad chunk size line: "
                                 + line[:40].decode("latin-1").strip())
            if size == 0:
                # Trailers, if any, end with an empty line; we ignore them.
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest(413, f"body over {MAX_BODY_BYTES} bytes")
            chunks.append(self._read_exact(size))
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest(400, "chunk not followed by CRLF")

    # ---- responses -----------------------------------------------------------

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)  # "Connection: close" is honoured here
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status, value, extra_headers=()):
        body = (json.dumps(value, separators=(",", ":")) + "\n").encode("utf-8")
        self._send(status, body, (("Content-Type", "application/json"),) + tuple(extra_headers))

    # ---- destination requests ------------------------------------------------

    def _destination(self, body):
        started = time.time()
        entry = {
            "seq": None,  # filled in under the lock, with the answer
            "time": datetime.fromtimestamp(started, timezone.utc).isoformat(
                timespec="microseconds"),
            "epoch": round(started, 6),
            "method": self.command,
            "path": self.path,
            # Lower-case names: HTTP header names are case-insensitive, and one
            # spelling lets tests write headers->>'authorization' whatever the client sent.
            "headers": self._header_dict(),
            "body": _text(body),
            "body_bytes": len(body),
            "conn": self.conn_id,  # same conn for two requests = keep-alive reuse
        }
        answer = self.server.state.record_and_choose(entry, body)
        # Sleeping in this connection's own thread delays only this client.
        try:
            if answer.delay:
                time.sleep(answer.delay)
        finally:
            # Before the answer goes out: a client that waits for it cannot
            # have its next request counted as overlapping this one.
            self.server.state.answered()
        outcome = "dropped" if answer.drop else str(answer.status)
        self.server.log(f"conn={self.conn_id} seq={entry['seq']} {self.command} "
                        f"{self.path} {len(body)}B -> {outcome} "
                        f"({entry['answer_from']}, delay {entry['delay_ms']} ms)")
        if answer.drop:
            # Say nothing and let the server close the socket: the client sees an
            # empty reply, as with a crashed upstream.
            self.close_connection = True
            return
        self._send(answer.status, answer.body_for(self.command, self.path, entry["headers"]),
                   answer.headers)

    def _header_dict(self):
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            value = _text(value.encode("latin-1", errors="replace"))
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    # ---- control API ---------------------------------------------------------

    def _control(self, path, body):
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        route = path[len(CONTROL_PREFIX):].rstrip("/")
        method = "GET" if self.command == "HEAD" else self.command
        state = self.server.state
        routes = {
            "health": ("GET",),
            "requests": ("GET", "DELETE"),
            "requests.jsonl": ("GET",),
            "reset": ("POST",),
            "config": ("GET", "POST", "PUT"),
            "stats": ("GET",),
            "wait": ("GET",),
        }
        if route not in routes:
            self._send_json(404, {"error": f"unknown control path {path}; known: " +
                                  ", ".join(CONTROL_PREFIX + r for r in routes)})
            return
        if method not in routes[route]:
            self._send_json(405, {"error": f"{self.command} not allowed on {path}"},
                            (("Allow", ", ".join(routes[route])),))
            return
        try:
            if route == "health":
                self._send(200, b"ok", (("Content-Type", "text/plain"),))
            elif (route == "requests" and method == "DELETE") or route == "reset":
                state.reset()
                self._send_json(200, {"reset": True})
            elif route == "requests":
                self._send_json(200, state.select(query))
            elif route == "requests.jsonl":
                self._send_jsonl(state.select(query), query.get("format", ""))
            elif route == "config" and method == "GET":
                with state.lock:
                    raw, left = state.config.raw, state.config.script_remaining()
                self._send_json(200, {"config": raw, "script_remaining": left})
            elif route == "config":
                if not body.strip():
                    raise ConfigError("body is empty: send a JSON object "
                                      "({} for the built-in default)")
                try:
                    raw = json.loads(body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    raise ConfigError(f"body is not valid JSON: {e}")
                config = Config(raw)
                state.set_config(config)
                self._send_json(200, {"ok": True,
                                      "script_remaining": config.script_remaining()})
            elif route == "stats":
                selected = state.select(query)
                with state.lock:
                    left = state.config.script_remaining()
                self._send_json(200, {"requests": len(selected),
                                      "bytes": sum(r["body_bytes"] for r in selected),
                                      "script_remaining": left})
            elif route == "wait":
                count = int(query.get("count", "1"))
                timeout = float(query.get("timeout", "10"))
                n = state.wait_for(query, count, timeout)
                # Non-2xx on timeout so `curl -f` in a test script fails loudly.
                self._send_json(200 if n >= count else 408,
                                {"requests": n, "reached": n >= count})
        except ConfigError as e:
            self._send_json(400, {"error": str(e)})
        except ValueError as e:  # bad numbers in query strings
            self._send_json(400, {"error": f"bad query parameter: {e}"})

    def _send_jsonl(self, records, fmt):
        # ensure_ascii keeps every line pure ASCII and escapes every control
        # character, so no line ever holds a raw newline, tab or CR.
        text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=True) + "\n"
                       for r in records)
        if fmt == "copy":
            # COPY's text format treats backslash as an escape; doubling each one
            # makes plain `COPY t FROM PROGRAM 'curl ...'` yield the JSON unchanged.
            text = text.replace("\\", "\\\\")
        elif fmt:
            raise ConfigError("format: must be empty or \"copy\"")
        self._send(200, text.encode("ascii"),
                   (("Content-Type", "application/x-ndjson"),))


def _text(raw):
    """Bytes as recordable text: invalid UTF-8 and NUL bytes become U+FFFD, because
    PostgreSQL text and jsonb cannot hold NUL and tests cast recorded lines to jsonb."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class MockServer(ThreadingHTTPServer):
    daemon_threads = True      # idle keep-alive connections must not block exit
    block_on_close = False     # ... nor server_close()
    request_queue_size = 128   # concurrency tests open many connections at once

    def __init__(self, address, log_file, idle_timeout):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = State()
        self._log_file = log_file
        self._log_lock = threading.Lock()
        self.idle_timeout = idle_timeout or None
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall
        # for seconds in a sandbox without DNS; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def log(self, line):
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._log_lock:
            self._log_file.write(f"{stamp} {line}\n")
            self._log_file.flush()

    def handle_error(self, request, client_address):
        # Log the error in one place instead of a bare traceback on stderr, and keep
        # serving: one broken connection must not take the mock down.
        self.log(f"error on {client_address}: {traceback.format_exc().strip()}")


# --------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------

def write_pid_file(path):
    # Write then rename so a harness polling for the file never reads it half-written;
    # it appears only once the socket is listening.
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def remove_pid_file(path):
    try:
        with open(path) as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(path)
    except OSError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="Mock HTTP destination for reverse_etl tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080,
                        help="0 picks a free port (printed on stdout)")
    parser.add_argument("--pid-file", help="written once listening, removed on exit")
    parser.add_argument("--log", help="request log file (default: stderr)")
    parser.add_argument("--idle-timeout", type=float, default=300,
                        help="close connections idle this many seconds (0: never)")
    args = parser.parse_args(argv)

    # Handlers go in before the port is announced: a harness may signal as soon as it
    # reads the "listening" line, and must still get a clean exit (pid file removed).
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    log_file = open(args.log, "a", encoding="utf-8") if args.log else sys.stderr
    try:
        server = MockServer((args.host, args.port), log_file, args.idle_timeout)
    except OSError as e:
        print(f"mock_destination: cannot listen on {args.host}:{args.port}: {e}",
              file=sys.stderr)
        return 1

    host, port = server.server_address[:2]
    if args.pid_file:
        write_pid_file(args.pid_file)
    print(f"listening on {host}:{port}", flush=True)
    server.log(f"listening on {host}:{port} pid={os.getpid()}")

    # serve_forever runs in a thread so the main thread is free to take signals and
    # call shutdown(), which would deadlock if called from serve_forever's own thread.
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="serve",
                              daemon=True)
    thread.start()
    while not stop.wait(1.0):
        pass

    server.log("shutting down")
    server.shutdown()
    server.server_close()
    if args.pid_file:
        remove_pid_file(args.pid_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
