"""What every vendor mock shares: the request it sees, option checking, the
records to reject and the rate limit a test asks for.

A vendor mock is a file test/mocks/<type>.py defining `class Mock(VendorMock)`.
The mock server makes one when a test posts
    {"vendor": {"type": "<type>", <options>}}
to /_mock/config, and asks its handle() for the answer to every destination
request (after the config's script and record rules, which tests use to force
an answer). The instance lives until the next config or reset, so it can keep
what it was sent (objects and the ids it gave them) and answer later lookups.
handle() returns an answer object as the config takes it: {"status", "headers",
"body" (a string, or a JSON value sent serialized)}. Calls are serialized by
the server's lock.

Options every vendor takes (besides its own, listed in OPTIONS):
  "reject": {"<key>": "<message>", ...}
      records whose key (the vendor's identifier of a record: an email, an
      external id...) is listed are refused one by one, the way the vendor
      reports a per-record failure, with that message.
  "rate_limit": {"requests": N, "window_s": S, "retry_after": R}
      at most N requests per S seconds (a sliding window); the others get the
      vendor's 429, with "Retry-After: R" when R is given (else without it).
  "unauthorized": true
      every request is answered as the vendor answers bad credentials.
  "answer_only": true
      every request gets the vendor's success answer for it, built by the
      mock's quick_answer() without checking the request, applying it or
      keeping anything (no rate limit either). For bench/vendors.py, which
      measures the product's throughput: the checking mocks cost the machine's
      other core several times what the product does. Only mocks defining
      quick_answer take it.
"""

import codecs
import json
import time
from collections import deque
from urllib.parse import parse_qs, unquote, urlsplit

COMMON_OPTIONS = {
    "reject": "object of record key -> message: those records fail one by one",
    "rate_limit": "object {requests, window_s, retry_after}: the vendor's 429 beyond it",
    "unauthorized": "true: answer every request as with bad credentials",
    "answer_only": "true: answer every request with the vendor's success answer for it (quick_answer), "
                   "checking and keeping nothing; for throughput benchmarks",
}


