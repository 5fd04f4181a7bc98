"""Mailchimp Marketing API mock (type `mailchimp`): the audience member
endpoints the `mailchimp` destination uses, as Mailchimp documents them
(sources in docs/destinations/mailchimp.md). Paths carry the API's /3.0 prefix,
so a test's endpoint setting is http://127.0.0.1:<port>/3.0.

    POST   /3.0/lists/{list_id}                          batch subscribe:
           {"members": [{"email_address", "status", "merge_fields"?, ...}, ...],
            "update_existing"?: bool}
    DELETE /3.0/lists/{list_id}/members/{subscriber_hash}  archive a member
    GET    /__vendor/state (no real API has it) -> {"lists": {list_id: {hash: member}}}

Authentication: HTTP Basic, any user name, the API key as the password. The key
must end with "-<data center>" and, with option `data_center`, that data center
(the real API answers a key of another data center as an invalid key); with
option `api_key` only that key is accepted. Otherwise 401 with Mailchimp's
problem document (Content-Type application/problem+json):
{"type", "title": "API Key Invalid", "status": 401, "detail", "instance"}.
Every error is such a document: 404 "Resource Not Found" (an unknown list with
option `audience_id`, a member the list does not have), 400 "Invalid Resource"
(a body that is not a members array, more than 500 members), 405, and 429
"Too Many Requests" for the `rate_limit` option.

Batch subscribe answers 200 even when members fail, each failure in
"errors": {"email_address", "error", "error_code"}: an address without "@" or
with no dot after it (ERROR_GENERIC, "... looks fake or invalid, please enter a
real email address."), a new member without a valid status (ERROR_GENERIC),
an existing member without update_existing (ERROR_CONTACT_EXISTS, "... is
already a list member..."). The answer: {"new_members": [member...],
"updated_members": [member...], "errors": [...], "total_created",
"total_updated", "error_count", "_links": []}; a member has "id" (the
subscriber hash: md5 of the lower-cased address), "email_address",
"unique_email_id", "status", "merge_fields", "list_id" and the other fields
sent. Archiving answers 204 without a body; an archived member stays in state
with status "archived" and comes back (status as sent) when subscribed again.

Common options (test/mocks/base.py): `reject` keys are an email address: that
member fails with the message as "error" (error_code ERROR_GENERIC).
"""

import base64
import hashlib
import re
import uuid
from json.encoder import encode_basestring_ascii as quote

from mocks.base import VendorMock, answer

MAX_MEMBERS = 500
STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
LIST_PATH = re.compile(r"^/3\.0/lists/([^/]+)$")
MEMBER_PATH = re.compile(r"^/3\.0/lists/([^/]+)/members/([^/]+)$")


def problem(status, title, detail, headers=None):
    return answer(status, {"type": ERRORS_DOC, "title": title, "status": status, "detail": detail,
                           "instance": str(uuid.uuid4())},
                  dict({"Content-Type": "application/problem+json"}, **(headers or {})))


def subscriber_hash(email):
    return hashlib.md5(email.lower().encode("utf-8")).hexdigest()


