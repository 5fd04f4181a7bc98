"""Intercom REST API mock (type `intercom`): the contact and company endpoints
the `intercom` destination uses, as Intercom documents them (sources in
docs/destinations/intercom.md).

    POST   /contacts          create            -> 200 the contact
    PUT    /contacts/{id}     update by Intercom's id -> 200 the contact
    DELETE /contacts/{id}     delete            -> 200 {"id", "external_id", "type": "contact", "deleted": true}
    POST   /contacts/search   {"query": {"field", "operator": "=", "value"}} (or
                              {"operator": "AND"|"OR", "value": [filters]})
                              -> 200 {"type": "list", "data": [...], "total_count": n, "pages": {...}}
    POST   /companies         create or update by company_id -> 200 the company
    GET    /__vendor/state    (no real API has it) -> {"contacts": {id: contact}, "companies": {company_id: company}}

Authentication: `Authorization: Bearer <token>`; with option `access_token` only
that token is accepted, else any non-empty one. Otherwise 401 {"type":
"error.list", "request_id": ..., "errors": [{"code": "unauthorized", "message":
"Access Token Invalid"}]}. Every error has that shape. An `Intercom-Version`
header, when sent, must be a version Intercom has (1.0-1.4, 2.0-2.14,
Unstable): else 400 intercom_version_invalid.

Contacts: role is "user" (default) or "lead"; a user needs an external_id or an
email. external_id and email are unique among contacts (email ignoring case):
a create that repeats one gets 409 {"code": "conflict", "message": "A contact
matching those details already exists with id=<id>"}, as does an update that
would take another contact's. Only Intercom's documented attributes are taken
(others: 400 parameter_invalid); custom_attributes must be an object, and with
option `custom_attributes` (a list of names) only those names exist (else 400
parameter_invalid "Custom attribute 'x' does not exist"). Unknown ids get 404
{"code": "not_found", "message": "User Not Found"}. Search finds contacts at
once (the real search may lag a few minutes after a create).

Companies: company_id is required (400 parameter_not_found otherwise, as the
mock's simplification); a known company_id updates that company.

Rate limits: every authenticated answer carries X-RateLimit-Limit,
X-RateLimit-Remaining and X-RateLimit-Reset (epoch seconds): the test's
`rate_limit` when given, else Intercom's default of 10,000 a minute counted in
10-second windows (1,666 a window). Beyond the test's limit: 429 {"code":
"rate_limit_exceeded", "message": "Exceeded rate limit of N in 10_seconds"}
with X-RateLimit-Remaining: 0 (and Retry-After only when the test gives one:
Intercom does not send it).

Common options (test/mocks/base.py): `reject` keys are a contact's external_id,
else its email, or a company's company_id: that request gets 400
{"code": "parameter_invalid", "message": <the message>}.
"""

import itertools
import math
import re
import time

from mocks.base import VendorMock, answer

CONTACT_FIELDS = {"role", "external_id", "email", "phone", "name", "avatar", "signed_up_at", "last_seen_at",
                  "owner_id", "unsubscribed_from_emails", "custom_attributes"}
COMPANY_FIELDS = {"company_id", "name", "plan", "size", "website", "industry", "monthly_spend",
                  "remote_created_at", "custom_attributes"}
VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "Unstable"} | {f"2.{n}" for n in range(15)}
WINDOW_S = 10
DEFAULT_PER_WINDOW = 1666   # 10,000 a minute, in 10-second windows
CONTACT_PATH = re.compile(r"^/contacts/([A-Za-z0-9]+)$")


def error(status, code, message, headers=None):
    return answer(status, {"type": "error.list", "request_id": "mock-request",
                           "errors": [{"code": code, "message": message}]}, headers)


