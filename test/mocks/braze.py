"""Braze REST API mock (type `braze`): the two user-data endpoints the `braze`
destination uses, as Braze documents them (sources in docs/destinations/braze.md).

    POST /users/track    {"attributes": [...], "events": [...], "purchases": [...]}
    POST /users/delete   {"external_ids": [...]} or {"user_aliases": [...]} or {"braze_ids": [...]}
    GET  /__vendor/state (no real API has it) -> the stored users, for tests

Authentication: `Authorization: Bearer <REST API key>`. With option `api_key` only
that key is accepted; without it any non-empty key is. A bad or missing key gets
401 {"message": "Invalid API key: <key>"}.

/users/track: at most 75 objects in each array (400 "Max Input Length Exceeded").
Each object names its user by one of external_id, user_alias, braze_id (at most one
of these three), or else email, or else phone. Events need name and an ISO-8601
time; purchases need product_id, currency (3 letters), price (a number) and time;
quantity, when given, is an integer from 1 to 100. A bad object does not fail the
request: the answer is 201 {"message": "success", "<array>_processed": n, ...,
"errors": [{"type": "<reason>", "input_array": "events", "index": 3}]}. When no
object at all is valid the request fails: 400 {"message": "Valid data must be
provided in the 'attributes', 'events', or 'purchases' fields.", "errors": [...]}.
Objects are applied in Braze's order: attributes, then events, then purchases.

State: a user is created by the first object that names it. Attributes merge (null
removes one); events and purchases are appended (Braze keeps "duplicate" events as
separate events). An object with `_update_existing_only: true` never creates a
user, nor does one naming a user_alias unless it sets `_update_existing_only:
false` (Braze: "Update Only" mode is always on for a user_alias). An email or phone identifier first finds a user whose email or
phone attribute matches (preferring users with an external_id), as Braze does.
Every user gets a braze_id (24 hex digits) that /users/delete accepts.

/users/delete: exactly one of external_ids, user_aliases, braze_ids, at most 50
ids (400 otherwise); 201 {"deleted": n, "message": "success"}, n being the ids
queued (Braze queues deletions without reporting unknown ids).

GET /__vendor/state -> {"users": {<key>: user}} where <key> is the external_id,
or "email:<e>", "phone:<p>", "braze_id:<id>", "user_alias:<label>:<name>" for users
without one; a user is {"braze_id", "external_id"?, "user_alias"?, "attributes",
"events", "purchases"}.

Common options (test/mocks/base.py): `reject` keys are the object's external_id,
else its email, phone or braze_id (whichever names the user): that object gets a
per-object error with the message as its "type". `rate_limit` -> 429
{"message": "Rate Limited"}. Every answer carries X-RateLimit-Limit,
X-RateLimit-Remaining and X-RateLimit-Reset (UTC epoch seconds): those of the
test's rate_limit when given, else Braze's defaults (3,000 requests per 3 s for
/users/track, 20,000 per minute for /users/delete).

Option `delay_ms`: {"<path>": N} delays every answer to requests for that path
by N ms; {"<path>": [N1, N2, ...]} delays the next requests for it one by one
(the first by N1...), and none once the list is used up. The request takes
effect at once: only its answer is late, as when Braze did the work and the
answer never reached the client. A test holds one request in flight with it
(the mock's own delay_ms answers come before the vendor and so store nothing,
and its record rules cannot match a list of ids).
"""

import math
import re
import time
from collections import deque
from datetime import datetime

from mocks.base import VendorMock, answer

MAX_TRACK_OBJECTS = 75
MAX_DELETE_IDS = 50
NO_VALID_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
IDENTIFIER_REQUIRED = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
# Braze's documented default limits: (requests, window in seconds) per endpoint.
DEFAULT_LIMITS = {"/users/track": (3000, 3.0), "/users/delete": (20000, 60.0)}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class _Window:
    """A sliding window of request times, only for the X-RateLimit-* headers."""

    def __init__(self, limit, seconds):
        self.limit, self.seconds, self.times = limit, seconds, deque()

    def count(self):
        now = time.monotonic()
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        self.times.append(now)

    def headers(self, used):
        oldest = self.times[0] if self.times else time.monotonic()
        reset = time.time() + (oldest + self.seconds - time.monotonic())
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(self.limit - used, 0)),
                "X-RateLimit-Reset": str(math.ceil(reset))}


