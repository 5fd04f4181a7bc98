"""Klaviyo API mock (type `klaviyo`): the bulk profile import and event
endpoints the `klaviyo` destination uses, as Klaviyo documents them (sources
in docs/destinations/klaviyo.md).

    POST /api/profile-bulk-import-jobs          {"data": {"type": "profile-bulk-import-job",
                                                  "attributes": {"profiles": {"data": [
                                                    {"type": "profile", "attributes": {"email"?,
                                                     "external_id"?, "phone_number"?, "first_name"?, ...,
                                                     "properties"?: {...}}}, ...]}}}}
        -> 202 {"data": <job>}: the job starts "queued"
    GET  /api/profile-bulk-import-jobs/{id}      -> 200 {"data": <job>}
    GET  /api/profile-bulk-import-jobs/{id}/import-errors[?page[cursor]=N]
        -> 200 {"data": [<import-error>...], "links": {"self", "next", "prev"}}
    POST /api/events                             {"data": {"type": "event", "attributes": {
                                                   "properties": {...}, "time"?, "value"?, "unique_id"?,
                                                   "metric": {"data": {"type": "metric", "attributes": {"name"}}},
                                                   "profile": {"data": {"type": "profile", "attributes": {...}}}}}}
        -> 202, no body
    GET  /__vendor/state (no real API has it) -> {"profiles", "events", "jobs"}, for tests

A job: {"type": "profile-bulk-import-job", "id", "attributes": {"status",
"created_at", "total_count", "completed_count", "failed_count",
"completed_at", "expires_at", "started_at"}, "links": {"self"}}. Statuses:
queued, processing, complete, cancelled. The job's profiles are imported
when it completes: after option `job_polls` GETs of the job saw it unfinished
(default 1; -1: it never completes), or cancelled there instead with
`cancel_jobs`. An import error: {"type": "import-error", "id", "attributes":
{"code", "title", "detail", "source": {"pointer"}, "original_payload": the
profile's attributes as sent}}; pages of option `errors_page_size` (default
20, Klaviyo's), `links.next` an absolute URL (built from the Host header)
with page[cursor], null on the last page. A job's errors are read only once
it completed (before: an empty list).

Headers: `Authorization: Klaviyo-API-Key <key>` (with option `api_key` only
that key; else any non-empty one), else 401 not_authenticated; `revision`
(a date YYYY-MM-DD, else 400); a POST needs `Content-Type:
application/vnd.api+json` (else 415). Errors are JSON:API:
{"errors": [{"id", "status", "code", "title", "detail", "source": {"pointer"}}]}.

Validation: a body of the wrong shape, a profile with none of email,
external_id and phone_number, more than 10,000 profiles or over 5 MB: 400 for
the whole request. In a job, an email without "@" ("Invalid email address"),
a phone number not starting with "+" ("Invalid phone number") or a profile
whose key (email, else external_id, else phone_number) is in `reject` (its
message) becomes an import error. An event whose profile email is invalid,
or whose key is in `reject`, gets 400. Events with a unique_id already
stored are accepted and not stored twice.

State: profiles by key (the email lower-cased, else "external_id:<id>",
else "phone:<number>"): their attributes, `properties` merged; a null never
clears a value (Klaviyo's import leaves it). Events: list of
{"metric", "profile", "properties", "time"?, "value"?, "unique_id"?}.

Option `revoke_after` (N): the key stops working after N requests it
authorized (a key revoked while a run polls its job).

`rate_limit` -> 429 {"errors": [{"status": 429, "code": "throttled", ...}]}.
"""

import re
import time
import uuid

from mocks.base import VendorMock, answer

MAX_PROFILES = 10000
MAX_BODY_BYTES = 5 * 1024 * 1024
JOB_PATH = re.compile(r"^/api/profile-bulk-import-jobs/([^/]+)$")
ERRORS_PATH = re.compile(r"^/api/profile-bulk-import-jobs/([^/]+)/import-errors$")
REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
PROFILE_FIELDS = ("email", "external_id", "phone_number")


