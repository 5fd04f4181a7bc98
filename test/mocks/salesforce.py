"""Salesforce REST API (sObject Collections, a SOQL lookup, the OAuth refresh token
flow), as the `salesforce` destination type uses it.

Endpoints (any API version /services/data/vNN.N; collections need v42.0+, upsert v46.0+):

    POST   /services/oauth2/token                       refresh_token grant (form)
    PATCH  .../composite/sobjects/{SObject}/{ExtIdField} upsert  {allOrNone, records}
    POST   .../composite/sobjects                        create  {allOrNone, records}
    PATCH  .../composite/sobjects                        update  (records carry "id")
    DELETE .../composite/sobjects?ids=a,b&allOrNone=false
    GET    .../query?q=SELECT Id, F FROM SObject WHERE F IN ('a','b')

API requests need `Authorization: Bearer <access token>`. Facts and their sources:
docs/destinations/salesforce.md. What the mock answers like Salesforce:
  - collections: 200 with one result per record, in request order:
    {"id","success","errors":[{"statusCode","message","fields"}]} (+ "created" for
    upsert); allOrNone=true rolls every record back when one fails;
  - 400 [{"message","errorCode"}] for a malformed body (JSON_PARSER_ERROR), more than
    200 records or ids (EXCEEDED_ID_LIMIT), a bad type (INVALID_TYPE), a query of
    another shape (MALFORMED_QUERY); 404 NOT_FOUND, 405, 415 likewise;
  - 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}];
  - Sforce-Limit-Info: api-usage=N/LIMIT on every API answer;
  - limits are 403 REQUEST_LIMIT_EXCEEDED, never 429 (the REST API has no 429):
    beyond `rate_limit` "ConcurrentPerOrgLongTxn Limit exceeded." (the short-window
    limit; Retry-After only when the test gives retry_after, Salesforce sends none),
    beyond `daily_limit` "TotalRequests Limit exceeded.";
  - 18-character ids with Salesforce's checksum, prefix per sObject (001 Account,
    003 Contact, 00Q Lead, 006 Opportunity, a0A, a0B... per custom object);
  - required fields (Lead LastName and Company, Contact LastName, Account Name,
    Opportunity Name, StageName and CloseDate) are enforced on insert;
  - external id and SOQL string comparisons ignore case, as Salesforce's do;
  - SOQL string literals unescape as SOQL's (\\' \\\\ \\n \\r \\t \\b \\f \\" \\uXXXX; any
    other backslash is MALFORMED_QUERY, whose message has Salesforce's shape:
    the query, a caret line, "ERROR at Row:1:Column:N", the problem).

Options (besides reject / rate_limit / unauthorized, see base.py):
  "access_token": "<t>"     the valid token (without it and without an OAuth client
                            any non-empty token works; with an OAuth client and no
                            access_token, none works until a refresh)
  "client_id", "client_secret", "refresh_token": the OAuth client; a refresh grant
                            with them answers a new token, which replaces the old one
  "expire_after": N         each access token works for N API requests, then 401
  "daily_limit": N          after N API requests, 403 TotalRequests Limit exceeded
                            (and the LIMIT in Sforce-Limit-Info; default 100000)
  reject keys: the external id value (upsert), the Id (update, delete), any field
  value (create); such records fail with FIELD_CUSTOM_VALIDATION_EXCEPTION (delete:
  DELETE_FAILED) and that message. `unauthorized: true` also refuses token grants.

Test control, not a Salesforce path: GET /__vendor/state answers
    {"records": {SObject: {Id: {fields}}}, "deleted": {SObject: [Ids]},
     "access_token": "<the valid token>", "api_usage": N}
without authentication or rate limiting.
"""

import base64
import functools
import hashlib
import hmac
import re
import time

from mocks.base import ValueIndex, VendorMock, answer