class Mock(VendorMock):
    TYPE = "mailchimp"
    OPTIONS = {"api_key": "the only API key accepted (default: any key with a data center suffix)",
               "data_center": "the data center keys must end with, e.g. us6 (default: any)",
               "audience_id": "the only audience that exists (default: any)"}

    def __init__(self, options):
        super().__init__(options)
        for name in ("api_key", "data_center", "audience_id"):
            if name in options and not (isinstance(options[name], str) and options[name]):
                raise ValueError(f"{name}: must be a non-empty string")
        self.lists = {}   # list id -> subscriber hash -> member

    def authorized(self, request):
        header = request.header("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user_password = base64.b64decode(header[len("Basic "):], validate=True).decode("utf-8")
        except ValueError:
            return False
        _, colon, key = user_password.partition(":")
        if not colon or "-" not in key or key.endswith("-"):
            return False
        if self.options.get("data_center", key.rsplit("-", 1)[1]) != key.rsplit("-", 1)[1]:
            return False
        return self.options.get("api_key", key) == key

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"lists": self.lists})
        list_match, member_match = LIST_PATH.match(request.path), MEMBER_PATH.match(request.path)
        if not list_match and not member_match:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if self.unauthorized or not self.authorized(request):
            return problem(401, "API Key Invalid",
                           "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
        if self.over_rate_limit():
            return problem(429, "Too Many Requests",
                           "You have exceeded the limit of 10 simultaneous connections.",
                           self.retry_after_headers())
        list_id = (list_match or member_match).group(1)
        if self.options.get("audience_id", list_id) != list_id:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if list_match:
            if request.method != "POST":
                return problem(405, "Method Not Allowed", "The requested method and resource are not compatible.",
                               {"Allow": "GET, POST, PATCH, DELETE"})
            return self.batch_subscribe(request, list_id)
        if request.method != "DELETE":
            return problem(405, "Method Not Allowed", "The requested method and resource are not compatible.",
                           {"Allow": "GET, PUT, PATCH, DELETE"})
        return self.archive(list_id, member_match.group(2))

    def batch_subscribe(self, request, list_id):
        if not request.header("content-type", "").lower().startswith("application/json"):
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("members"), list) or not all(
                isinstance(m, dict) for m in body["members"]):
            return problem(400, "Invalid Resource", "Schema describes array, object found instead for members.")
        if "update_existing" in body and not isinstance(body["update_existing"], bool):
            return problem(400, "Invalid Resource",
                           "Schema describes boolean, " + type(body["update_existing"]).__name__ +
                           " found instead for update_existing.")
        if len(body["members"]) > MAX_MEMBERS:
            return problem(400, "Invalid Resource", "Batch subscribe accepts at most 500 members.")
        members = self.lists.setdefault(list_id, {})
        created, updated, errors = [], [], []
        for item in body["members"]:
            email = item.get("email_address")
            if not isinstance(email, str):
                errors.append({"email_address": "", "error": "An email address must be provided.",
                               "error_code": "ERROR_GENERIC"})
                continue
            reason = self.rejection(email)
            local, at, domain = email.partition("@")
            if reason is None and (not local or not at or "." not in domain):
                reason = f"{email} looks fake or invalid, please enter a real email address."
            key = subscriber_hash(email)
            existing = members.get(key)
            status = item.get("status")
            if reason is None and existing is not None and existing["status"] != "archived" \
                    and not body.get("update_existing"):
                errors.append({"email_address": email, "error_code": "ERROR_CONTACT_EXISTS",
                               "error": f"{email} is already a list member, do you want to update? please "
                                        "provide update_existing:true in the request body"})
                continue
            if reason is None and (existing is None or existing["status"] == "archived") \
                    and status not in STATUSES:
                reason = "Invalid Resource: status: a new member needs a status of " + ", ".join(sorted(STATUSES))
            if reason is None and status is not None and status not in STATUSES:
                reason = f"Invalid Resource: status \"{status}\" is not a member status"
            if reason is not None:
                errors.append({"email_address": email, "error": reason, "error_code": "ERROR_GENERIC"})
                continue
            member = existing if existing is not None and existing["status"] != "archived" else None
            if member is None:
                member = self._new_member(item, list_id)
                members[key] = member
                created.append(member)
            else:
                updated.append(member)
                self._apply(member, item)
        return answer(200, {"new_members": created, "updated_members": updated, "errors": errors,
                            "total_created": len(created), "total_updated": len(updated),
                            "error_count": len(errors), "_links": []})

    def quick_answer(self, request):
        """Batch subscribe answers every member as created (what a first
        subscribe of valid members gets), archiving 204; anything else is
        answered by handle()."""
        list_match, member_match = LIST_PATH.match(request.path), MEMBER_PATH.match(request.path)
        if member_match and request.method == "DELETE":
            return answer(204)
        if not list_match or request.method != "POST":
            return self.handle(request)
        items = (request.json() or {}).get("members") or []
        if all(isinstance(item.get("email_address"), str) and isinstance(item.get("status"), (str, type(None)))
               and item.keys() <= {"email_address", "status"} for item in items):
            return self._plain_members_answer(items, list_match.group(1))
        created = [self._new_member(item, list_match.group(1)) for item in items]
        return answer(200, {"new_members": created, "updated_members": [], "errors": [],
                            "total_created": len(created), "total_updated": 0, "error_count": 0, "_links": []})

    @staticmethod
    def _plain_members_answer(items, list_id):
        """The same answer for members of an address and a status only, written
        as text (quoted as json.dumps quotes): building and serializing 500
        member objects a request made the answering mock, not the product,
        the bottleneck of a sync."""
        suffix = ',"merge_fields":{},"list_id":' + quote(list_id) + "}"
        members = []
        for item in items:
            email, status = item["email_address"], item.get("status")
            key = subscriber_hash(email)
            members.append('{"id":"%s","email_address":%s,"unique_email_id":"%s","status":%s%s' %
                           (key, quote(email), key[:10], "null" if status is None else quote(status), suffix))
        body = ('{"new_members":[' + ",".join(members) + '],"updated_members":[],"errors":[],"total_created":' +
                str(len(members)) + ',"total_updated":0,"error_count":0,"_links":[]}')
        return answer(200, body, {"Content-Type": "application/json"})

    @staticmethod
    def _new_member(item, list_id):
        key = subscriber_hash(item["email_address"])
        member = {"id": key, "email_address": item["email_address"], "unique_email_id": key[:10],
                  "status": item.get("status"), "merge_fields": {}, "list_id": list_id}
        Mock._apply(member, item)
        return member

    @staticmethod
    def _apply(member, item):
        for name, value in item.items():
            if name == "merge_fields" and isinstance(value, dict):
                member["merge_fields"].update(value)
            elif name not in ("email_address", "merge_fields"):
                member[name] = value

    def archive(self, list_id, key):
        member = self.lists.get(list_id, {}).get(key)
        if member is None or member["status"] == "archived":
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        reason = self.rejection(member["email_address"])
        if reason is not None:
            return problem(400, "Invalid Resource", reason)
        member["status"] = "archived"
        return answer(204)