class VendorRequest:
    """A destination request as a vendor mock sees it."""

    def __init__(self, method, target, headers, body):
        parts = urlsplit(target)
        self.method = method
        self.target = target
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers          # lower-case names
        self.body = body                # bytes

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def form(self):
        """The body as form fields (name -> first value), as
        parse_qs(body, keep_blank_values=True) reads them."""
        fields = {}
        for pair in self.body.decode("utf-8", "replace").split("&"):
            if not pair:
                continue
            name, _, value = pair.partition("=")
            fields.setdefault(form_unquote(name), form_unquote(value))
        return fields

    def query_value(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default


def form_unquote(text):
    """urllib.parse.unquote_plus(text): '+' is a space, %XX a byte, the bytes
    UTF-8 (errors replaced). The standard library decodes %XX one at a time in
    Python, half of the Amplitude mock's time on a 100-record form body; for
    ASCII text whose every % starts an escape, codecs.escape_decode does the
    same in C once each % is turned into \\x (and each backslash doubled).
    Anything else goes to unquote, so the result is the same either way."""
    text = text.replace("+", " ")
    if "%" not in text or not text.isascii():
        return unquote(text)
    raw = text.encode("ascii").replace(b"\\", b"\\\\").replace(b"%", b"\\x")
    try:
        return codecs.escape_decode(raw)[0].decode("utf-8", "replace")
    except ValueError:      # a % not followed by two hex digits
        return unquote(text)


def answer(status, body=None, headers=None):
    """An answer object as the mock's config takes it."""
    result = {"status": status}
    if body is not None:
        result["body"] = body
    if headers:
        result["headers"] = headers
    return result


class ValueIndex:
    """The ids of a vendor's objects by one property's (normalized) value,
    kept as the objects change, so a lookup by key is not a scan of every
    object (100,000 upserts by email would be quadratic)."""

    def __init__(self):
        self.by_value = {}
        self.by_id = {}

    def move(self, object_id, norm):
        """The object's value is now `norm` (None: it has none)."""
        old = self.by_id.get(object_id)
        if old == norm:
            return
        if old is not None:
            self.by_value[old].discard(object_id)
            if not self.by_value[old]:
                del self.by_value[old]
            del self.by_id[object_id]
        if norm is not None:
            self.by_value.setdefault(norm, set()).add(object_id)
            self.by_id[object_id] = norm

    def remove(self, object_id):
        self.move(object_id, None)

    def first(self, norm, in_order):
        """The id of the object with that value, or None; where several
        share it, the first of `in_order` (creation order), as a scan finds."""
        ids = self.by_value.get(norm)
        if not ids:
            return None
        if len(ids) == 1:
            return next(iter(ids))
        return next(i for i in in_order if i in ids)


class VendorMock:
    TYPE = "base"
    OPTIONS = {}   # the vendor's own options: name -> description

    def __init__(self, options):
        allowed = dict(COMMON_OPTIONS, **self.OPTIONS)
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for {self.TYPE}; "
                             f"allowed: {', '.join(sorted(allowed))}")
        self.options = options
        self.rejects = options.get("reject", {})
        if not isinstance(self.rejects, dict) or not all(
                isinstance(v, str) for v in self.rejects.values()):
            raise ValueError("reject: must be an object of record key -> message")
        self.unauthorized = options.get("unauthorized", False) is True
        self.answer_only = options.get("answer_only", False) is True
        if self.answer_only and type(self).quick_answer is VendorMock.quick_answer:
            raise ValueError(f"answer_only: the {self.TYPE} mock has no quick answers")
        self._limit = self._parse_rate_limit(options.get("rate_limit"))
        self._recent = deque()   # arrival times within the window

    @staticmethod
    def _parse_rate_limit(raw):
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("requests"), int) \
                or raw["requests"] < 0 or not isinstance(raw.get("window_s"), (int, float)) \
                or raw["window_s"] <= 0:
            raise ValueError("rate_limit: must be {requests: integer >= 0, window_s: seconds > 0"
                             "[, retry_after: seconds]}")
        return raw

    def quick_answer(self, request):
        """With answer_only: the answer the vendor gives this request when
        everything in it is accepted, with the same status, headers and body
        shape (per-record results included) as handle()'s."""
        raise NotImplementedError

    def rejection(self, key):
        """The message a record with this key is refused with, or None."""
        if key is None:
            return None
        return self.rejects.get(str(key))

    def over_rate_limit(self):
        """Counts this request; True when it is beyond the test's rate limit."""
        if self._limit is None:
            return False
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= self._limit["window_s"]:
            self._recent.popleft()
        if len(self._recent) >= self._limit["requests"]:
            return True
        self._recent.append(now)
        return False

    def rate_window(self):
        """The test's rate limit as (requests allowed, window seconds, requests
        counted in the window, monotonic time of the oldest), or None: for the
        vendors' own rate-limit headers."""
        if self._limit is None:
            return None
        oldest = self._recent[0] if self._recent else time.monotonic()
        return self._limit["requests"], self._limit["window_s"], len(self._recent), oldest

    def retry_after_headers(self):
        seconds = self._limit.get("retry_after") if self._limit else None
        return {"Retry-After": str(seconds)} if seconds is not None else {}

    # A vendor offering the option `delay_ms` ({"<path>": N} or {"<path>": [N1, ...]}:
    # the answers to that path wait, the request taking effect at once) parses it
    # with parse_delays and asks next_delay for each answer.
    @staticmethod
    def parse_delays(raw):
        """path -> a number (every request) or a deque of numbers (the next ones)."""
        def is_ms(value):
            return not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0

        if not isinstance(raw, dict):
            raise ValueError("delay_ms: must be an object of path -> milliseconds or list of them")
        delays = {}
        for path, value in raw.items():
            if not path.startswith("/"):
                raise ValueError(f"delay_ms: path {path!r} must start with /")
            if is_ms(value):
                delays[path] = value
            elif isinstance(value, list) and all(is_ms(v) for v in value):
                delays[path] = deque(value)
            else:
                raise ValueError(f"delay_ms.{path}: must be a number >= 0 or a list of them")
        return delays

    def next_delay(self, path):
        """How long the answer to this request for `path` waits (ms)."""
        delay = self.delays.get(path, 0)
        if isinstance(delay, deque):
            return delay.popleft() if delay else 0
        return delay

    def handle(self, request):
        raise NotImplementedError