MAX_RECORDS = 200
DEFAULT_DAILY_LIMIT = 100000
API_PATH = re.compile(r"^/services/data/v(\d+)\.(\d+)(/.*)$")
UPSERT_PATH = re.compile(r"^/composite/sobjects/(\w+)/(\w+)/?$")
QUERY = re.compile(r"^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+IN\s*\((.*)\)\s*$",
                   re.IGNORECASE | re.DOTALL)
QUOTED = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*(?:,|$)")
# SOQL's escape sequences in string literals (Quoted String Escape Sequences);
# \uXXXX too. A backslash before anything else is an error.
ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
           "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\"}

KEY_PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006",
                "Case": "500", "Campaign": "701", "Task": "00T", "Event": "00U",
                "Product2": "01t"}
REQUIRED = {"Account": ["Name"], "Contact": ["LastName"], "Lead": ["LastName", "Company"],
            "Opportunity": ["Name", "StageName", "CloseDate"], "Campaign": ["Name"],
            "Product2": ["Name"]}
ORG_ID = "00DRM0000000001"
USER_ID = "005RM0000000001"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header", "fields": []}


def id18(id15):
    """Salesforce's case-safe 18-character id: 3 checksum letters, one per 5
    characters, whose bits say which of those characters are upper case."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << n for n, c in enumerate(chunk) if "A" <= c <= "Z")
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return id15 + suffix


@functools.lru_cache(maxsize=None)
def _head_with_checksum(head):
    """A 5-character id start and its checksum letter (see id18)."""
    return head, id18(head + "0" * 10)[15]


def serial_id_format(prefix):
    """A %-format of the ids the mock gives the records it creates, taking
    the serial: the key prefix, "RM", the serial in 10 decimal digits and
    the case-safe suffix. Digits have no upper case, so the checksum letters
    of the last two chunks are "A": only the first chunk's is computed, once
    per prefix."""
    head, checksum = _head_with_checksum(prefix + "RM")
    return head + "%010d" + checksum + "AA"


def serial_id(prefix, serial):
    """The id the mock gives the serial-th record it creates."""
    return serial_id_format(prefix) % serial


# The quick answers' upsert results by key prefix: the results of serials
# 1, 2, ... as one text, each result as wide as the others (the serial has
# ten digits) and followed by a comma. Every sync of the benchmark makes a
# mock of its own, whose serials start at 1 again: writing the results of
# each answer anew was most of this mock's time per answer, on the cores the
# product under measure shares.
_UPSERT_RESULTS = {}
_RESULTS_GROWTH = 10000


def upsert_results_text(prefix, first, last):
    """The upsert results of serials first..last, comma-separated."""
    result = '{"id":"' + serial_id_format(prefix) + '","success":true,"errors":[],"created":true},'
    width = len(result % 0)
    cached = _UPSERT_RESULTS.get(prefix, "")
    if len(cached) < last * width:
        start = len(cached) // width + 1
        end = max(last, 2 * start, start + _RESULTS_GROWTH)   # doubling: each result copied twice at most
        cached += "".join(map(result.__mod__, range(start, end + 1)))
        _UPSERT_RESULTS[prefix] = cached
    return cached[(first - 1) * width:last * width - 1]


def normalize_id(raw):
    """The 18-character form of a 15- or 18-character id, or None when malformed."""
    if not isinstance(raw, str) or not raw.isalnum() or not raw.isascii():
        return None
    if len(raw) == 15:
        return id18(raw)
    if len(raw) == 18 and id18(raw[:15]).lower() == raw.lower():
        return id18(raw[:15])
    return None


def api_error(status, code, message, headers=None):
    return answer(status, [{"message": message, "errorCode": code}], headers)


def record_error(code, message, fields=()):
    return {"statusCode": code, "message": message, "fields": list(fields)}


class RequestError(Exception):
    """The whole request fails with this answer."""

    def __init__(self, result):
        super().__init__(str(result))
        self.result = result


def field_of(record, name):
    """A field's value; Salesforce field names ignore case."""
    for key, value in record.items():
        if key.lower() == name.lower():
            return value
    return None