class Mock(VendorMock):
    TYPE = "intercom"
    OPTIONS = {"access_token": "the only token accepted (default: any non-empty one)",
               "custom_attributes": "list of the custom attribute names the workspace has (default: any)"}

    def __init__(self, options):
        super().__init__(options)
        if "access_token" in options and not (isinstance(options["access_token"], str) and options["access_token"]):
            raise ValueError("access_token: must be a non-empty string")
        attributes = options.get("custom_attributes")
        if attributes is not None and not (isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)):
            raise ValueError("custom_attributes: must be a list of names")
        self.contacts = {}
        self.companies = {}
        self.ids = itertools.count(1)
        self.window_start = time.time()
        self.window_used = 0

    # ---- request flow -------------------------------------------------------

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"contacts": self.contacts, "companies": self.companies})
        scheme, _, token = request.header("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if self.unauthorized or not token or self.options.get("access_token", token) != token:
            return error(401, "unauthorized", "Access Token Invalid")
        limited = self.over_rate_limit()
        headers = self.rate_headers(limited)
        if limited:
            limit = self.rate_window()[0]
            headers.update(self.retry_after_headers())
            return error(429, "rate_limit_exceeded", f"Exceeded rate limit of {limit} in {WINDOW_S}_seconds",
                         headers)
        result = self.route(request)
        result["headers"] = dict(result.get("headers", {}), **headers)
        return result

    def route(self, request):
        version = request.header("intercom-version")
        if version is not None and version not in VERSIONS:
            return error(400, "intercom_version_invalid", "The requested version could not be found")
        method, path = request.method, request.path
        match = CONTACT_PATH.match(path)
        if path == "/contacts/search" and method == "POST":
            return self.with_body(request, self.search)
        if path == "/contacts" and method == "POST":
            return self.with_body(request, self.create_contact)
        if path == "/companies" and method == "POST":
            return self.with_body(request, self.upsert_company)
        if match and method == "PUT":
            return self.with_body(request, lambda body: self.update_contact(match.group(1), body))
        if match and method == "DELETE":
            return self.delete_contact(match.group(1))
        return error(404, "not_found", "Resource Not Found")

    @staticmethod
    def with_body(request, endpoint):
        if not request.header("content-type", "").lower().startswith("application/json"):
            return error(415, "unsupported_media_type", "Content-Type must be application/json")
        body = request.json()
        if not isinstance(body, dict):
            return error(400, "parameter_invalid", "The request body must be a JSON object")
        return endpoint(body)

    def rate_headers(self, limited):
        window = self.rate_window()
        if window is not None:
            limit, seconds, used, oldest = window
            reset = time.time() + (oldest + seconds - time.monotonic())
        else:
            now = time.time()
            if now - self.window_start >= WINDOW_S:
                self.window_start, self.window_used = now, 0
            self.window_used += 1
            limit, used, reset = DEFAULT_PER_WINDOW, self.window_used, self.window_start + WINDOW_S
        remaining = 0 if limited else max(limit - used, 0)
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(math.ceil(reset))}

    # ---- contacts -----------------------------------------------------------

    def problem(self, body, fields, key):
        unknown = sorted(set(body) - fields)
        if unknown:
            return error(400, "parameter_invalid", f"{unknown[0]} is not a valid attribute")
        attributes = body.get("custom_attributes")
        if attributes is not None:
            if not isinstance(attributes, dict):
                return error(400, "parameter_invalid", "custom_attributes must be an object")
            known = self.options.get("custom_attributes")
            for name in attributes:
                if known is not None and name not in known:
                    return error(400, "parameter_invalid", f"Custom attribute '{name}' does not exist")
        rejected = self.rejection(key)
        if rejected is not None:
            return error(400, "parameter_invalid", rejected)
        return None

    def conflicting(self, body, except_id=None):
        for contact in self.contacts.values():
            if contact["id"] == except_id:
                continue
            same_id = body.get("external_id") is not None and contact.get("external_id") == body["external_id"]
            same_email = isinstance(body.get("email"), str) and isinstance(contact.get("email"), str) and \
                contact["email"].lower() == body["email"].lower()
            if same_id or same_email:
                return error(409, "conflict",
                             f"A contact matching those details already exists with id={contact['id']}")
        return None

    def create_contact(self, body):
        found = self.problem(body, CONTACT_FIELDS, body.get("external_id", body.get("email")))
        if found:
            return found
        role = body.get("role", "user")
        if role not in ("user", "lead"):
            return error(400, "parameter_invalid", "role must be one of user, lead")
        if role == "user" and not body.get("external_id") and not body.get("email"):
            return error(400, "parameter_not_found", "A contact with the user role needs an external_id or an email")
        found = self.conflicting(body)
        if found:
            return found
        contact_id = f"6a{next(self.ids):022x}"
        now = int(time.time())
        contact = {"type": "contact", "id": contact_id, "workspace_id": "mockws", "role": role,
                   "custom_attributes": {}, "created_at": now, "updated_at": now}
        self.apply(contact, body)
        self.contacts[contact_id] = contact
        return answer(200, contact)

    def update_contact(self, contact_id, body):
        contact = self.contacts.get(contact_id)
        if contact is None:
            return error(404, "not_found", "User Not Found")
        found = self.problem(body, CONTACT_FIELDS, body.get("external_id", body.get("email")))
        if found:
            return found
        if body.get("role") == "lead" and contact["role"] == "user":
            return error(400, "client_error", "Contact with user role can't be converted to a lead")
        found = self.conflicting(body, except_id=contact_id)
        if found:
            return found
        self.apply(contact, body)
        contact["updated_at"] = int(time.time())
        return answer(200, contact)

    @staticmethod
    def apply(contact, body):
        for name, value in body.items():
            if name == "custom_attributes":
                contact["custom_attributes"].update(value)
            else:
                contact[name] = value

    def delete_contact(self, contact_id):
        contact = self.contacts.pop(contact_id, None)
        if contact is None:
            return error(404, "not_found", "User Not Found")
        return answer(200, {"id": contact_id, "external_id": contact.get("external_id"), "type": "contact",
                            "deleted": True})

    def search(self, body):
        query = body.get("query")
        try:
            matches = [c for c in self.contacts.values() if self.matches(c, query)]
        except ValueError as problem:
            return error(400, "invalid_field", str(problem))
        return answer(200, {"type": "list", "data": matches, "total_count": len(matches),
                            "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}})

    def matches(self, contact, query):
        if not isinstance(query, dict):
            raise ValueError("query must be an object")
        if query.get("operator") in ("AND", "OR"):
            filters = query.get("value")
            if not isinstance(filters, list) or not filters or len(filters) > 15:
                raise ValueError("AND and OR take a list of 1 to 15 filters")
            results = [self.matches(contact, f) for f in filters]
            return all(results) if query["operator"] == "AND" else any(results)
        field, operator, value = query.get("field"), query.get("operator"), query.get("value")
        if field not in ("id", "external_id", "email", "role", "name", "phone"):
            raise ValueError(f"{field} is not a searchable field of the mock")
        if operator not in ("=", "!="):
            raise ValueError(f"operator {operator} is not supported by the mock")
        have = contact.get(field)
        equal = have == value or (field == "email" and isinstance(have, str) and isinstance(value, str)
                                  and have.lower() == value.lower())
        return equal if operator == "=" else not equal

    # ---- companies ----------------------------------------------------------

    def upsert_company(self, body):
        found = self.problem(body, COMPANY_FIELDS, body.get("company_id"))
        if found:
            return found
        company_id = body.get("company_id")
        if not isinstance(company_id, str) or not company_id:
            return error(400, "parameter_not_found", "company_id is required")
        company = self.companies.get(company_id)
        now = int(time.time())
        if company is None:
            company = {"type": "company", "id": f"6c{next(self.ids):022x}", "app_id": "mockws",
                       "custom_attributes": {}, "created_at": now, "user_count": 0}
            self.companies[company_id] = company
        self.apply(company, body)
        company["updated_at"] = now
        return answer(200, company)
