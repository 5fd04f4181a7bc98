"""Segment Tracking API mock as the Segment Profiles destination uses it (type
`segment_profiles`; sources in docs/destinations/segment_profiles.md).

    POST /v1/batch                {"batch": [{"type": "identify"|"group", ...}, ...]}
    POST /v1/identify, /v1/group  one event, the Segment Profiles destination's own calls
    GET  /__vendor/state (no real API has it) -> the profiles the space holds, for tests

Auth is HTTP Basic with the Profile space's source write key as the user name
and an empty password. Segment's edge does not check write keys: an unknown
key is answered 200 {"success": true} and its events are dropped. The mock does
the same when option `write_key` names the only key the space has (without it
any non-empty key is the space's). A missing or empty key is answered 400.

Answers: 200 {"success": true}; 400 {"success": false, "code", "message"} for a
body that is not JSON, a batch over 500 KB or 2,500 events, an event over 32 KB,
an event that is not an identify or group call, or lacks userId and anonymousId
(or a group call its groupId). The Tracking API has no per-event results: one bad
event refuses the whole request, as Segment does.

Common options (test/mocks/base.py): `reject` keys are userIds: a request
carrying one gets 400 with the option's message. `rate_limit` -> 429
{"success": false, "code": "rate_limited", ...} with Retry-After when asked.
`unauthorized` -> 401 {"success": false, "code": "unauthorized", ...}: Segment's
public edge does not answer it, a proxy or a Segment-compatible API in front of
the space may; it stands for "these credentials are refused".
"""

import base64
import json

from mocks.base import VendorMock, answer

MAX_EVENTS = 2500
MAX_BATCH_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024
KINDS = ("identify", "group")


def failure(status, code, message, headers=None):
    return answer(status, {"success": False, "code": code, "message": message}, headers)


class Mock(VendorMock):
    TYPE = "segment_profiles"
    OPTIONS = {"write_key": "the Profile space's source write key (default: any non-empty key)"}

    def __init__(self, options):
        super().__init__(options)
        if "write_key" in options and not (isinstance(options["write_key"], str) and options["write_key"]):
            raise ValueError("write_key: must be a non-empty string")
        self.users = {}      # userId or "anon:" + anonymousId -> {"traits": {...}, "groups": [...]}
        self.accounts = {}   # groupId -> {"traits": {...}}
        self.events = []     # the events the space accepted, in order
        self.dropped = 0     # events sent with an unknown write key

    def _write_key(self, request):
        value = request.header("Authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            user = base64.b64decode(value[6:], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return user.split(":", 1)[0] or None

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"users": self.users, "accounts": self.accounts,
                                "events": self.events, "dropped": self.dropped})
        if request.method != "POST" or request.path not in ("/v1/batch", "/v1/identify", "/v1/group"):
            return failure(404, "not_found", "Not Found")
        if self.unauthorized:
            return failure(401, "unauthorized", "Unauthorized: the write key is not valid")
        key = self._write_key(request)
        if key is None:
            return failure(400, "invalid_request", "missing write key")
        if self.over_rate_limit():
            return failure(429, "rate_limited", "Too Many Requests", self.retry_after_headers())
        doc = request.json()
        if not isinstance(doc, dict):
            return failure(400, "invalid_request", "invalid JSON")
        if request.path == "/v1/batch":
            if len(request.body) > MAX_BATCH_BYTES:
                return failure(400, "invalid_request", "batch exceeds 500KB")
            events = doc.get("batch")
            if not isinstance(events, list) or len(events) > MAX_EVENTS:
                return failure(400, "invalid_request", "batch must be an array of at most 2500 events")
        else:
            if len(request.body) > MAX_EVENT_BYTES:
                return failure(400, "invalid_request", "event exceeds 32KB")
            events = [dict(doc, type=request.path.rsplit("/", 1)[1])]
        for event in events:
            problem = self._problem(event)
            if problem is not None:
                return failure(400, "invalid_request", problem)
        for event in events:
            rejected = self.rejection(event.get("userId"))
            if rejected is not None:
                return failure(400, "invalid_request", rejected)
        if "write_key" in self.options and self.options["write_key"] != key:
            self.dropped += len(events)   # Segment answers 200 and drops them
            return answer(200, {"success": True})
        for event in events:
            self._apply(event)
        return answer(200, {"success": True})

    @staticmethod
    def _problem(event):
        if not isinstance(event, dict):
            return "event must be an object"
        if len(json.dumps(event).encode("utf-8")) > MAX_EVENT_BYTES:
            return "event exceeds 32KB"
        if event.get("type") not in KINDS:
            return f"type {event.get('type')!r} is not sent to a Profile space (identify or group)"
        if not event.get("userId") and not event.get("anonymousId"):
            return "userId or anonymousId is required"
        if event["type"] == "group" and not event.get("groupId"):
            return "groupId is required"
        for name in ("traits", "integrations", "context"):
            if name in event and event[name] is not None and not isinstance(event[name], dict):
                return f"{name} must be an object"
        return None

    def _apply(self, event):
        self.events.append(event)
        who = event.get("userId") or "anon:" + str(event.get("anonymousId"))
        user = self.users.setdefault(str(who), {"traits": {}, "groups": []})
        group = event.get("groupId")
        if event["type"] == "identify":
            user["traits"].update(event.get("traits") or {})
        else:
            self.accounts.setdefault(str(group), {"traits": {}})["traits"].update(event.get("traits") or {})
        if group and str(group) not in user["groups"]:
            user["groups"].append(str(group))