class Mock(VendorMock):
    TYPE = "braze"
    OPTIONS = {"api_key": "the only REST API key accepted (default: any non-empty key)",
               "delay_ms": "object of path -> ms (every answer) or [ms, ...] (the next answers "
                           "one by one): answers to that path wait, the request taking effect at once"}

    def __init__(self, options):
        super().__init__(options)
        if "api_key" in options and not (isinstance(options["api_key"], str) and options["api_key"]):
            raise ValueError("api_key: must be a non-empty string")
        self.delays = self.parse_delays(options.get("delay_ms", {}))
        self.users = {}          # state key (see the docstring) -> user
        self.next_braze_id = 1
        self.windows = {path: _Window(*limit) for path, limit in DEFAULT_LIMITS.items()}

    def quick_answer(self, request):
        doc = request.json() or {}
        if request.path == "/users/delete":
            ids = [i for name in ("external_ids", "user_aliases", "braze_ids", "email_addresses")
                   for i in doc.get(name) or []]
            return answer(201, {"deleted": len(ids), "message": "success"})
        result = {"message": "success"}
        for name in ("attributes", "events", "purchases"):
            if isinstance(doc.get(name), list):
                result[f"{name}_processed"] = len(doc[name])
        return answer(201, result)

    # ---- request flow -------------------------------------------------------

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"users": self.users})
        endpoint = {"/users/track": self.users_track, "/users/delete": self.users_delete}.get(request.path)
        if endpoint is None:
            return answer(404, {"message": "Not Found"})
        if request.method != "POST":
            return answer(405, {"message": "Method Not Allowed"}, {"Allow": "POST"})
        result = self.checked(request, endpoint)
        result["headers"] = dict(result.get("headers", {}), **self.rate_headers(request.path))
        delay = self.next_delay(request.path)
        if delay:
            result["delay_ms"] = delay
        return result

    def checked(self, request, endpoint):
        """Auth, rate limit and JSON checks shared by both endpoints, then the endpoint."""
        key = self.bearer_key(request)
        if self.unauthorized or not key or self.options.get("api_key", key) != key:
            return answer(401, {"message": f"Invalid API key: {key or ''}"})
        self.windows[request.path].count()
        if self.over_rate_limit():
            return answer(429, {"message": "Rate Limited"}, self.retry_after_headers())
        # Braze documents Content-Type: application/json for every REST call.
        if not request.header("content-type", "").lower().startswith("application/json"):
            return answer(400, {"message": "Bad Request: Content-Type must be application/json"})
        body = request.json()
        if not isinstance(body, dict):
            return answer(400, {"message": "Bad Request: the body must be a JSON object"})
        return endpoint(body)

    @staticmethod
    def bearer_key(request):
        scheme, _, key = request.header("authorization", "").partition(" ")
        return key.strip() if scheme.lower() == "bearer" else ""

    def rate_headers(self, path):
        # The test's limit when it set one (counted by the base class), else Braze's default.
        test_window = self.rate_window()
        if test_window is not None:
            limit, seconds, used, oldest = test_window
            window = _Window(limit, seconds)
            window.times = deque([oldest])
            return window.headers(used)
        window = self.windows[path]
        return window.headers(len(window.times))

    # ---- POST /users/track --------------------------------------------------

    def users_track(self, body):
        arrays = {}
        for name in ("attributes", "events", "purchases"):
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, list):
                return answer(400, {"message": f"Bad Request: '{name}' must be an array"})
            if len(value) > MAX_TRACK_OBJECTS:
                return answer(400, {"message": "Max Input Length Exceeded"})
            arrays[name] = value
        if not any(arrays.values()):
            return answer(400, {"message": NO_VALID_DATA})

        # Validate everything first: a request that fails as a whole changes nothing.
        errors, valid = [], {name: [] for name in arrays}
        for name, objects in arrays.items():
            for index, obj in enumerate(objects):
                problem = self.track_object_problem(name, obj)
                if problem is None:
                    valid[name].append(obj)
                else:
                    errors.append({"type": problem, "input_array": name, "index": index})
        if not any(valid.values()):
            return answer(400, {"message": NO_VALID_DATA, "errors": errors})

        for obj in valid.get("attributes", []):
            self.apply_attributes(obj)
        for name in ("events", "purchases"):
            for obj in valid.get(name, []):
                user = self.user_for(obj, create=self.creates(obj))
                if user is not None:
                    user[name].append(self.without_identifiers(obj))

        result = {"message": "success"}
        for name in arrays:
            result[f"{name}_processed"] = len(valid[name])
        if errors:
            result["errors"] = errors
        return answer(201, result)

    def track_object_problem(self, array, obj):
        """Why Braze would refuse this object, or None."""
        if not isinstance(obj, dict):
            return "each object must be a JSON object"
        kind, value = self.identifier(obj)
        if kind is None:
            return value
        if isinstance(obj.get("email"), str) and not EMAIL.match(obj["email"]):
            return "The value provided for the 'email' field is not a valid email."
        if array == "events":
            problem = self.event_problem(obj)
        elif array == "purchases":
            problem = self.purchase_problem(obj)
        else:
            problem = None
        if problem is None and "properties" in obj and not isinstance(obj["properties"], dict):
            problem = "'properties' is not valid"
        return problem or self.rejection(self.reject_key(obj))

    @staticmethod
    def identifier(obj):
        """(kind, value) naming the object's user, or (None, reason)."""
        strong = [f for f in ("external_id", "user_alias", "braze_id") if obj.get(f) not in (None, "")]
        # The docs give no precedence between these three, so two of them are refused.
        if len(strong) > 1:
            return None, "only one of 'external_id', 'user_alias' or 'braze_id' may be given"
        kind = strong[0] if strong else next(
            (f for f in ("email", "phone") if obj.get(f) not in (None, "")), None)
        if kind is None:
            return None, IDENTIFIER_REQUIRED
        value = obj[kind]
        if kind == "user_alias":
            if not (isinstance(value, dict) and isinstance(value.get("alias_name"), str)
                    and isinstance(value.get("alias_label"), str)):
                return None, "'user_alias' is not valid"
            return kind, f"{value['alias_label']}:{value['alias_name']}"
        if not isinstance(value, str):
            return None, f"'{kind}' is not valid"
        return kind, value

    @staticmethod
    def event_problem(obj):
        if not isinstance(obj.get("name"), str) or not obj["name"]:
            return "'name' is required"
        return Mock.time_problem(obj)

    @staticmethod
    def purchase_problem(obj):
        if not isinstance(obj.get("product_id"), str) or not obj["product_id"]:
            return "'product_id' is required"
        if not isinstance(obj.get("currency"), str) or not CURRENCY.match(obj["currency"]):
            return "'currency' is not valid"
        if isinstance(obj.get("price"), bool) or not isinstance(obj.get("price"), (int, float)):
            return "'price' is not valid"
        quantity = obj.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
            return "'quantity' is not valid"
        return Mock.time_problem(obj)

    @staticmethod
    def time_problem(obj):
        if "time" not in obj:
            return "'time' is required"
        try:
            datetime.fromisoformat(obj["time"])
        except (TypeError, ValueError):
            return "'time' is not valid"
        return None

    @staticmethod
    def reject_key(obj):
        for field in ("external_id", "email", "phone", "braze_id"):
            if isinstance(obj.get(field), str) and obj[field]:
                return obj[field]
        return None

    # ---- users --------------------------------------------------------------

    def user_for(self, obj, create):
        """The user an object names (found as Braze would), created when asked."""
        kind, value = self.identifier(obj)
        if kind in ("email", "phone"):
            matches = [u for u in self.users.values() if u["attributes"].get(kind) == value]
            matches.sort(key=lambda u: "external_id" not in u)
            if matches:
                return matches[0]
        if kind == "braze_id":
            found = next((u for u in self.users.values() if u["braze_id"] == value), None)
            if found is not None or not create:
                return found
        key = value if kind == "external_id" else f"{kind}:{value}"
        if key not in self.users and create:
            user = {"braze_id": value if kind == "braze_id" else self.new_braze_id(),
                    "attributes": {}, "events": [], "purchases": []}
            if kind in ("external_id", "user_alias"):
                user[kind] = obj[kind]
            if kind in ("email", "phone"):
                user["attributes"][kind] = value
            self.users[key] = user
        return self.users.get(key)

    def new_braze_id(self):
        braze_id = f"{self.next_braze_id:024x}"
        self.next_braze_id += 1
        return braze_id

    @staticmethod
    def creates(obj):
        """Whether an object may create its user: not in "Update Only" mode, which is
        always on for a user_alias unless the object turns it off explicitly."""
        if "user_alias" in obj and obj.get("external_id") in (None, ""):
            return obj.get("_update_existing_only") is False
        return obj.get("_update_existing_only") is not True

    def apply_attributes(self, obj):
        user = self.user_for(obj, create=self.creates(obj))
        if user is None:
            return
        for name, value in self.without_identifiers(obj).items():
            if value is None:
                user["attributes"].pop(name, None)   # null removes the attribute
            else:
                user["attributes"][name] = value

    @staticmethod
    def without_identifiers(obj):
        return {k: v for k, v in obj.items()
                if k not in ("external_id", "user_alias", "braze_id", "_update_existing_only")}

    # ---- POST /users/delete -------------------------------------------------

    def users_delete(self, body):
        given = [k for k in ("external_ids", "user_aliases", "braze_ids", "email_addresses",
                             "phone_numbers") if k in body]
        if len(given) != 1:
            return answer(400, {"message": "Bad Request: give exactly one of external_ids, "
                                           "user_aliases or braze_ids"})
        field, ids = given[0], body[given[0]]
        if field in ("email_addresses", "phone_numbers"):
            return answer(400, {"message": f"Bad Request: {field} is not modelled by this mock"})
        if not isinstance(ids, list) or not ids:
            return answer(400, {"message": f"Bad Request: '{field}' must be a non-empty array"})
        if len(ids) > MAX_DELETE_IDS:
            return answer(400, {"message": "The max number of external_ids and aliases per "
                                           "request was exceeded"})
        for one in ids:
            self.delete_user(field, one)
        return answer(201, {"deleted": len(ids), "message": "success"})

    def delete_user(self, field, one):
        if field == "external_ids":
            if isinstance(one, str):
                self.users.pop(one, None)
            return
        for key, user in list(self.users.items()):
            if (field == "braze_ids" and user["braze_id"] == one) or \
                    (field == "user_aliases" and user.get("user_alias") == one):
                del self.users[key]
