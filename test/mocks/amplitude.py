"""Amplitude HTTP V2, Batch Event Upload and Identify APIs (type `amplitude`), as
docs/destinations/amplitude.md describes them, with where each fact comes from.

Endpoints:
  POST /2/httpapi   {"api_key", "events": [...], "options": {"min_id_length"}},
                    Content-Type application/json; fewer than 2000 events and
                    under 1 MB (else 413).
  POST /batch       the same body; at most 2000 events and 20 MB (else 413).
      Both answer 200 {"code":200,"events_ingested","payload_size_bytes",
      "server_upload_time"}. Any invalid event makes the WHOLE request fail
      with 400 and nothing is ingested; the body lists the bad events by index
      (events_with_invalid_fields / events_with_missing_fields /
      events_with_invalid_id_lengths: any user_id or device_id shorter than
      min_id_length, default 5) and the client resends the others.
      A wrong api_key is a 400 too: {"code":400,"error":"Invalid API key: <key>"}.
  POST /identify    form fields api_key and identification (one JSON object or
                    an array); also GET with the same query parameters.
                    200 text "success"; 400 text ("missing_event",
                    "invalid_api_key", or a rejected user's message).
  GET /__vendor/state  (no real API has it) the stored objects:
      {"events": [...], "duplicates": n, "users": {user key: properties}}
      where the user key is the user_id, or "device:<device_id>" without one.

Options (besides reject / rate_limit / unauthorized of base.py):
  api_key     required; the project API key requests must carry
  secret_key  accepted and unused: no mocked endpoint authenticates with it
`reject` keys: an event's insert_id (the request fails with that index under
events_with_invalid_fields.insert_id), an identification's user_id (the
/identify request fails with the message as its text).
"""

import json
import time

from mocks.base import VendorMock, answer

LIMITS = {                      # path -> (max events, max body bytes)
    "/2/httpapi": (1999, 1024 * 1024 - 1),     # "fewer than 2000", "under 1 MB"
    "/batch": (2000, 20 * 1024 * 1024),
}
DEFAULT_MIN_ID_LENGTH = 5
# IDs Amplitude refuses with a 400 (placeholders that usually mean a bug).
INVALID_IDS = {"anonymous", "nil", "none", "null", "n/a", "na", "undefined", "unknown",
               '""', "00000000-0000-0000-0000-000000000000", "{}", "lmy47d", "0", "-1"}
USER_PROPERTY_OPS = ("$set", "$setOnce", "$add", "$append", "$prepend", "$unset",
                     "$preInsert", "$postInsert", "$remove", "$clearAll")
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