def set_field(record, name, value):
    for key in list(record):
        if key.lower() == name.lower():
            del record[key]
    record[name] = value


class Mock(VendorMock):
    TYPE = "salesforce"
    OPTIONS = {
        "access_token": "the valid access token",
        "client_id": "OAuth client id accepted by /services/oauth2/token",
        "client_secret": "OAuth client secret accepted by /services/oauth2/token",
        "refresh_token": "refresh token accepted by /services/oauth2/token",
        "expire_after": "N: each access token works for N API requests, then 401",
        "daily_limit": "N: after N API requests, 403 REQUEST_LIMIT_EXCEEDED (TotalRequests)",
    }

    def __init__(self, options):
        super().__init__(options)
        for name in ("access_token", "client_id", "client_secret", "refresh_token"):
            value = options.get(name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name}: must be a non-empty string")
        for name in ("expire_after", "daily_limit"):
            value = options.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name}: must be an integer >= 0")
        self.token = options.get("access_token")
        self.client_id = options.get("client_id")
        self.client_secret = options.get("client_secret")
        self.refresh_token = options.get("refresh_token")
        self.expire_after = options.get("expire_after")
        self.daily_limit = options.get("daily_limit", DEFAULT_DAILY_LIMIT)
        self.token_uses = 0
        self.tokens_issued = 0
        self.api_usage = 0
        self.records = {}      # SObject -> {Id: fields}
        self.deleted = {}      # Id -> SObject
        self.counter = 0
        self.custom_prefixes = {}
        # Upserts find a record by its external id without scanning every
        # record of the sObject: SObject -> lower-case field name ->
        # ({lower-case value: {Ids}}, {Id: lower-case value}), built on the
        # first lookup by that field and kept in step by every change.
        self.indexes = {}
        # Id -> when it was inserted: a record's place in self.records[SObject]
        # (inserts append; a rolled-back delete goes back to its place), to give
        # indexed SOQL matches in the order a scan would.
        self.inserted = {}
        self.inserts = 0
        # While an allOrNone batch runs, what it changed, to undo it (None otherwise).
        self.journal = None

    # ---- entry point -----------------------------------------------------------

    def handle(self, request):
        if request.path == "/__vendor/state":
            return answer(200, self.state())
        if request.path.rstrip("/") == "/services/oauth2/token":
            return self._token(request)
        match = API_PATH.match(request.path)
        if not match:
            return api_error(404, "NOT_FOUND", "The requested resource does not exist")
        if self.unauthorized or not self._authenticated(request):
            return api_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        limited = self.over_rate_limit()
        if self.api_usage >= self.daily_limit:
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                             self._limit_info())
        if limited:
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.",
                             dict(self._limit_info(), **self.retry_after_headers()))
        self.api_usage += 1
        version = (int(match.group(1)), int(match.group(2)))
        try:
            result = self._route(request, version, match.group(3))
        except RequestError as e:
            result = e.result
        result["headers"] = dict(self._limit_info(), **result.get("headers", {}))
        return result

    def _limit_info(self):
        return {"Sforce-Limit-Info": f"api-usage={self.api_usage}/{self.daily_limit}"}

    def _authenticated(self, request):
        scheme, _, token = request.header("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if self.token is None:
            # Nothing configured: any token. An OAuth client but no token yet: none.
            return self.client_id is None
        if token != self.token:
            return False
        if self.expire_after is not None and self.token_uses >= self.expire_after:
            return False
        self.token_uses += 1
        return True

    def _route(self, request, version, rest):
        if rest.rstrip("/") == "/query":
            self._allow(request, ("GET",))
            return self._query(request, version)
        if rest.rstrip("/") == "/composite/sobjects":
            self._allow(request, ("POST", "PATCH", "DELETE"))
            self._need_version(version, (42, 0))
            if request.method == "DELETE":
                return self._delete(request)
            body = self._collection_body(request)
            return self._create(body) if request.method == "POST" else self._update(body)
        upsert = UPSERT_PATH.match(rest)
        if upsert:
            self._allow(request, ("PATCH",))
            self._need_version(version, (46, 0))
            return self._upsert(upsert.group(1), upsert.group(2), self._collection_body(request))
        return api_error(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _allow(request, methods):
        if request.method not in methods:
            raise RequestError(api_error(
                405, "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(methods)}",
                {"Allow": ", ".join(methods)}))

    @staticmethod
    def _need_version(version, first):
        if version < first:
            raise RequestError(api_error(404, "NOT_FOUND", "The requested resource does not exist"))

    def quick_answer(self, request):
        """sObject Collections writes (create, update, upsert, delete) each get
        one success result per record, in order, with an id of the sObject's
        prefix; anything else (the token, SOQL) is answered by handle()."""
        match = API_PATH.match(request.path)
        rest = match.group(3).rstrip("/") if match else ""
        upsert = UPSERT_PATH.match(rest)
        if rest == "/composite/sobjects" and request.method == "DELETE":
            self.api_usage += 1
            ids = (request.query_value("ids") or "").split(",")
            return answer(200, [{"id": i, "success": True, "errors": []} for i in ids], self._limit_info())
        if rest != "/composite/sobjects" and not upsert:
            return self.handle(request)
        self.api_usage += 1
        if upsert:
            # Written as text: building 200 dicts and dumping them was most of
            # the mock's time per answer (the same bytes json.dumps gives).
            # The records are counted, not parsed: every record carries one
            # "attributes" member, and parsing the body (json.loads of ~64 kB
            # per request) cost this mock four times what answering does, on
            # the cores the product under measure shares. A miscount is not
            # silent: the product checks the result count against the records
            # it sent.
            prefix = KEY_PREFIXES.get(upsert.group(1), "a00")
            count = request.body.count(b'"attributes":')
            first, self.counter = self.counter + 1, self.counter + count
            text = upsert_results_text(prefix, first, self.counter)
            return answer(200, "[" + text + "]", dict(self._limit_info(), **{"Content-Type": "application/json"}))
        records = (request.json() or {}).get("records") or []
        results = []
        for record in records:
            if request.method == "PATCH":
                result = {"id": record.get("Id"), "success": True, "errors": []}
            else:
                result = {"id": self._quick_id(self._type_of(record)), "success": True, "errors": []}
            results.append(result)
        return answer(200, results, self._limit_info())

    def _quick_id(self, sobject):
        self.counter += 1
        return serial_id(KEY_PREFIXES.get(sobject, "a00"), self.counter)

    # ---- OAuth 2.0 refresh token flow ------------------------------------------------

    def _token(self, request):
        def refuse(error, description):
            return answer(400, {"error": error, "error_description": description})

        if request.method != "POST":
            return refuse("invalid_request", "must use HTTP POST")
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return refuse("unsupported_grant_type", "grant type not supported")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.header("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            # Salesforce also takes the client credentials as HTTP Basic auth.
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return refuse("invalid_client", "invalid client credentials")
        if self.client_id is None or client_id != self.client_id:
            return refuse("invalid_client_id", "client identifier invalid")
        if self.client_secret is not None and client_secret != self.client_secret:
            return refuse("invalid_client", "invalid client credentials")
        if self.unauthorized or form.get("refresh_token") != self.refresh_token:
            return refuse("invalid_grant", "expired access/refresh token")
        self.tokens_issued += 1
        self.token = f"{ORG_ID}!AQ0AQ.mock.access.token.{self.tokens_issued}"
        self.token_uses = 0
        host = request.header("host", "mock.my.salesforce.com")
        instance = f"http://{host}"
        identity = f"{instance}/id/{id18(ORG_ID)}/{id18(USER_ID)}"
        issued_at = str(int(time.time() * 1000))
        # As Salesforce signs it: HMAC-SHA256 of id + issued_at, keyed by the secret.
        key = (self.client_secret or "").encode()
        signature = base64.b64encode(hmac.new(key, (identity + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        return answer(200, {"access_token": self.token, "signature": signature,
                            "scope": "api refresh_token", "instance_url": instance,
                            "id": identity, "token_type": "Bearer", "issued_at": issued_at})

    # ---- sObject Collections -----------------------------------------------------------

    def _collection_body(self, request):
        content_type = request.header("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(api_error(
                415, "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type header specified in HTTP request is not supported: {content_type}"))
        body = request.json()
        if body is None:
            raise RequestError(api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON"))
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise RequestError(api_error(400, "JSON_PARSER_ERROR",
                                         "Expected an object with \"records\": an array of sObjects"))
        if not isinstance(body.get("allOrNone", False), bool):
            raise RequestError(api_error(400, "JSON_PARSER_ERROR", "allOrNone must be a boolean"))
        self._check_count(len(records))
        for record in records:
            self._sobject(self._type_of(record), in_body=True)
        return body

    @staticmethod
    def _check_count(count):
        if count > MAX_RECORDS:
            raise RequestError(api_error(400, "EXCEEDED_ID_LIMIT",
                                         "record limit reached. cannot submit more than "
                                         f"{MAX_RECORDS} records into this call"))

    @staticmethod
    def _type_of(record):
        attributes = record.get("attributes")
        if not isinstance(attributes, dict) or not isinstance(attributes.get("type"), str):
            raise RequestError(api_error(400, "INVALID_TYPE",
                                         "Each record needs an attributes map with a type"))
        return attributes["type"]

    def _sobject(self, name, in_body):
        """Checks an sObject name; answers its key prefix."""
        if name in KEY_PREFIXES:
            return KEY_PREFIXES[name]
        if re.match(r"^[A-Za-z]\w*__c$", name):
            if name not in self.custom_prefixes:
                self.custom_prefixes[name] = "a0" + BASE62[10 + len(self.custom_prefixes)]
            return self.custom_prefixes[name]
        if not in_body:
            raise RequestError(api_error(404, "NOT_FOUND", "The requested resource does not exist"))
        raise RequestError(api_error(400, "INVALID_TYPE", f"sObject type '{name}' is not supported."))

    def _batch(self, body, one):
        """Runs one(record) -> result for each record; with allOrNone, a failure
        rolls everything back and every record reports failure."""
        all_or_none = bool(body.get("allOrNone"))
        # Only an allOrNone batch can be undone, so only it keeps a journal
        # (copying every record per request made a long sync quadratic).
        self.journal = [] if all_or_none else None
        counter = self.counter
        try:
            results = [one(record) for record in body["records"]]
            if all_or_none and not all(r["success"] for r in results):
                self._undo(self.journal)
                self.counter = counter
                results = [r if not r["success"] else dict(r, success=False, errors=[ROLLED_BACK])
                           for r in results]
        finally:
            self.journal = None
        return answer(200, results)

    def _undo(self, journal):
        """Puts records and deleted ids back as they were before the batch,
        in the same order."""
        orders = {}
        for entry in reversed(journal):
            kind, sobject, record_id = entry[:3]
            if kind == "insert":
                del self.records[sobject][record_id]
                if entry[3]:          # the batch made the sObject's first record
                    del self.records[sobject]
            elif kind == "change":
                self.records[sobject][record_id] = entry[3]
            elif kind == "order":
                orders[sobject] = entry[3]
            else:                     # "delete": record, whether deleted had the id, its value there
                self.records[sobject][record_id] = entry[3]
                if entry[4]:
                    self.deleted[record_id] = entry[5]
                else:
                    del self.deleted[record_id]
        for sobject, order in orders.items():
            records = self.records[sobject]
            self.records[sobject] = {record_id: records[record_id] for record_id in order}
        self.indexes = {}   # rebuilt on the next lookup

    def _before_change(self, sobject, record_id):
        """Call before changing a stored record's fields: journals its fields."""
        if self.journal is not None:
            self.journal.append(("change", sobject, record_id, dict(self.records[sobject][record_id])))

    def _create(self, body):
        def one(record):
            fields = self._fields(record)
            if field_of(fields, "Id") is not None:
                return self._failed(record_error("INVALID_FIELD_FOR_INSERT_UPDATE",
                                                 "cannot specify Id in an insert call", ["Id"]))
            problem = self._rejected_any(fields) or self._missing_required(self._type_of(record), fields, True)
            if problem:
                return self._failed(problem)
            return {"id": self._insert(self._type_of(record), fields), "success": True, "errors": []}
        return self._batch(body, one)

    def _update(self, body):
        def one(record):
            fields = self._fields(record)
            raw = field_of(fields, "Id")
            if raw is None:
                return self._failed(record_error("MISSING_ARGUMENT", "Id not specified in an update call"))
            sobject = self._type_of(record)
            record_id = normalize_id(raw)
            if record_id is None:
                return self._failed(record_error("MALFORMED_ID",
                                                 f"{sobject} ID: id value of incorrect type: {raw}", ["Id"]))
            problem = (self._rejected(record_id, raw, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
                       or self._existing(sobject, record_id, update=True)
                       or self._missing_required(sobject, fields, False))
            if problem:
                return self._failed(problem, record_id)
            self._before_change(sobject, record_id)
            stored = self.records[sobject][record_id]
            for name, value in fields.items():
                if name.lower() != "id":
                    set_field(stored, name, value)
            self._index_record(sobject, record_id)
            return {"id": record_id, "success": True, "errors": []}
        return self._batch(body, one)

    def _upsert(self, sobject, ext_field, body):
        self._sobject(sobject, in_body=False)
        if ext_field.lower() == "id":
            raise RequestError(api_error(400, "INVALID_FIELD",
                                         "Only external id fields are supported: do not upsert on Id"))
        for record in body["records"]:
            if self._type_of(record) != sobject:
                raise RequestError(api_error(400, "INVALID_TYPE",
                                             f"Records must be of type {sobject} for this upsert"))
        counts = {}
        for record in body["records"]:
            value = field_of(record, ext_field)
            if value not in (None, ""):
                counts[str(value).lower()] = counts.get(str(value).lower(), 0) + 1

        def one(record):
            fields = self._fields(record)
            value = field_of(fields, ext_field)
            if field_of(fields, "Id") is not None:
                problem = record_error("INVALID_FIELD_FOR_INSERT_UPDATE",
                                       "cannot specify Id in an upsert call", ["Id"])
            elif value in (None, ""):
                problem = record_error("MISSING_ARGUMENT", f"{ext_field} not specified")
            elif counts[str(value).lower()] > 1:
                problem = record_error("DUPLICATE_VALUE", f"Duplicate external id specified: {value}",
                                       [ext_field])
            else:
                problem = self._rejected(str(value), None, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
            if problem:
                return {"id": None, "success": False, "errors": [problem]}
            existing = self._find(sobject, ext_field, str(value))
            problem = self._missing_required(sobject, fields, existing is None)
            if problem:
                return {"id": None, "success": False, "errors": [problem]}
            if existing is None:
                return {"id": self._insert(sobject, fields), "success": True, "errors": [],
                        "created": True}
            self._before_change(sobject, existing)
            for name, field_value in fields.items():
                set_field(self.records[sobject][existing], name, field_value)
            self._index_record(sobject, existing)
            return {"id": existing, "success": True, "errors": [], "created": False}
        return self._batch(body, one)

    def _delete(self, request):
        raw_ids = [i for i in request.query_value("ids", "").split(",") if i]
        if not raw_ids:
            raise RequestError(api_error(400, "MISSING_ARGUMENT", "ids: a list of record ids is required"))
        self._check_count(len(raw_ids))
        all_or_none = request.query_value("allOrNone", "false").lower() == "true"

        def one(raw):
            record_id = normalize_id(raw)
            if record_id is None:
                return self._failed(record_error("MALFORMED_ID", f"malformed id {raw}"))
            problem = (self._rejected(record_id, raw, "DELETE_FAILED")
                       or self._existing(None, record_id, update=False))
            if problem:
                return self._failed(problem, record_id)
            for sobject, records in self.records.items():
                if record_id in records:
                    if self.journal is not None:
                        if not any(e[0] == "order" and e[1] == sobject for e in self.journal):
                            self.journal.append(("order", sobject, None, list(records)))
                        self.journal.append(("delete", sobject, record_id, records[record_id],
                                             record_id in self.deleted, self.deleted.get(record_id)))
                    self._unindex(sobject, record_id)
                    del records[record_id]
                    self.deleted[record_id] = sobject
            return {"id": record_id, "success": True, "errors": []}
        return self._batch({"records": raw_ids, "allOrNone": all_or_none}, one)

    # ---- record helpers -----------------------------------------------------------

    @staticmethod
    def _fields(record):
        return {k: v for k, v in record.items() if k != "attributes"}

    @staticmethod
    def _failed(error, record_id=None):
        result = {"success": False, "errors": [error]}
        if record_id is not None:
            result = dict({"id": record_id}, **result)
        return result

    def _rejected(self, key, raw, code):
        message = self.rejection(key)
        if message is None and raw is not None:
            message = self.rejection(raw)
        return record_error(code, message) if message is not None else None

    def _rejected_any(self, fields):
        for value in fields.values():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                message = self.rejection(value)
                if message is not None:
                    return record_error("FIELD_CUSTOM_VALIDATION_EXCEPTION", message)
        return None

    @staticmethod
    def _missing_required(sobject, fields, inserting):
        missing = [name for name in REQUIRED.get(sobject, [])
                   if (inserting and field_of(fields, name) in (None, ""))
                   or (not inserting and any(k.lower() == name.lower() for k in fields)
                       and field_of(fields, name) in (None, ""))]
        if missing:
            return record_error("REQUIRED_FIELD_MISSING",
                                f"Required fields are missing: [{', '.join(missing)}]", missing)
        return None

    def _existing(self, sobject, record_id, update):
        """None when the record is live (of that sObject), else the record's error."""
        for name, records in self.records.items():
            if record_id in records and (sobject is None or name == sobject):
                return None
        if record_id in self.deleted or not update:
            return record_error("ENTITY_IS_DELETED", "entity is deleted")
        return record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")

    def _find(self, sobject, field, value):
        """The Id of the first record whose field (any case) has that value
        (any case), or None."""
        return self._index(sobject, field).first(value.lower(), self.records.get(sobject, {}))

    def _index(self, sobject, field):
        """The index of the sObject's records by `field`, built on first use."""
        by_field = self.indexes.setdefault(sobject, {})
        key = field.lower()
        if key not in by_field:
            index = ValueIndex()
            for record_id, record in self.records.get(sobject, {}).items():
                stored = field_of(record, key)
                if stored is not None:
                    index.move(record_id, str(stored).lower())
            by_field[key] = index
        return by_field[key]

    def _index_record(self, sobject, record_id):
        """Moves the record's index entries to its current field values."""
        record = self.records[sobject][record_id]
        for key, index in self.indexes.get(sobject, {}).items():
            stored = field_of(record, key)
            index.move(record_id, None if stored is None else str(stored).lower())

    def _unindex(self, sobject, record_id):
        for index in self.indexes.get(sobject, {}).values():
            index.remove(record_id)

    def _insert(self, sobject, fields):
        self.counter += 1
        record_id = serial_id(self._sobject(sobject, in_body=True), self.counter)
        if self.journal is not None:
            self.journal.append(("insert", sobject, record_id, sobject not in self.records))
        self.records.setdefault(sobject, {})[record_id] = dict(fields, Id=record_id)
        self.inserts += 1
        self.inserted[record_id] = self.inserts
        self._index_record(sobject, record_id)
        return record_id

    # ---- SOQL lookup -------------------------------------------------------------

    @staticmethod
    def _malformed(soql, column, problem):
        """Salesforce's MALFORMED_QUERY: the query, a caret under the column
        (1-based) where parsing stopped, and what was wrong there."""
        return RequestError(api_error(
            400, "MALFORMED_QUERY",
            f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{problem}"))

    def _query(self, request, version):
        soql = request.query_value("q")
        if soql is None:
            raise RequestError(api_error(400, "MALFORMED_QUERY", "A query string has to be specified"))
        match = QUERY.match(soql)
        if not match:
            # Only the shape the destination sends is understood.
            raise self._malformed(soql, 1, "unexpected token: " + (soql.split() or ["<EOF>"])[0])
        fields = [f.strip() for f in match.group(1).split(",")]
        sobject, where_field = match.group(2), match.group(3)
        if not all(re.match(r"^\w+$", f) for f in fields):
            raise self._malformed(soql, match.start(1) + 1, "unexpected token: " + match.group(1))
        values, problem_at = self._values(match.group(4))
        if values is None:
            column = match.start(4) + problem_at + 1
            raise self._malformed(soql, column, "unexpected token: " + (soql[column - 1:].split() or ["<EOF>"])[0])
        self._soql_type(sobject)
        wanted = {v.lower() for v in values}
        records = self.records.get(sobject, {})
        if where_field.lower() == "id":
            hits = [record_id for record_id in records
                    if record_id.lower() in wanted or record_id[:15].lower() in wanted]
        else:
            # Through the index: the update and delete modes look every record
            # up by its external id, and a scan per query was quadratic.
            by_value = self._index(sobject, where_field).by_value
            found = set()
            for value in wanted:
                found.update(by_value.get(value, ()))
            hits = sorted(found, key=self.inserted.__getitem__)
        matches = []
        for record_id in hits:
            record = records[record_id]
            row = {"attributes": {"type": sobject,
                                  "url": f"/services/data/v{version[0]}.{version[1]}"
                                         f"/sobjects/{sobject}/{record_id}"}}
            for name in fields:
                row[name] = field_of(record, name)
            matches.append(row)
        return answer(200, {"totalSize": len(matches), "done": True, "records": matches})

    def _soql_type(self, sobject):
        if sobject not in KEY_PREFIXES and not re.match(r"^[A-Za-z]\w*__c$", sobject):
            raise RequestError(api_error(
                400, "INVALID_TYPE",
                f"sObject type '{sobject}' is not supported. If you are attempting to use a custom "
                f"object, be sure to append the '__c' after the entity name. Please reference your "
                f"WSDL or the describe call for the appropriate names."))

    @staticmethod
    def _unescape(literal):
        """A string literal's value, or None when it has an escape SOQL does not know."""
        out, i = [], 0
        while i < len(literal):
            c = literal[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            following = literal[i + 1:i + 2]
            if following in ESCAPES:
                out.append(ESCAPES[following])
                i += 2
            elif following == "u" and re.match(r"^[0-9A-Fa-f]{4}$", literal[i + 2:i + 6]):
                out.append(chr(int(literal[i + 2:i + 6], 16)))
                i += 6
            else:
                return None
        return "".join(out)

    @classmethod
    def _values(cls, text):
        """(the quoted strings of an IN list, None) or (None, the offset in
        `text` where it stops being one)."""
        values, position = [], 0
        while text[position:].strip():
            match = QUOTED.match(text, position)
            value = cls._unescape(match.group(1)) if match else None
            if value is None:
                return None, position + (len(text[position:]) - len(text[position:].lstrip()))
            values.append(value)
            position = match.end()
        return (values, None) if values else (None, 0)

    def state(self):
        deleted = {}
        for record_id, sobject in self.deleted.items():
            deleted.setdefault(sobject, []).append(record_id)
        return {"records": self.records, "deleted": deleted,
                "access_token": self.token, "api_usage": self.api_usage}