def errors(status, code, title, detail, pointer=None):
    # Klaviyo's ids are random; these are the same for the same error, so
    # what a test shows of an answer stays the same from run to run.
    error = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{status}:{code}:{detail}")), "status": status, "code": code, "title": title, "detail": detail}
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    return answer(status, {"errors": [error]})


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


class Mock(VendorMock):
    TYPE = "klaviyo"
    OPTIONS = {"api_key": "the only API key accepted (default: any non-empty key)",
               "job_polls": "GETs of a job that see it unfinished before it completes (default 1; -1: never)",
               "cancel_jobs": "true: jobs end cancelled instead of complete",
               "errors_page_size": "import errors per page (default 20)",
               "revoke_after": "the key is revoked after this many requests it authorized (then 401)"}

    def __init__(self, options):
        super().__init__(options)
        if "api_key" in options and not (isinstance(options["api_key"], str) and options["api_key"]):
            raise ValueError("api_key: must be a non-empty string")
        self.job_polls = options.get("job_polls", 1)
        if isinstance(self.job_polls, bool) or not isinstance(self.job_polls, int) or self.job_polls < -1:
            raise ValueError("job_polls: must be an integer >= -1")
        self.cancel_jobs = options.get("cancel_jobs", False) is True
        self.page_size = options.get("errors_page_size", 20)
        if isinstance(self.page_size, bool) or not isinstance(self.page_size, int) or not 1 <= self.page_size <= 100:
            raise ValueError("errors_page_size: must be an integer from 1 to 100")
        self.revoke_after = options.get("revoke_after")
        if self.revoke_after is not None and (isinstance(self.revoke_after, bool)
                                              or not isinstance(self.revoke_after, int) or self.revoke_after < 0):
            raise ValueError("revoke_after: must be an integer >= 0")
        self.authorized = 0
        self.profiles = {}
        self.events = []
        self.jobs = {}   # id -> {"job": <job>, "profiles": [...], "errors": [...], "polls": n}

    # ---- request flow -------------------------------------------------------

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"profiles": self.profiles, "events": self.events,
                                "jobs": {i: j["job"] for i, j in self.jobs.items()}})
        endpoint = self.route(request)
        if isinstance(endpoint, dict):
            return endpoint
        auth = request.header("authorization", "")
        key = auth[len("Klaviyo-API-Key "):] if auth.startswith("Klaviyo-API-Key ") else ""
        revoked = self.revoke_after is not None and self.authorized >= self.revoke_after
        if self.unauthorized or revoked or not key or self.options.get("api_key", key) != key:
            return errors(401, "not_authenticated", "Authentication credentials were not provided.",
                          "Missing or invalid private key.", "/data/")
        self.authorized += 1
        if not REVISION.match(request.header("revision", "")):
            return errors(400, "invalid", "Invalid input.", "Missing or invalid revision header.")
        if self.over_rate_limit():
            result = errors(429, "throttled", "Request was throttled.",
                            "Request was throttled. Expected available in 1 second.")
            result["headers"] = self.retry_after_headers()
            return result
        if request.method == "POST" and \
                request.header("content-type", "").split(";")[0].strip() != "application/vnd.api+json":
            return errors(415, "unsupported_media_type", "Unsupported media type.",
                          "The Content-Type must be application/vnd.api+json.")
        return endpoint(request)

    def route(self, request):
        """The endpoint function, or the 404/405 answer."""
        for path, method, endpoint in (
                (re.compile(r"^/api/profile-bulk-import-jobs/?$"), "POST", self.create_job),
                (JOB_PATH, "GET", self.get_job),
                (ERRORS_PATH, "GET", self.get_errors),
                (re.compile(r"^/api/events/?$"), "POST", self.create_event)):
            if path.match(request.path):
                if request.method != method:
                    return errors(405, "method_not_allowed", "Method not allowed.",
                                  f"Method \"{request.method}\" not allowed.")
                return endpoint
        return errors(404, "not_found", "Not found.", "The requested resource was not found.")

    # ---- profiles -----------------------------------------------------------

    @staticmethod
    def profile_key(attributes):
        if isinstance(attributes.get("email"), str):
            return attributes["email"].lower()
        if isinstance(attributes.get("external_id"), str):
            return "external_id:" + attributes["external_id"]
        return "phone:" + str(attributes.get("phone_number"))

    def profile_problem(self, attributes):
        """(title, detail, field) when the profile fails in the job, else None."""
        key = next((attributes[f] for f in PROFILE_FIELDS if isinstance(attributes.get(f), str)), None)
        reason = self.rejection(key)
        if reason is not None:
            return "Invalid input.", reason, "email"
        email = attributes.get("email")
        if isinstance(email, str) and "@" not in email:
            return "Invalid input.", "Invalid email address", "email"
        phone = attributes.get("phone_number")
        if isinstance(phone, str) and not phone.startswith("+"):
            return "Invalid input.", "Invalid phone number", "phone_number"
        return None

    def create_job(self, request):
        if len(request.body) > MAX_BODY_BYTES:
            return errors(413, "request_too_large", "Request too large.", "The payload is over 5 MB.")
        body = request.json()
        data = body.get("data") if isinstance(body, dict) else None
        profiles = (((data or {}).get("attributes") or {}).get("profiles") or {}).get("data") \
            if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "profile-bulk-import-job" \
                or not isinstance(profiles, list):
            return errors(400, "invalid", "Invalid input.",
                          "The payload must be a profile-bulk-import-job with attributes.profiles.data.",
                          "/data")
        if not profiles or len(profiles) > MAX_PROFILES:
            return errors(400, "invalid", "Invalid input.", "A job takes 1 to 10,000 profiles.",
                          "/data/attributes/profiles/data")
        for index, profile in enumerate(profiles):
            pointer = f"/data/attributes/profiles/data/{index}"
            attributes = profile.get("attributes") if isinstance(profile, dict) else None
            if not isinstance(profile, dict) or profile.get("type") != "profile" or not isinstance(attributes, dict):
                return errors(400, "invalid", "Invalid input.", "A profile must be of type profile.", pointer)
            if not any(isinstance(attributes.get(f), str) and attributes[f] for f in PROFILE_FIELDS):
                return errors(400, "invalid", "Invalid input.",
                              "One of email, phone_number or external_id is required.", pointer + "/attributes")
            if "properties" in attributes and not isinstance(attributes["properties"], dict):
                return errors(400, "invalid", "Invalid input.", "properties must be an object.",
                              pointer + "/attributes/properties")
        job_id = f"job-{len(self.jobs) + 1}"   # Klaviyo's are random; numbered here for tests
        job = {"type": "profile-bulk-import-job", "id": job_id,
               "attributes": {"status": "queued", "created_at": now_iso(), "total_count": len(profiles),
                              "completed_count": 0, "failed_count": 0, "completed_at": None,
                              "expires_at": None, "started_at": None},
               "links": {"self": self.link(request, f"/api/profile-bulk-import-jobs/{job_id}")}}
        self.jobs[job_id] = {"job": job, "profiles": [p["attributes"] for p in profiles], "errors": [], "polls": 0}
        return answer(202, {"data": job})

    @staticmethod
    def link(request, path):
        return "http://" + request.header("host", "localhost") + path

    def run_job(self, entry):
        """Imports the job's profiles (or cancels it): it is finished."""
        attributes = entry["job"]["attributes"]
        attributes["started_at"] = now_iso()
        if self.cancel_jobs:
            attributes["status"] = "cancelled"
            return
        for index, profile in enumerate(entry["profiles"]):
            problem = self.profile_problem(profile)
            if problem:
                title, detail, field = problem
                entry["errors"].append({"type": "import-error", "id": f"{entry['job']['id']}-error-{index}",
                                        "attributes": {"code": "invalid", "title": title, "detail": detail,
                                                       "source": {"pointer": f"/data/attributes/profiles/data/"
                                                                             f"{index}/attributes/{field}"},
                                                       "original_payload": profile}})
                continue
            self.upsert(profile)
        attributes.update({"status": "complete", "completed_count": len(entry["profiles"]) - len(entry["errors"]),
                           "failed_count": len(entry["errors"]), "completed_at": now_iso()})

    def upsert(self, attributes):
        key = self.profile_key(attributes)
        stored = self.profiles.setdefault(key, {"properties": {}})
        for name, value in attributes.items():
            if value is None:
                continue   # Klaviyo's import never clears a value
            if name == "properties":
                stored["properties"].update({k: v for k, v in value.items() if v is not None})
            else:
                stored[name] = value

    def find_job(self, request, pattern):
        entry = self.jobs.get(pattern.match(request.path).group(1))
        if entry is None:
            return None, errors(404, "not_found", "Not found.", "The job was not found.")
        return entry, None

    def get_job(self, request):
        entry, missing = self.find_job(request, JOB_PATH)
        if missing:
            return missing
        attributes = entry["job"]["attributes"]
        if attributes["status"] in ("queued", "processing"):
            if self.job_polls == -1 or entry["polls"] < self.job_polls:
                entry["polls"] += 1
                attributes["status"] = "processing"
            else:
                self.run_job(entry)
        return answer(200, {"data": entry["job"]})

    def get_errors(self, request):
        entry, missing = self.find_job(request, ERRORS_PATH)
        if missing:
            return missing
        cursor = request.query_value("page[cursor]", "0")
        if not cursor.isdigit():
            return errors(400, "invalid", "Invalid input.", "Invalid page cursor.")
        start = int(cursor)
        page = entry["errors"][start:start + self.page_size]
        path = request.path
        more = start + self.page_size < len(entry["errors"])
        return answer(200, {"data": page,
                            "links": {"self": self.link(request, request.target),
                                      "next": self.link(request, f"{path}?page%5Bcursor%5D={start + self.page_size}")
                                      if more else None,
                                      "prev": None}})

    # ---- events -------------------------------------------------------------

    def create_event(self, request):
        body = request.json()
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict) or data.get("type") != "event":
            return errors(400, "invalid", "Invalid input.", "The payload must be an event.", "/data")
        metric = ((((attributes.get("metric") or {}).get("data") or {}).get("attributes")) or {}).get("name")
        if not isinstance(metric, str) or not metric:
            return errors(400, "invalid", "Invalid input.", "A metric name is required.",
                          "/data/attributes/metric/data/attributes/name")
        profile = (((attributes.get("profile") or {}).get("data") or {}).get("attributes"))
        if not isinstance(profile, dict) or not any(isinstance(profile.get(f), str) for f in PROFILE_FIELDS):
            return errors(400, "invalid", "Invalid input.", "One of email, phone_number or external_id is required.",
                          "/data/attributes/profile/data/attributes")
        if not isinstance(attributes.get("properties"), dict):
            return errors(400, "invalid", "Invalid input.", "properties is required and must be an object.",
                          "/data/attributes/properties")
        problem = self.profile_problem(profile)
        if problem:
            title, detail, field = problem
            return errors(400, "invalid", title, detail, f"/data/attributes/profile/data/attributes/{field}")
        unique_id = attributes.get("unique_id")
        if unique_id is None or not any(e.get("unique_id") == unique_id for e in self.events):
            event = {"metric": metric, "profile": self.profile_key(profile), "properties": attributes["properties"]}
            event.update({k: attributes[k] for k in ("time", "value", "unique_id") if k in attributes})
            self.events.append(event)
        return answer(202)
