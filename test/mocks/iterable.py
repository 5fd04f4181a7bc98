"""Iterable API mock (type `iterable`): the user and event endpoints the
`iterable` destination uses, as Iterable documents them (sources in
docs/destinations/iterable.md).

    POST   /api/users/bulkUpdate        {"users": [{"email"|"userId", "dataFields": {...}}, ...]}
    POST   /api/events/trackBulk        {"events": [{"email"|"userId", "eventName", "id"?,
                                                     "createdAt"?, "dataFields"?, ...}, ...]}
    DELETE /api/users/{email}
    DELETE /api/users/byUserId/{userId}
    GET    /__vendor/state (no real API has it) -> the stored users, for tests

Authentication: header `Api-Key: <key>`. With option `api_key` only that key is
accepted; without it any non-empty key is. A bad or missing key gets 401
{"msg": "Invalid API key", "code": "BadApiKey", "params": null}.

Bulk endpoints answer 200 even when some users or events fail:
{"successCount": n, "failCount": m, "failedUpdates": {"invalidEmails": [...],
"invalidUserIds": [...], "notFoundEmails": [...], "notFoundUserIds": [...],
"forgottenEmails": [], "forgottenUserIds": [], "invalidDataEmails": [],
"invalidDataUserIds": [], "conflictEmails": [], "conflictUserIds": []}}
(trackBulk adds "disallowedEventNames", "filteredOutFields", "createdFields").
An email without "@" is invalid; a user named by userId alone that does not
exist is not found (an email-based project does not create users from a
userId); an item with neither is refused as a whole request:
400 {"msg": "...", "code": "BadParams", "params": null}. A body that is not
JSON, or over 4 MB, gets 400 "BadJsonBody". Events need "eventName"; an event
whose "id" was stored before replaces it (Iterable updates the event).

DELETE: 200 {"msg": "...", "code": "Success", "params": null}; a user that does
not exist 404 {"msg": "User does not exist", "code": "NotFound"...} (unconfirmed).

State: users by email (or "userId:<id>" when they have no email):
{"email"?, "userId"?, "dataFields", "events": [{"eventName", "id", "createdAt"?,
"dataFields"?}]}. dataFields merge (null sets null).

Common options (test/mocks/base.py): `reject` keys are an item's email, else
its userId: that item fails and is listed in failedUpdates under the reject
message, which must be one of the list names above (e.g. "forgottenEmails";
any other message lists it under invalidDataEmails / invalidDataUserIds).
`rate_limit` -> 429 {"msg": "Rate limit exceeded", "code": "RateLimitExceeded",
"params": null}; option `limited_paths` (list of paths) applies it only there.
"""

import json
import re
from urllib.parse import unquote

from mocks.base import VendorMock, answer

MAX_BODY_BYTES = 4 * 1024 * 1024
EMAIL_LISTS = ["invalidEmails", "notFoundEmails", "forgottenEmails", "invalidDataEmails", "conflictEmails"]
USER_ID_LISTS = ["invalidUserIds", "notFoundUserIds", "forgottenUserIds", "invalidDataUserIds",
                 "conflictUserIds"]
DELETE_BY_USER_ID = re.compile(r"^/api/users/byUserId/([^/]+)$")
DELETE_BY_EMAIL = re.compile(r"^/api/users/([^/]+)$")


def error(status, msg, code):
    return answer(status, {"msg": msg, "code": code, "params": None})


