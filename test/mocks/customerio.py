"""Customer.io Track API mock (type `customerio`): the v2 batch endpoint the
`customerio` destination uses, plus the two v1 person calls, as Customer.io
documents them (sources in docs/destinations/customerio.md).

    POST   /api/v2/batch              {"batch": [{"type": "person", "action": ..., ...}, ...]}
    PUT    /api/v1/customers/{ident}  body = attributes           -> 200 {}
    DELETE /api/v1/customers/{ident}                              -> 200 {}
    GET    /__vendor/state  (no real API has it) -> the stored people, for tests

Authentication: HTTP Basic with site_id:api_key. With options `site_id` and/or
`api_key` only those are accepted; without them any non-empty pair is. Bad or
missing credentials get 401 {"meta": {"error": "Unauthorized request"}}.

/api/v2/batch items (type "person" only; the mock does not model objects or
deliveries): "identifiers" is exactly one of {"id"}, {"email"}, {"cio_id"};
actions "identify" (optional "attributes" object), "delete", and "event"
("name" required; optional "id" (a ULID: events with an id already stored for
that person are dropped, as Customer.io deduplicates them), "timestamp" (integer
Unix seconds) and "attributes" (the event data)). Documented limits are checked
per item: id at most 150 bytes, event name at most 100 bytes, attribute names at
most 150 bytes, attribute values at most 1000 bytes, at most 300 attributes,
event data at most 100,000 bytes. The whole body must be at most 500 KB
(512,000 bytes). A bad item does not fail the batch: the answer is
207 {"errors": [{"batch_index": i, "reason": "required"|"invalid"|"not_found",
"field": "...", "message": "..."}]}; with no bad item 200 {}. A body that is not
a {"batch": [...]} object, or too large, gets 400 {"errors": [{...}]} (no
batch_index) and changes nothing.

State: identify creates the person (by id or email; a cio_id must exist) and
merges attributes (null or "" removes one); an "email" attribute becomes the
person's email, so they can later be named by it. delete removes the person (an
unknown person is not an error). An event for an unknown id or email creates the
person and is kept on it. Every person gets a cio_id (8 hex digits).

GET /__vendor/state -> {"people": {<id, else email>: {"id"?, "email"?, "cio_id",
"attributes", "events": [{"name", "id"?, "timestamp"?, "attributes"?}]}}}.

v1: PUT identifies and DELETE deletes the person named in the path: "cio_<x>" is
a cio_id, a value with "@" an email, anything else an id. Their errors are
400 {"meta": {"error": "..."}}.

Common options (test/mocks/base.py): `reject` keys are the item's identifier
value (id, email or cio_id): that item gets a per-item error ("invalid", field
"identifiers") with the message; on v1 the request gets 400 with it.
`rate_limit` -> 429 {"meta": {"error": "Too Many Requests"}} (Customer.io
documents a fair-use limit of 100 requests/s and no rate-limit headers).
"""

import base64
import json
import re
from urllib.parse import unquote

from mocks.base import VendorMock, answer

MAX_BATCH_BYTES = 500 * 1024
MAX_ID_BYTES = 150
MAX_EVENT_NAME_BYTES = 100
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300
MAX_EVENT_DATA_BYTES = 100000
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$")
UNAUTHORIZED = {"meta": {"error": "Unauthorized request"}}
V1_PERSON = re.compile(r"^/api/v1/customers/([^/]+)$")


def nbytes(value):
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return len(text.encode("utf-8"))


class ItemError(Exception):
    """One batch item refused: reason, field and message as Customer.io reports them."""

    def __init__(self, reason, field, message):
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