class Mock(VendorMock):
    TYPE = "amplitude"
    OPTIONS = {
        "api_key": "the project API key (required) that request bodies must carry",
        "secret_key": "the project secret key; accepted, no mocked endpoint uses it",
    }

    def __init__(self, options):
        super().__init__(options)
        self.api_key = options.get("api_key")
        if not isinstance(self.api_key, str) or not self.api_key:
            raise ValueError("amplitude: api_key is required (a non-empty string)")
        self.events = []
        self.seen = set()          # (device key, insert_id) already ingested
        self.duplicates = 0
        self.users = {}

    def handle(self, request):
        if request.path == "/__vendor/state":
            return answer(200, {"events": self.events, "duplicates": self.duplicates,
                                "users": self.users})
        if request.path in LIMITS:
            if request.method != "POST":
                return _error(400, "Invalid request path")
            return self.upload(request)
        if request.path == "/identify":
            if request.method not in ("POST", "GET"):
                return answer(400, "missing_event", TEXT)
            return self.identify(request)
        return _error(400, "Invalid request path")

    def quick_answer(self, request):
        if request.path == "/identify":
            return answer(200, "success", TEXT)
        events = (request.json() or {}).get("events") or []
        return answer(200, {"code": 200, "events_ingested": len(events),
                            "payload_size_bytes": len(request.body),
                            "server_upload_time": int(time.time() * 1000)})

    # ---- /2/httpapi and /batch ------------------------------------------------

    def upload(self, request):
        max_events, max_bytes = LIMITS[request.path]
        if len(request.body) > max_bytes:
            return _error(413, "Payload too large")
        if not request.body:
            return _error(400, "Missing request body")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        doc = request.json()
        # The docs require application/json; the error text for a wrong type is
        # not documented, so we give the one for an unreadable body.
        if content_type != "application/json" or not isinstance(doc, dict):
            return _error(400, "Invalid JSON request body")
        missing = next((f for f in ("api_key", "events") if f not in doc), None)
        if missing:
            return _error(400, "Request missing required field", missing_field=missing)
        if self.unauthorized or doc["api_key"] != self.api_key:
            return _error(400, f"Invalid API key: {doc['api_key']}")
        events = doc["events"]
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            return _error(400, "Invalid event JSON")
        if len(events) > max_events:
            return _error(413, "Payload too large")
        if self.over_rate_limit():
            return self._throttled(events)
        min_len = _min_id_length(doc.get("options"))
        if min_len is None:
            # Undocumented case; we answer as for a body that does not parse.
            return _error(400, "Invalid JSON request body")
        problems = self._event_problems(events, min_len)
        if problems:
            # All or nothing: no event of a refused request is ingested.
            return _error(400, problems.pop("error"), **problems)
        for event in events:
            self._ingest(event)
        return answer(200, {"code": 200, "events_ingested": len(events),
                            "payload_size_bytes": len(request.body),
                            "server_upload_time": int(time.time() * 1000)})

    def _throttled(self, events):
        users = {e["user_id"]: 31 for e in events if isinstance(e.get("user_id"), str)}
        devices = {e["device_id"]: 31 for e in events if isinstance(e.get("device_id"), str)}
        # Amplitude documents no Retry-After and no X-RateLimit-* headers; the
        # throttled_events indexes are what the client must wait on.
        return answer(429, {"code": 429, "error": "Too many requests for some devices and users",
                            "eps_threshold": 30, "throttled_devices": devices,
                            "throttled_users": users,
                            "throttled_events": list(range(len(events)))},
                      self.retry_after_headers())

    def _event_problems(self, events, min_len):
        """The 400 body fields naming bad events by index, or {} when all are good."""
        invalid, missing, short = {}, {}, {}
        for index, event in enumerate(events):
            for kind, field in self._event_faults(event, min_len):
                target = {"invalid": invalid, "missing": missing, "short": short}[kind]
                target.setdefault(field, []).append(index)
        if not (invalid or missing or short):
            return {}
        if missing and not invalid:
            error = "Request missing required field"
        elif short and not invalid:
            error = "Invalid id length for user_id or device_id"
        else:
            error = "Invalid field values on some events"
        problems = {"error": error, "events_with_invalid_fields": invalid,
                    "events_with_missing_fields": missing}
        if short:
            # Not in the API docs, but read by Amplitude's own SDKs.
            problems["events_with_invalid_id_lengths"] = short
        return problems

    def _event_faults(self, event, min_len):
        """(kind, field) pairs for what is wrong with one event."""
        faults = []
        event_type = event.get("event_type")
        if event_type is None:
            faults.append(("missing", "event_type"))
        elif not isinstance(event_type, str) or not event_type:
            faults.append(("invalid", "event_type"))
        ids = {f: event.get(f) for f in ("user_id", "device_id") if event.get(f) is not None}
        for field, value in ids.items():
            if not isinstance(value, str) or value.lower() in INVALID_IDS:
                faults.append(("invalid", field))
            elif len(value) < min_len:
                # The docs say a too-short id is dropped, but the live service
                # was seen refusing it even beside a valid device_id: be strict.
                faults.append(("short", field))
        if not ids:
            faults.append(("missing", "user_id"))
        stamp = event.get("time")
        if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int)):
            faults.append(("invalid", "time"))      # milliseconds as an integer only
        for field in ("event_properties", "user_properties", "groups"):
            if field in event and not isinstance(event[field], dict):
                faults.append(("invalid", field))
        insert_id = event.get("insert_id")
        if insert_id is not None and not isinstance(insert_id, str):
            faults.append(("invalid", "insert_id"))
        elif self.rejection(insert_id) is not None:
            faults.append(("invalid", "insert_id"))
        return faults

    def _ingest(self, event):
        event = dict(event)
        insert_id = event.get("insert_id")
        if insert_id is not None:
            # Dedup on insert_id per device (a user_id-only event gets a device
            # id derived from its user_id), within 7 days.
            key = (event.get("device_id") or "user:" + event.get("user_id", ""), insert_id)
            if key in self.seen:
                self.duplicates += 1
                return
            self.seen.add(key)
        self.events.append(event)
        props = event.get("user_properties")
        if props:
            self._apply_user_properties(_user_key(event), props)

    # ---- /identify --------------------------------------------------------------

    def identify(self, request):
        fields = request.form() if request.method == "POST" else \
            {k: v[0] for k, v in request.query.items()}
        if request.method == "POST":
            content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
            if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return answer(400, "missing_event", TEXT)
        if self.unauthorized or fields.get("api_key") != self.api_key:
            return answer(400, "invalid_api_key", TEXT)
        if self.over_rate_limit():
            return answer(429, {"code": 429, "error": "Too many requests for some devices and users",
                                "eps_threshold": 30, "throttled_devices": {},
                                "throttled_users": {}, "throttled_events": []},
                          self.retry_after_headers())
        try:
            ids = json.loads(fields.get("identification", ""))
        except ValueError:
            return answer(400, "missing_event", TEXT)
        if isinstance(ids, dict):
            ids = [ids]
        if not isinstance(ids, list) or not ids or not all(self._valid_identification(i) for i in ids):
            return answer(400, "missing_event", TEXT)
        for ident in ids:
            message = self.rejection(ident.get("user_id"))
            if message is not None:
                # No per-identification result exists: the request fails whole.
                return answer(400, message, TEXT)
        for ident in ids:
            self._apply_user_properties(_user_key(ident), ident.get("user_properties") or {})
        return answer(200, "success", TEXT)

    @staticmethod
    def _valid_identification(ident):
        if not isinstance(ident, dict):
            return False
        if not any(isinstance(ident.get(f), str) and ident[f] for f in ("user_id", "device_id")):
            return False
        props = ident.get("user_properties", {})
        if not isinstance(props, dict):
            return False
        # Operations and plain properties may not be mixed in one object.
        ops = [k for k in props if k.startswith("$")]
        return not ops or (len(ops) == len(props) and all(k in USER_PROPERTY_OPS for k in ops))

    def _apply_user_properties(self, key, props):
        current = dict(self.users.get(key, {}))
        if not any(k.startswith("$") for k in props):
            props = {"$set": props}
        for op, values in props.items():
            if op == "$clearAll":
                current = {}   # its value is documented as "-": nothing to read
                continue
            if not isinstance(values, dict):
                continue
            for name, value in values.items():
                if op == "$set":
                    current[name] = value
                elif op == "$setOnce":
                    current.setdefault(name, value)
                elif op == "$add" and isinstance(value, (int, float)):
                    current[name] = current.get(name, 0) + value
                elif op in ("$append", "$postInsert"):
                    current[name] = _as_list(current.get(name)) + _as_list(value)
                elif op in ("$prepend", "$preInsert"):
                    current[name] = _as_list(value) + _as_list(current.get(name))
                elif op == "$remove":
                    current[name] = [v for v in _as_list(current.get(name))
                                     if v not in _as_list(value)]
                elif op == "$unset":
                    current.pop(name, None)
        self.users[key] = current


def _error(status, error, **extra):
    return answer(status, dict({"code": status, "error": error}, **extra))


def _min_id_length(options):
    """The request's minimum id length, or None when the option is malformed."""
    if options is None:
        return DEFAULT_MIN_ID_LENGTH
    if not isinstance(options, dict):
        return None
    value = options.get("min_id_length", DEFAULT_MIN_ID_LENGTH)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _user_key(record):
    if isinstance(record.get("user_id"), str) and record["user_id"]:
        return record["user_id"]
    return "device:" + str(record.get("device_id"))


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