class Mock(VendorMock):
    TYPE = "iterable"
    OPTIONS = {"api_key": "the only API key accepted (default: any non-empty key)",
               "limited_paths": "list of paths the rate_limit applies to (default: all)"}

    def __init__(self, options):
        super().__init__(options)
        if "api_key" in options and not (isinstance(options["api_key"], str) and options["api_key"]):
            raise ValueError("api_key: must be a non-empty string")
        self.limited_paths = options.get("limited_paths")
        if self.limited_paths is not None and not (
                isinstance(self.limited_paths, list) and all(isinstance(p, str) for p in self.limited_paths)):
            raise ValueError("limited_paths: must be a list of paths")
        self.users = {}   # state key -> user

    # ---- request flow -------------------------------------------------------

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"users": self.users})
        endpoint = self.route(request)
        if isinstance(endpoint, dict):
            return endpoint
        key = request.header("api-key", "")
        if self.unauthorized or not key or self.options.get("api_key", key) != key:
            return error(401, "Invalid API key", "BadApiKey")
        if (self.limited_paths is None or request.path in self.limited_paths) and self.over_rate_limit():
            return answer(429, {"msg": "Rate limit exceeded", "code": "RateLimitExceeded", "params": None},
                          self.retry_after_headers())
        return endpoint(request)

    def route(self, request):
        """The endpoint function, or the 404/405 answer."""
        if request.path in ("/api/users/bulkUpdate", "/api/events/trackBulk"):
            if request.method != "POST":
                return answer(405, {"msg": "Method Not Allowed", "code": "GenericError", "params": None},
                              {"Allow": "POST"})
            return self.bulk_update if request.path == "/api/users/bulkUpdate" else self.track_bulk
        if DELETE_BY_USER_ID.match(request.path) or DELETE_BY_EMAIL.match(request.path):
            if request.method != "DELETE":
                return answer(405, {"msg": "Method Not Allowed", "code": "GenericError", "params": None},
                              {"Allow": "DELETE"})
            return self.delete_user
        return error(404, "Not Found", "NotFound")

    def body_items(self, request, member):
        """(items, None) or (None, the 400 answer)."""
        if len(request.body) > MAX_BODY_BYTES:
            return None, error(400, "Request body too large", "BadJsonBody")
        if not request.header("content-type", "").lower().startswith("application/json"):
            return None, error(400, "Content-Type must be application/json", "BadJsonBody")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get(member), list):
            return None, error(400, f"Request body must be a JSON object with a \"{member}\" array",
                               "BadJsonBody")
        for index, item in enumerate(body[member]):
            if not isinstance(item, dict) or not (isinstance(item.get("email"), str)
                                                  or isinstance(item.get("userId"), str)):
                return None, error(400, f"{member}[{index}]: email or userId is required", "BadParams")
        return body[member], None

    # ---- users --------------------------------------------------------------

    def find(self, email, user_id):
        if isinstance(email, str):
            return self.users.get(email.lower())
        return next((u for u in self.users.values() if u.get("userId") == user_id), None)

    def failure_of(self, item):
        """(list name, key) when the item fails, else None."""
        email, user_id = item.get("email"), item.get("userId")
        by_email = isinstance(email, str)
        reason = self.rejection(email if by_email else user_id)
        if reason is not None:
            lists = EMAIL_LISTS if by_email else USER_ID_LISTS
            return (reason if reason in lists else lists[3]), (email if by_email else user_id)
        if by_email and "@" not in email:
            return "invalidEmails", email
        if not by_email and self.find(None, user_id) is None:
            return "notFoundUserIds", user_id
        if "dataFields" in item and not isinstance(item["dataFields"], (dict, type(None))):
            return ("invalidDataEmails", email) if by_email else ("invalidDataUserIds", user_id)
        return None

    def upsert(self, item):
        email, user_id = item.get("email"), item.get("userId")
        user = self.find(email, user_id)
        if user is None:
            user = {"email": email, "dataFields": {}, "events": []}
            self.users[email.lower()] = user
        if isinstance(user_id, str):
            user["userId"] = user_id
        user["dataFields"].update(item.get("dataFields") or {})
        return user

    @staticmethod
    def verdict(items, failures, extra=None):
        failed = {name: [] for name in EMAIL_LISTS + USER_ID_LISTS}
        for name, key in failures:
            failed[name].append(key)
        body = {"successCount": len(items) - len(failures), "failCount": len(failures),
                "failedUpdates": failed}
        body.update(extra or {})
        return answer(200, body)

    def bulk_update(self, request):
        items, refusal = self.body_items(request, "users")
        if refusal:
            return refusal
        failures = []
        for item in items:
            failure = self.failure_of(item)
            if failure:
                failures.append(failure)
            else:
                self.upsert(item)
        return self.verdict(items, failures)

    def track_bulk(self, request):
        items, refusal = self.body_items(request, "events")
        if refusal:
            return refusal
        for index, item in enumerate(items):
            if not isinstance(item.get("eventName"), str) or not item["eventName"]:
                return error(400, f"events[{index}]: eventName is required", "BadParams")
            if "createdAt" in item and not isinstance(item["createdAt"], int):
                return error(400, f"events[{index}]: createdAt must be a Unix timestamp", "BadParams")
        failures = []
        for item in items:
            failure = self.failure_of(item)
            if failure:
                failures.append(failure)
                continue
            user = self.upsert({k: v for k, v in item.items() if k in ("email", "userId")})
            event = {k: item[k] for k in ("eventName", "id", "createdAt", "dataFields") if k in item}
            user["events"] = [e for e in user["events"] if "id" not in event or e.get("id") != event["id"]]
            user["events"].append(event)
        return self.verdict(items, failures, {"disallowedEventNames": [], "filteredOutFields": [],
                                              "createdFields": []})

    def delete_user(self, request):
        match = DELETE_BY_USER_ID.match(request.path)
        email, user_id = (None, unquote(match.group(1))) if match else \
            (unquote(DELETE_BY_EMAIL.match(request.path).group(1)), None)
        reason = self.rejection(email if email is not None else user_id)
        if reason is not None:
            return error(400, reason, "BadParams")
        user = self.find(email, user_id)
        if user is None:
            return error(404, "User does not exist", "NotFound")
        self.users = {k: u for k, u in self.users.items() if u is not user}
        return answer(200, {"msg": "User deleted", "code": "Success", "params": None})