class Mock(VendorMock):
    TYPE = "customerio"
    OPTIONS = {
        "site_id": "the only Site ID accepted (default: any non-empty one)",
        "api_key": "the only Track API key accepted (default: any non-empty one)",
    }

    def __init__(self, options):
        super().__init__(options)
        for name in ("site_id", "api_key"):
            if name in options and not (isinstance(options[name], str) and options[name]):
                raise ValueError(f"{name}: must be a non-empty string")
        self.people = {}         # cio_id -> person, in creation order
        # (kind, value) -> {cio_id: person} for kind id, email and cio_id: a
        # lookup per item without scanning everyone (a 100,000-person sync
        # in bench/ otherwise spends minutes in find()).
        self.index = {}
        self.next_cio_id = 1

    def quick_answer(self, request):
        return answer(200, {})

    # ---- request flow -------------------------------------------------------

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"people": {p.get("id", p.get("email")): p for p in self.people.values()}})
        endpoint, refusal = self.route(request)
        if refusal is not None:
            return refusal
        if not self.authorized(request):
            return answer(401, UNAUTHORIZED)
        if self.over_rate_limit():
            return answer(429, {"meta": {"error": "Too Many Requests"}}, self.retry_after_headers())
        return endpoint(request)

    def route(self, request):
        """(endpoint function, None), or (None, the 404/405 answer)."""
        if request.path == "/api/v2/batch":
            methods = {"POST": self.batch}
        elif V1_PERSON.match(request.path):
            methods = {"PUT": self.v1_identify, "DELETE": self.v1_delete}
        else:
            return None, answer(404, {"meta": {"error": "Not Found"}})
        if request.method not in methods:
            return None, answer(405, {"meta": {"error": "Method Not Allowed"}},
                                {"Allow": ", ".join(methods)})
        return methods[request.method], None

    def authorized(self, request):
        if self.unauthorized:
            return False
        scheme, _, encoded = request.header("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        site_id, colon, api_key = decoded.partition(":")
        if not (colon and site_id and api_key):
            return False
        return self.options.get("site_id", site_id) == site_id and \
            self.options.get("api_key", api_key) == api_key

    @staticmethod
    def json_body(request):
        """The JSON body, or None when the Content-Type or the JSON is wrong."""
        if not request.header("content-type", "").lower().startswith("application/json"):
            return None
        return request.json()

    # ---- POST /api/v2/batch -------------------------------------------------

    def batch(self, request):
        if len(request.body) > MAX_BATCH_BYTES:
            return self.whole_request_error("invalid", "batch", "request body larger than 500kb")
        body = self.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            return self.whole_request_error("invalid", "batch",
                                            "expected a JSON object {\"batch\": [...]} "
                                            "sent as application/json")
        errors = []
        for index, item in enumerate(body["batch"]):
            try:
                self.apply_item(item)
            except ItemError as error:
                errors.append({"batch_index": index, "reason": error.reason,
                               "field": error.field, "message": error.message})
        return answer(207, {"errors": errors}) if errors else answer(200, {})

    @staticmethod
    def whole_request_error(reason, field, message):
        return answer(400, {"errors": [{"reason": reason, "field": field, "message": message}]})

    def apply_item(self, item):
        """Validates one item completely, then applies it (raises ItemError)."""
        if not isinstance(item, dict):
            raise ItemError("invalid", "", "each batch item must be an object")
        if item.get("type") != "person":
            raise ItemError("invalid", "type", "this mock only models type \"person\"")
        kind, value = self.identifier(item.get("identifiers"))
        action = item.get("action")
        if action == "identify":
            attributes = self.checked_attributes(item.get("attributes", {}), "attributes")
            self.check_rejected(value)
            self.identify(kind, value, attributes)
        elif action == "delete":
            self.check_rejected(value)
            self.delete(kind, value)
        elif action == "event":
            event = self.checked_event(item)
            self.check_rejected(value)
            self.add_event(kind, value, event)
        elif action is None:
            raise ItemError("required", "action", "action is required")
        else:
            raise ItemError("invalid", "action", f"this mock does not model action {action!r}")

    @staticmethod
    def identifier(identifiers):
        if identifiers is None:
            raise ItemError("required", "identifiers", "identifiers is required")
        if not isinstance(identifiers, dict) or len(identifiers) != 1:
            raise ItemError("invalid", "identifiers",
                            "identifiers must hold exactly one of id, email or cio_id")
        (kind, value), = identifiers.items()
        if kind not in ("id", "email", "cio_id"):
            raise ItemError("invalid", "identifiers", f"unknown identifier {kind!r}")
        if not isinstance(value, str) or not value:
            raise ItemError("invalid", f"identifiers.{kind}", f"{kind} must be a non-empty string")
        if kind == "id" and nbytes(value) > MAX_ID_BYTES:
            raise ItemError("invalid", "identifiers.id", "id is longer than 150 bytes")
        if kind == "email" and "@" not in value:
            raise ItemError("invalid", "identifiers.email", "email is not a valid email address")
        return kind, value

    def check_rejected(self, value):
        message = self.rejection(value)
        if message is not None:
            raise ItemError("invalid", "identifiers", message)

    @staticmethod
    def checked_attributes(attributes, field):
        if not isinstance(attributes, dict):
            raise ItemError("invalid", field, f"{field} must be an object")
        if len(attributes) > MAX_ATTRIBUTES:
            raise ItemError("invalid", field, "more than 300 attributes")
        for name, value in attributes.items():
            if nbytes(name) > MAX_ATTRIBUTE_NAME_BYTES:
                raise ItemError("invalid", f"{field}.{name}", "attribute name longer than 150 bytes")
            if value is not None and nbytes(value) > MAX_ATTRIBUTE_VALUE_BYTES:
                raise ItemError("invalid", f"{field}.{name}", "attribute value longer than 1000 bytes")
        return attributes

    @staticmethod
    def checked_event(item):
        name = item.get("name")
        if name is None:
            raise ItemError("required", "name", "name is required")
        if not isinstance(name, str) or not name.strip():
            raise ItemError("invalid", "name", "name must be a non-empty string")
        if nbytes(name) > MAX_EVENT_NAME_BYTES:
            raise ItemError("invalid", "name", "name is longer than 100 bytes")
        event = {"name": name.strip()}   # Customer.io trims event names
        if "id" in item:
            if not isinstance(item["id"], str) or not ULID.match(item["id"]):
                raise ItemError("invalid", "id", "id must be a ULID")
            event["id"] = item["id"]
        if "timestamp" in item:
            stamp = item["timestamp"]
            if isinstance(stamp, bool) or not isinstance(stamp, int):
                raise ItemError("invalid", "timestamp", "timestamp must be an integer (Unix seconds)")
            event["timestamp"] = stamp
        if "attributes" in item:
            data = item["attributes"]
            if not isinstance(data, dict):
                raise ItemError("invalid", "attributes", "attributes must be an object")
            if nbytes(data) > MAX_EVENT_DATA_BYTES:
                raise ItemError("invalid", "attributes", "event data larger than 100000 bytes")
            event["attributes"] = data
        return event

    # ---- people -------------------------------------------------------------

    def find(self, kind, value):
        """The first person created of those this identifier names."""
        found = self.index.get((kind, value))
        # cio_ids are fixed-width hex numbers given in creation order.
        return found[min(found)] if found else None

    def indexed(self, person, kind, add):
        value = person.get(kind)
        if value is None:
            return
        key = (kind, value)
        if add:
            self.index.setdefault(key, {})[person["cio_id"]] = person
        else:
            self.index[key].pop(person["cio_id"], None)
            if not self.index[key]:
                del self.index[key]

    def find_or_create(self, kind, value):
        person = self.find(kind, value)
        if person is not None:
            return person
        if kind == "cio_id":
            # A cio_id is assigned by Customer.io: it cannot name a new person.
            raise ItemError("not_found", "identifiers.cio_id", f"no person with cio_id {value}")
        person = {kind: value, "cio_id": f"{self.next_cio_id:08x}", "attributes": {}, "events": []}
        self.next_cio_id += 1
        self.people[person["cio_id"]] = person
        for name in ("id", "email", "cio_id"):
            self.indexed(person, name, add=True)
        return person

    def identify(self, kind, value, attributes):
        person = self.find_or_create(kind, value)
        for name, new in attributes.items():
            if new is None or new == "":
                person["attributes"].pop(name, None)   # null or "" removes the attribute
            else:
                person["attributes"][name] = new
        if isinstance(attributes.get("email"), str) and attributes["email"]:
            self.indexed(person, "email", add=False)
            person["email"] = attributes["email"]
            self.indexed(person, "email", add=True)

    def delete(self, kind, value):
        person = self.find(kind, value)
        if person is not None:
            for name in ("id", "email", "cio_id"):
                self.indexed(person, name, add=False)
            del self.people[person["cio_id"]]

    def add_event(self, kind, value, event):
        person = self.find_or_create(kind, value)
        if "id" in event and any(e.get("id") == event["id"] for e in person["events"]):
            return   # a repeated event id is deduplicated
        person["events"].append(event)

    # ---- v1 -----------------------------------------------------------------

    @staticmethod
    def v1_identifier(request):
        value = unquote(V1_PERSON.match(request.path).group(1))
        if value.startswith("cio_"):
            return "cio_id", value[4:]
        return ("email" if "@" in value else "id"), value

    def v1_call(self, request, apply):
        try:
            kind, value = self.v1_identifier(request)
            if kind == "id" and nbytes(value) > MAX_ID_BYTES:
                raise ItemError("invalid", "id", "id is longer than 150 bytes")
            self.check_rejected(value)
            apply(kind, value)
        except ItemError as error:
            return answer(400, {"meta": {"error": error.message}})
        return answer(200, {})

    def v1_identify(self, request):
        body = self.json_body(request)
        if not isinstance(body, dict):
            return answer(400, {"meta": {"error": "the body must be a JSON object of attributes "
                                                  "sent as application/json"}})

        def apply(kind, value):
            self.identify(kind, value, self.checked_attributes(body, "attributes"))
        return self.v1_call(request, apply)

    def v1_delete(self, request):
        return self.v1_call(request, self.delete)
