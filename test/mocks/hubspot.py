"""HubSpot CRM v3 batch object APIs, as the `hubspot` destination type uses them.

Endpoints (all POST, JSON bodies, `Authorization: Bearer <token>`):

    /crm/v3/objects/{objectType}/batch/upsert   inputs [{id, idProperty, properties}]
    /crm/v3/objects/{objectType}/batch/update   inputs [{id, properties[, idProperty]}]
    /crm/v3/objects/{objectType}/batch/create   inputs [{properties[, objectWriteTraceId]}]
    /crm/v3/objects/{objectType}/batch/read     {idProperty?, properties?, inputs [{id}]}
    /crm/v3/objects/{objectType}/batch/archive  inputs [{id}] -> 204

objectType: contacts, companies, deals, tickets... (0-1 and 0-2 are contacts and
companies), custom objects as p_<name> or 2-<digits>. Objects are kept per object
type under numeric HubSpot ids ("1001", "1002"...). Facts and their sources:
docs/destinations/hubspot.md.

What the mock answers like HubSpot:
  - 200 {"status":"COMPLETE","results":[...],"startedAt","completedAt"}; results come
    in REVERSE input order, because HubSpot does not keep the input order and a
    client must map results back by id, idProperty value or objectWriteTraceId;
  - 207 with "numErrors" and "errors" [{status,category,message,context}] when some
    inputs failed (missing ids are grouped in one OBJECT_NOT_FOUND error);
  - batch/create fails as a whole (409 CONFLICT / 400) unless the inputs carry
    objectWriteTraceId, which turns on 207 multi-status answers;
  - 400 VALIDATION_ERROR for a bad body, more than 100 inputs or duplicate ids;
    401 INVALID_AUTHENTICATION; 429 RATE_LIMIT (policyName SECONDLY);
  - X-HubSpot-RateLimit-{Max,Remaining,Interval-Milliseconds,Daily,Daily-Remaining}
    and X-HubSpot-Correlation-Id on every authenticated answer.

Options (besides reject / rate_limit / unauthorized, see base.py):
  "access_token": "<t>"   the only Bearer token accepted (without it, any
                          non-empty Bearer token is)
  "delay_ms": {"<path>": N | [N1, ...]}  the answers to that path wait N ms (every
                          one, or the next ones one by one); the request takes effect
                          at once, as when HubSpot did the work and the answer was lost
  reject keys: the input's "id" (the email for contacts upserted by email, the
  HubSpot id for update); for create, the objectWriteTraceId or any property value.
  Rejected inputs fail one by one with category VALIDATION_ERROR and that message.

Test control, not a HubSpot path: GET /__vendor/state answers
    {"objects": {objectType: {id: {"properties", "createdAt", "updatedAt"}}},
     "archived": {objectType: [ids]}}
without authentication or rate limiting.
"""

import re
import uuid
from datetime import datetime, timezone

from mocks.base import ValueIndex, VendorMock, answer

MAX_INPUTS = 100
PATH = re.compile(r"^/crm/v3/objects/([^/]+)/batch/([a-z]+)/?$")
OPERATIONS = ("upsert", "update", "create", "read", "archive")

# Standard object types HubSpot knows by name, and their numeric type ids.
STANDARD_TYPES = {
    "contacts": "contacts", "contact": "contacts", "0-1": "contacts",
    "companies": "companies", "company": "companies", "0-2": "companies",
    "deals": "deals", "deal": "deals", "0-3": "deals",
    "tickets": "tickets", "ticket": "tickets", "0-5": "tickets",
    "products": "products", "line_items": "line_items", "quotes": "quotes",
    "calls": "calls", "emails": "emails", "meetings": "meetings",
    "notes": "notes", "tasks": "tasks",
}
CUSTOM_TYPE = re.compile(r"^(p_[a-z0-9_]+|2-\d+)$")

# Defaults of a private app on a Free/Starter account: 100 requests per 10 s,
# 250,000 a day.
DEFAULT_MAX, DEFAULT_INTERVAL_MS, DAILY = 100, 10000, 250000

AUTH_MESSAGE = ("Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview")


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _label(object_type):
    """How HubSpot names an object type in messages: CONTACT, COMPANY..."""
    singular = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL",
                "tickets": "TICKET"}
    return singular.get(object_type, object_type.upper())


class BatchError(Exception):
    """The whole request fails: HubSpot's error body with this status."""

    def __init__(self, status, category, message, errors=None):
        super().__init__(message)
        self.status, self.category, self.errors = status, category, errors


