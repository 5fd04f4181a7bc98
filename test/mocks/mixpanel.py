"""Mixpanel ingestion API (type `mixpanel`), as docs/destinations/mixpanel.md
describes it, with where each fact comes from.

Endpoints:
  POST /import?strict=1&project_id=P   events; Basic auth with a service account
      (user:secret, project_id required) or the project token as user name with
      an empty password. Body: a JSON array (application/json) or one event per
      line (application/x-ndjson), optionally Content-Encoding: gzip. At most
      2000 events and 10 MB uncompressed (413). strict=1: invalid events are
      listed in a 400 body ("failed_records") and the valid ones are still
      imported.
  POST /engage, POST /groups           profile and group updates ($set,
      $set_once, $add, $union, $append, $remove, $unset, $delete), each record
      carrying "$token". Body: a JSON array (application/json) or the form field
      data=<JSON> (application/x-www-form-urlencoded). Answers 200 "1" when at
      least one record is valid and "0" when none is; ?verbose=1 gives
      {"status": 1|0, "error": ...}; ?strict=1 lists invalid records (see
      _strict_profile_answer).
  GET /__vendor/state                  (no real API has it) the stored objects:
      {"events": [...], "duplicates": n, "profiles": {distinct_id: {...}},
       "groups": {group_key: {group_id: {...}}}}

Options (besides reject / rate_limit / unauthorized of base.py):
  project_token             required; the token /engage and /groups records must
                            carry, and a valid /import user name (empty password)
  service_account_username  with service_account_secret: a valid /import login
  service_account_secret
  project_id                the project the service account may write to; when
                            set, a project_id in the query must equal it
`reject` keys: an event's $insert_id, a profile's $distinct_id, a group's $group_id.
"""

import base64
import binascii
import gzip
import json
import re
import time

from mocks.base import VendorMock, answer

MAX_EVENTS = 2000
MAX_IMPORT_BYTES = 10 * 1024 * 1024     # uncompressed; older docs said 2 MB
MAX_EVENT_BYTES = 1024 * 1024
MAX_UPDATES = 2000
MIN_TIME_S = 31536000                   # 1971-01-01T00:00:00Z
INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
# Values Mixpanel refuses as distinct_id and $insert_id (placeholders that
# usually mean an implementation mistake).
INVALID_IDS = {
    "00000000-0000-0000-0000-000000000000", "anon", "anonymous", "nil", "none",
    "null", "n/a", "na", "undefined", "unknown", "<nil>", "0", "-1", "true",
    "false", "[]", "{}",
}
PROFILE_OPS = ("$set", "$set_once", "$add", "$union", "$append", "$remove",
               "$unset", "$delete")
GROUP_OPS = ("$set", "$set_once", "$union", "$remove", "$unset", "$delete")


def _status_body(code, status, error, **extra):
    """The JSON error body /import uses for 400/401/413/429."""
    return dict({"code": code, "error": error, "status": status}, **extra)


class Mock(VendorMock):
    TYPE = "mixpanel"
    OPTIONS = {
        "project_token": "the project token (required): $token of /engage and /groups "
                         "records, and an /import Basic-auth user name with empty password",
        "service_account_username": "service account user name accepted by /import",
        "service_account_secret": "service account secret accepted by /import",
        "project_id": "the project id the service account writes to (query project_id)",
    }

    def __init__(self, options):
        super().__init__(options)
        self.token = options.get("project_token")
        if not isinstance(self.token, str) or not self.token:
            raise ValueError("mixpanel: project_token is required (a non-empty string)")
        self.sa_user = options.get("service_account_username")
        self.sa_secret = options.get("service_account_secret")
        self.project_id = options.get("project_id")
        if self.project_id is not None:
            self.project_id = str(self.project_id)
        self.events = []
        self.event_keys = set()   # (event, time, distinct_id, $insert_id)
        self.duplicates = 0
        self.profiles = {}
        self.groups = {}

    # ---- dispatch -------------------------------------------------------------

    def handle(self, request):
        routes = {"/import": self.import_events, "/engage": self.engage,
                  "/groups": self.groups_update}
        if request.path == "/__vendor/state":
            return answer(200, {"events": self.events, "duplicates": self.duplicates,
                                "profiles": self.profiles, "groups": self.groups})
        route = routes.get(request.path)
        if route is None:
            # The real 404 body is not documented; clients must not rely on it.
            return answer(404, _status_body(404, "Not Found", f"unknown path {request.path}"))
        if request.method != "POST":
            return answer(405, _status_body(405, "Method Not Allowed",
                                            f"{request.method} not allowed on {request.path}"),
                          {"Allow": "POST"})
        if self.over_rate_limit():
            # Mixpanel documents no Retry-After nor X-RateLimit-* headers.
            return answer(429, _status_body(
                429, "Too Many Requests",
                "Project exceeded rate limits. Please retry the request with exponential backoff."),
                self.retry_after_headers())
        return route(request)

    def quick_answer(self, request):
        if request.path == "/import":
            raw, problem = self._decoded_body(request)
            events, problem = (None, problem) if problem else self._parse_events(request, raw)
            if problem:
                return self.handle(request)
            return answer(200, {"code": 200, "num_records_imported": len(events), "status": "OK"})
        return _verdict(request.query_value("verbose") == "1", None)

    # ---- /import ----------------------------------------------------------------

    def import_events(self, request):
        denied = self._check_import_auth(request)
        if denied:
            return denied
        raw, problem = self._decoded_body(request)
        if problem:
            return problem
        if len(raw) > MAX_IMPORT_BYTES:
            return answer(413, _status_body(413, "Request Entity Too Large",
                                            f"request exceeds max limit of {MAX_IMPORT_BYTES} bytes"))
        events, problem = self._parse_events(request, raw)
        if problem:
            return problem
        if len(events) > MAX_EVENTS:
            # Documented as a 413 like the byte cap; the message text is ours.
            return answer(413, _status_body(413, "Request Entity Too Large",
                                            f"request exceeds max limit of {MAX_EVENTS} events"))
        failed, imported = [], 0
        for index, event in enumerate(events):
            failure = self._event_failure(event)
            if failure:
                field, message = failure
                insert_id = (event.get("properties") or {}).get("$insert_id") \
                    if isinstance(event, dict) and isinstance(event.get("properties"), dict) else None
                # Key "insert_id" as in the OpenAPI StrictInvalid schema (the
                # narrative example on the same site spells it "$insert_id").
                failed.append({"index": index, "insert_id": insert_id,
                               "field": field, "message": message})
                continue
            self._store_event(event)
            imported += 1
        strict = request.query_value("strict") == "1"
        if failed and strict:
            return answer(400, _status_body(400, "Bad Request",
                                            "some data points in the request failed validation",
                                            num_records_imported=imported, failed_records=failed))
        # Without strict=1 invalid events are dropped silently (undocumented detail).
        return answer(200, {"code": 200, "num_records_imported": imported, "status": "OK"})

    def _check_import_auth(self, request):
        """None when the Basic credentials are valid for /import, else the 401."""
        denied = answer(401, _status_body(401, "Unauthorized", "Invalid credentials"))
        if self.unauthorized:
            return denied
        user, password = _basic_credentials(request.header("authorization"))
        if user is None:
            return denied
        project_id = request.query_value("project_id")
        if self.sa_user and self.sa_secret and user == self.sa_user:
            # A service account needs project_id to know which project it acts on.
            if password != self.sa_secret or not project_id:
                return denied
            if self.project_id is not None and project_id != self.project_id:
                return denied
            return None
        if user == self.token and password == "":
            if project_id and self.project_id is not None and project_id != self.project_id:
                return denied
            return None
        return denied

    @staticmethod
    def _decoded_body(request):
        """The uncompressed body, or an error answer."""
        encoding = (request.header("content-encoding") or "").strip().lower()
        if encoding in ("", "identity"):
            return request.body, None
        if encoding == "gzip":
            try:
                return gzip.decompress(request.body), None
            except (OSError, EOFError):
                return None, answer(400, _status_body(400, "Bad Request",
                                                      "unable to decompress gzip body"))
        return None, answer(400, _status_body(400, "Bad Request",
                                              f"unsupported Content-Encoding {encoding}"))

    @staticmethod
    def _parse_events(request, raw):
        """The events of a JSON array or ndjson body, or an error answer."""
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        bad = answer(400, _status_body(400, "Bad Request", "unable to parse request body as "
                                       "a JSON array of events"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, bad
        if content_type == "application/x-ndjson":
            try:
                return [json.loads(line) for line in text.splitlines() if line.strip()], None
            except ValueError:
                return None, bad
        if content_type != "application/json":
            # The docs name only these two types for /import.
            return None, answer(400, _status_body(
                400, "Bad Request",
                "Content-Type must be application/json or application/x-ndjson"))
        try:
            events = json.loads(text)
        except ValueError:
            return None, bad
        if not isinstance(events, list):
            return None, bad
        return events, None

    def _event_failure(self, event):
        """(field, message) when the event fails strict validation, else None."""
        if not isinstance(event, dict):
            return "", "event must be a JSON object"
        if len(json.dumps(event, separators=(",", ":")).encode("utf-8")) > MAX_EVENT_BYTES:
            return "", "event exceeds max size of 1MB"
        name = event.get("event")
        if not isinstance(name, str) or not name:
            return "event", "'event' must be a non-empty string"
        props = event.get("properties")
        if not isinstance(props, dict):
            return "properties", "'properties' must be an object"
        if len(props) >= 255:
            return "properties", "'properties' must have fewer than 255 keys"
        stamp = props.get("time")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
            return "properties.time", "'properties.time' is invalid: must be specified as " \
                                      "seconds or milliseconds since epoch"
        seconds = stamp / 1000 if stamp > 1e11 else stamp
        if seconds < MIN_TIME_S or seconds > time.time() + 3600:
            return "properties.time", "'properties.time' is invalid: must be after 1971-01-01 " \
                                      "and at most one hour in the future"
        distinct_id = props.get("distinct_id")
        if distinct_id is not None and not isinstance(distinct_id, (str, int)):
            return "properties.distinct_id", "'properties.distinct_id' must be a string"
        if distinct_id is None:
            return "properties.distinct_id", "'properties.distinct_id' is required"
        if str(distinct_id).lower() in INVALID_IDS:
            return "properties.distinct_id", "'properties.distinct_id' is invalid: " \
                                              "a placeholder value"
        insert_id = props.get("$insert_id")
        if not isinstance(insert_id, str) or not INSERT_ID.match(insert_id) \
                or insert_id.lower() in INVALID_IDS:
            return "properties.$insert_id", "'properties.$insert_id' is invalid: must be at " \
                                             "most 36 characters of A-Z, a-z, 0-9 and -"
        message = self.rejection(insert_id)
        if message is not None:
            return "properties.$insert_id", message
        return None

    def _store_event(self, event):
        props = event["properties"]
        key = (event["event"], props["time"], str(props["distinct_id"]), props["$insert_id"])
        if key in self.event_keys:
            # Mixpanel keeps one of the copies (dedup on these four values); the
            # import still counts it as imported.
            self.duplicates += 1
            return
        self.event_keys.add(key)
        self.events.append(event)

    # ---- /engage and /groups ----------------------------------------------------

    def engage(self, request):
        return self._profile_updates(request, "$distinct_id", PROFILE_OPS, self._apply_profile)

    def groups_update(self, request):
        return self._profile_updates(request, "$group_id", GROUP_OPS, self._apply_group)

    def _profile_updates(self, request, key_name, operations, apply):
        verbose = request.query_value("verbose") == "1"
        if self.unauthorized:
            return answer(401, {"error": "Invalid project token", "status": "error"})
        if len(request.body) > MAX_IMPORT_BYTES:
            return answer(413, _status_body(413, "Request Entity Too Large",
                                            f"request exceeds max limit of {MAX_IMPORT_BYTES} bytes"))
        records = _profile_records(request)
        if records is None:
            return _verdict(verbose, "data, missing or empty")
        if len(records) > MAX_UPDATES:
            return answer(413, _status_body(413, "Request Entity Too Large",
                                            f"request exceeds max limit of {MAX_UPDATES} updates"))
        failed, applied = [], 0
        for index, record in enumerate(records):
            problem = self._update_failure(record, key_name, operations)
            if problem:
                failed.append({"index": index, key_name: _get(record, key_name),
                               "message": problem})
                continue
            apply(record)
            applied += 1
        if request.query_value("strict") == "1" and failed:
            return self._strict_profile_answer(applied, failed)
        if applied == 0:
            return _verdict(verbose, failed[0]["message"] if failed else "no records")
        # Documented: 1 as soon as one record is valid, even when others are not.
        return _verdict(verbose, None)

    @staticmethod
    def _strict_profile_answer(applied, failed):
        # The docs say strict=1 returns "a JSON object with per-record error
        # messages" but show no example; we reuse the /import strict shape.
        return answer(400, _status_body(400, "Bad Request",
                                        "some data points in the request failed validation",
                                        num_records_imported=applied, failed_records=failed))

    def _update_failure(self, record, key_name, operations):
        """Why one update record is invalid, or None."""
        if not isinstance(record, dict):
            return "record must be a JSON object"
        if record.get("$token") != self.token:
            # The live API may accept a wrong token and drop the data later
            # (no check in the request cycle); refusing it here catches the bug.
            return "$token, missing or invalid"
        key = record.get(key_name)
        if not isinstance(key, (str, int)) or isinstance(key, bool) or str(key) == "":
            return f"{key_name}, missing or empty"
        if key_name == "$group_id" and not isinstance(record.get("$group_key"), str):
            return "$group_key, missing or empty"
        ops = [name for name in record if name in operations]
        unknown = [name for name in record if name.startswith("$") and name not in operations
                   and name not in ("$token", "$distinct_id", "$group_key", "$group_id",
                                    "$ip", "$time", "$ignore_time", "$ignore_alias")]
        if unknown:
            return f"unknown operation {unknown[0]}"
        if len(ops) != 1:
            return "each update must carry exactly one operation"
        op = ops[0]
        value = record[op]
        if op == "$unset" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return "$unset must be a list of property names"
        if op not in ("$unset", "$delete") and not isinstance(value, dict):
            return f"{op} must be an object"
        message = self.rejection(key)
        if message is not None:
            return message
        return None

    def _apply_profile(self, record):
        key = str(record["$distinct_id"])
        if "$delete" in record:
            self.profiles.pop(key, None)
            return
        self.profiles[key] = _apply_operation(self.profiles.get(key, {}), record)

    def _apply_group(self, record):
        kind = self.groups.setdefault(record["$group_key"], {})
        key = str(record["$group_id"])
        if "$delete" in record:
            kind.pop(key, None)
            return
        kind[key] = _apply_operation(kind.get(key, {}), record)


def _apply_operation(props, record):
    """The properties after one update operation."""
    props = dict(props)
    if "$set" in record:
        props.update(record["$set"])
    elif "$set_once" in record:
        for name, value in record["$set_once"].items():
            props.setdefault(name, value)
    elif "$add" in record:
        for name, value in record["$add"].items():
            props[name] = props.get(name, 0) + value
    elif "$union" in record:
        for name, values in record["$union"].items():
            current = list(props.get(name, []))
            current += [v for v in (values if isinstance(values, list) else [values])
                        if v not in current]
            props[name] = current
    elif "$append" in record:
        for name, value in record["$append"].items():
            props[name] = list(props.get(name, [])) + [value]
    elif "$remove" in record:
        for name, value in record["$remove"].items():
            props[name] = [v for v in props.get(name, []) if v != value]
    elif "$unset" in record:
        for name in record["$unset"]:
            props.pop(name, None)
    return props


def _profile_records(request):
    """The update records of an /engage or /groups body (a JSON array or object,
    as the body or as form field `data`), or None when there are none."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        text = request.form().get("data")
        if text is None:
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            # Older clients base64-encode the data field.
            try:
                doc = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                return None
    else:
        doc = request.json()
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list) or not doc:
        return None
    return doc


def _verdict(verbose, error):
    """The 200 answer of /engage and /groups: 1 or 0, or the verbose object."""
    ok = error is None
    if verbose:
        return answer(200, {"status": 1 if ok else 0, "error": error})
    return answer(200, "1" if ok else "0", {"Content-Type": "text/plain; charset=utf-8"})


def _basic_credentials(header):
    """(user, password) from a Basic Authorization header, or (None, None)."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None, None
    if ":" not in decoded:
        return None, None
    user, password = decoded.split(":", 1)
    return user, password


def _get(record, name):
    return record.get(name) if isinstance(record, dict) else None