class Mock(VendorMock):
    TYPE = "hubspot"
    OPTIONS = {"access_token": "the Bearer token accepted (default: any non-empty one)",
               "delay_ms": "object of path -> ms (every answer) or [ms, ...] (the next answers "
                           "one by one): answers to that path wait, the request taking effect at once"}

    def __init__(self, options):
        super().__init__(options)
        token = options.get("access_token")
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError("access_token: must be a non-empty string")
        self.token = token
        self.delays = self.parse_delays(options.get("delay_ms", {}))
        self.objects = {}     # object type -> {id: {"properties", "createdAt", "updatedAt"}}
        self.archived = {}    # object type -> {id: object}
        # Lookups by a property value (the upsert's email...), so that a sync
        # of many records does not scan every object per input: object type ->
        # property -> ({normalized value: {ids}}, {id: normalized value}).
        # An index is built on the first lookup by that property and kept in
        # step by every change to a live object (_index_object, _unindex).
        self.indexes = {}
        self.next_id = 1001
        self.daily_used = 0

    # ---- entry point -----------------------------------------------------------

    def handle(self, request):
        if request.path == "/__vendor/state":
            return answer(200, self.state())
        if self.unauthorized or not self._authenticated(request):
            return self._error(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)
        limited = self.over_rate_limit()
        self.daily_used += 1
        headers = self._rate_headers()
        if limited:
            body = {"status": "error", "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                    "policyName": "SECONDLY"}
            return answer(429, body, dict(headers, **self.retry_after_headers()))
        try:
            result = self._route(request)
        except BatchError as e:
            result = self._error(e.status, e.category, str(e), e.errors)
        result["headers"] = dict(headers, **result.get("headers", {}))
        delay = self.next_delay(request.path)
        if delay:
            result["delay_ms"] = delay
        return result

    def _authenticated(self, request):
        scheme, _, token = request.header("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return self.token is None or token.strip() == self.token

    def _rate_headers(self):
        test_window = self.rate_window()
        if test_window is not None:
            # The base class's sliding window: what is left of it after this request.
            limit, seconds, used, _ = test_window
            interval = int(seconds * 1000)
            remaining = max(0, limit - used)
        else:
            limit, interval, remaining = DEFAULT_MAX, DEFAULT_INTERVAL_MS, DEFAULT_MAX - 1
        return {"X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(remaining),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval),
                "X-HubSpot-RateLimit-Daily": str(DAILY),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY - self.daily_used)),
                "X-HubSpot-Correlation-Id": str(uuid.uuid4())}

    def _route(self, request):
        match = PATH.match(request.path)
        if not match or match.group(2) not in OPERATIONS:
            return self._error(404, "OBJECT_NOT_FOUND", f"Resource not found: {request.path}")
        if request.method != "POST":
            return self._error(405, "VALIDATION_ERROR", "HTTP 405 Method Not Allowed")
        object_type = self._object_type(match.group(1))
        content_type = request.header("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self._error(415, "VALIDATION_ERROR", "HTTP 415 Unsupported Media Type")
        body = self._batch_body(request)
        operation = match.group(2)
        return getattr(self, "_" + operation)(object_type, body)

    def _object_type(self, raw):
        if raw in STANDARD_TYPES:
            return STANDARD_TYPES[raw]
        if CUSTOM_TYPE.match(raw):
            return raw
        raise BatchError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")

    def _batch_body(self, request):
        body = request.json()
        if not isinstance(body, dict):
            raise BatchError(400, "VALIDATION_ERROR",
                             "Invalid input JSON: expected an object with \"inputs\"")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise BatchError(400, "VALIDATION_ERROR", "Invalid input JSON: \"inputs\" must be "
                             "an array of objects", [{"message": "must be an array", "in": "inputs"}])
        if len(inputs) > MAX_INPUTS:
            raise BatchError(400, "VALIDATION_ERROR",
                             f"Batch input size {len(inputs)} exceeds the limit of {MAX_INPUTS} inputs",
                             [{"message": f"size must be between 1 and {MAX_INPUTS}", "in": "inputs"}])
        return body

    # ---- the five batch operations ------------------------------------------------

    def _upsert(self, object_type, body):
        inputs = body["inputs"]
        self._require(inputs, ("id", "idProperty"), needs_properties=True)
        self._no_duplicates(object_type, [(i["idProperty"], i["id"]) for i in inputs])
        results, errors = [], []
        for item in inputs:
            key, prop = str(item["id"]), item["idProperty"]
            message = self.rejection(key)
            if message is not None:
                errors.append(self._record_error(message, key, item))
                continue
            found = self._find(object_type, prop, key)
            if found is None:
                found = self._create_object(object_type, dict(item["properties"], **{prop: key}))
                created = True
            else:
                self._set_properties(found[1], item["properties"])
                self._index_object(object_type, found[0], found[1])
                created = False
            results.append(dict(self._public(found[0], found[1], item), new=created))
        return self._batch_answer(results, errors)

    def _update(self, object_type, body):
        inputs = body["inputs"]
        self._require(inputs, ("id",), needs_properties=True)
        self._no_duplicates(object_type, [(i.get("idProperty"), i["id"]) for i in inputs])
        results, errors, missing = [], [], []
        for item in inputs:
            key = str(item["id"])
            message = self.rejection(key)
            if message is not None:
                errors.append(self._record_error(message, key, item))
                continue
            found = self._find(object_type, item.get("idProperty"), key)
            if found is None:
                missing.append(key)
                continue
            self._set_properties(found[1], item["properties"])
            self._index_object(object_type, found[0], found[1])
            results.append(self._public(found[0], found[1], item))
        if missing:
            errors.append(self._not_found(object_type, missing))
        return self._batch_answer(results, errors)

    def _create(self, object_type, body):
        inputs = body["inputs"]
        self._require(inputs, (), needs_properties=True)
        # Without objectWriteTraceId HubSpot has no way to say which input failed,
        # so one failure fails the whole batch; with it, it answers 207.
        multi_status = any("objectWriteTraceId" in i for i in inputs)
        planned, errors, emails = [], [], set()
        for item in inputs:
            problem = self._create_problem(object_type, item, emails)
            if problem is None:
                planned.append(item)
            elif not multi_status:
                raise BatchError(*problem)
            else:
                status, category, message = problem
                errors.append(self._record_error(message, None, item, category))
        results = []
        for item in planned:
            object_id, obj = self._create_object(object_type, dict(item["properties"]))
            results.append(self._public(object_id, obj, item))
        return self._batch_answer(results, errors)

    def _create_problem(self, object_type, item, emails_in_batch):
        """(status, category, message) when this create input fails, else None."""
        properties = item["properties"]
        keys = [item.get("objectWriteTraceId")] + list(properties.values())
        for key in keys:
            message = self.rejection(key) if isinstance(key, (str, int, float)) else None
            if message is not None:
                return 400, "VALIDATION_ERROR", message
        if object_type == "contacts" and properties.get("email"):
            email = str(properties["email"]).lower()
            existing = self._find(object_type, "email", email)
            if existing is not None or email in emails_in_batch:
                existing_id = existing[0] if existing else "(same batch)"
                return 409, "CONFLICT", f"Contact already exists. Existing ID: {existing_id}"
            emails_in_batch.add(email)
        return None

    def _read(self, object_type, body):
        inputs = body["inputs"]
        self._require(inputs, ("id",), needs_properties=False)
        prop = body.get("idProperty")
        if prop is not None and not isinstance(prop, str):
            raise BatchError(400, "VALIDATION_ERROR", "Invalid input: idProperty must be a property name",
                             [{"message": "must be a property name", "in": "idProperty"}])
        self._no_duplicates(object_type, [(prop, i["id"]) for i in inputs])
        wanted = body.get("properties")
        results, missing = [], []
        for item in inputs:
            key = str(item["id"])
            found = self._find(object_type, prop, key)
            if found is None:
                missing.append(key)
                continue
            result = self._public(found[0], found[1], {})
            if isinstance(wanted, list):
                # Only what was asked for, plus the properties HubSpot always returns.
                keep = set(wanted) | {"hs_object_id", "createdate", "lastmodifieddate"}
                result["properties"] = {k: v for k, v in result["properties"].items() if k in keep}
            results.append(result)
        errors = [self._not_found(object_type, missing)] if missing else []
        return self._batch_answer(results, errors)

    def _archive(self, object_type, body):
        inputs = body["inputs"]
        self._require(inputs, ("id",), needs_properties=False)
        live = self.objects.get(object_type, {})
        for item in inputs:
            # HubSpot documents only 204: archiving an unknown or archived id is no error.
            obj = live.pop(str(item["id"]), None)
            if obj is not None:
                self._unindex(object_type, str(item["id"]))
                self.archived.setdefault(object_type, {})[str(item["id"])] = obj
        return answer(204)

    # ---- helpers -----------------------------------------------------------------

    def _require(self, inputs, fields, needs_properties):
        problems = []
        for n, item in enumerate(inputs):
            for field in fields:
                value = item.get(field)
                # Ids may be numbers; an idProperty is a property name.
                kinds = str if field == "idProperty" else (str, int)
                if isinstance(value, bool) or not isinstance(value, kinds) or str(value) == "":
                    problems.append({"message": "must not be empty", "in": f"inputs[{n}].{field}"})
            if "idProperty" in item and not isinstance(item["idProperty"], str):
                problems.append({"message": "must be a property name", "in": f"inputs[{n}].idProperty"})
            if needs_properties and not isinstance(item.get("properties"), dict):
                problems.append({"message": "must be an object", "in": f"inputs[{n}].properties"})
        if problems:
            where = ", ".join(p["in"] for p in problems)
            raise BatchError(400, "VALIDATION_ERROR", f"Invalid input: {where}", problems)

    def _no_duplicates(self, object_type, keys):
        seen, duplicates = set(), []
        for prop, key in keys:
            norm = self._normalize(prop, str(key))
            if norm in seen:
                duplicates.append(str(key))
            seen.add(norm)
        if duplicates:
            raise BatchError(400, "VALIDATION_ERROR",
                             f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. "
                             f"IDs must be unique")

    @staticmethod
    def _normalize(prop, value):
        # HubSpot stores emails in lower case, so lookups by email ignore case.
        return value.lower() if prop == "email" else value

    def _find(self, object_type, prop, key):
        """(id, object) of the live object whose idProperty (or HubSpot id) is key."""
        live = self.objects.get(object_type, {})
        if prop in (None, "hs_object_id"):
            obj = live.get(str(key))
            return (str(key), obj) if obj is not None else None
        object_id = self._index(object_type, prop).first(self._normalize(prop, str(key)), live)
        return (object_id, live[object_id]) if object_id is not None else None

    def _index(self, object_type, prop):
        """The index of live objects by `prop`, built on first use."""
        by_prop = self.indexes.setdefault(object_type, {})
        if prop not in by_prop:
            index = ValueIndex()
            for object_id, obj in self.objects.get(object_type, {}).items():
                value = obj["properties"].get(prop)
                if value is not None:
                    index.move(object_id, self._normalize(prop, str(value)))
            by_prop[prop] = index
        return by_prop[prop]

    def _index_object(self, object_type, object_id, obj):
        """Moves the object's entries to its current property values."""
        for prop, index in self.indexes.get(object_type, {}).items():
            value = obj["properties"].get(prop)
            index.move(object_id, None if value is None else self._normalize(prop, str(value)))

    def _unindex(self, object_type, object_id):
        for index in self.indexes.get(object_type, {}).values():
            index.remove(object_id)

    def _create_object(self, object_type, properties):
        object_id = str(self.next_id)
        self.next_id += 1
        stamp = _now()
        if "email" in properties and properties["email"] is not None:
            properties["email"] = str(properties["email"]).lower()
        obj = {"properties": {}, "createdAt": stamp, "updatedAt": stamp}
        self._set_properties(obj, properties)
        obj["properties"].update(hs_object_id=object_id, createdate=stamp)
        self.objects.setdefault(object_type, {})[object_id] = obj
        self._index_object(object_type, object_id, obj)
        return object_id, obj

    @staticmethod
    def _set_properties(obj, properties):
        stamp = _now()
        for name, value in properties.items():
            # HubSpot keeps every property value as a string; "" clears it.
            obj["properties"][name] = None if value is None or value == "" else str(value)
        obj["properties"]["lastmodifieddate"] = stamp
        obj["updatedAt"] = stamp

    @staticmethod
    def _public(object_id, obj, item):
        result = {"id": object_id, "properties": dict(obj["properties"]),
                  "createdAt": obj["createdAt"], "updatedAt": obj["updatedAt"],
                  "archived": False}
        if "objectWriteTraceId" in item:
            result["objectWriteTraceId"] = item["objectWriteTraceId"]
        return result

    @staticmethod
    def _record_error(message, key, item, category="VALIDATION_ERROR"):
        context = {}
        if key is not None:
            context["ids"] = [key]
        if "objectWriteTraceId" in item:
            context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
        return {"status": "error", "category": category, "message": message, "context": context}

    @staticmethod
    def _not_found(object_type, ids):
        return {"status": "error", "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {_label(object_type)} objects, they may be "
                           f"deleted or not exist. Check that ids are valid.",
                "context": {"ids": ids}}

    @staticmethod
    def _batch_answer(results, errors):
        stamp = _now()
        body = {"status": "COMPLETE", "results": list(reversed(results)),
                "startedAt": stamp, "completedAt": stamp}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
            return answer(207, body)
        return answer(200, body)

    @staticmethod
    def _error(status, category, message, errors=None):
        body = {"status": "error", "message": message,
                "correlationId": str(uuid.uuid4()), "category": category}
        if errors:
            body["errors"] = errors
        return answer(status, body)

    def state(self):
        return {"objects": self.objects,
                "archived": {t: sorted(ids) for t, ids in self.archived.items()}}
