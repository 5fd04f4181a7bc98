"""Google Sheets API v4 (spreadsheets.values) and Google's OAuth 2 token endpoint
for service accounts (the JWT bearer grant), as the `google_sheets` destination
type uses them.

Endpoints:

    POST /token                                              JWT bearer grant (form)
    POST /v4/spreadsheets/{id}/values:batchUpdate            {"valueInputOption", "data": [ValueRange]}
    POST /v4/spreadsheets/{id}/values:batchClear             {"ranges": [A1 ranges]}
    POST /v4/spreadsheets/{id}/values/{range}:append         {"values": [[...]]} (never used by
                                                             the extension; here to show what it avoids)
    GET  /v4/spreadsheets/{id}/values/{range}                the cells, as ValueRange

API requests need `Authorization: Bearer <access token>`. Facts and their sources:
docs/destinations/google_sheets.md. What the mock answers like Google:
  - the token endpoint takes grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
    and an assertion: a JWT whose RS256 signature is VERIFIED with the test's public
    key (`openssl dgst -sha256 -verify`, no Python crypto library), header alg RS256,
    claims iss (the service account's email), scope (must hold .../auth/spreadsheets),
    aud (this endpoint's URL), iat within 5 minutes of now and exp no more than an
    hour after iat; it answers {"access_token", "expires_in": 3599, "token_type":
    "Bearer"}, else 400 {"error": "invalid_grant", "error_description": ...};
  - a request is atomic: every range is checked before any cell changes; 400
    {"error": {"code": 400, "message": "Unable to parse range: ...", "status":
    "INVALID_ARGUMENT"}} for a range it cannot read or a sheet that does not exist;
  - in a ValueRange, a null cell leaves the cell as it is, "" empties it (Google:
    "null values will be skipped; to set a cell to an empty value, set the string
    value to an empty string");
  - 401 {"error": {"code": 401, "status": "UNAUTHENTICATED", ...}}, 429 {"error":
    {"code": 429, "status": "RESOURCE_EXHAUSTED", ...}}.

Options (besides reject / rate_limit / unauthorized, see base.py):
  "public_key": "<PEM>"       the service account's public key: assertions must be
                              signed with its private key (without it, no grant works)
  "client_email": "<email>"   the assertion's iss must be this
  "access_token": "<t>"       a token that works besides the granted ones
  "expire_after": N           each token works for N API requests, then 401
  "sheets": ["Sheet1", ...]   the sheets (tabs) of every spreadsheet (default ["Sheet1"])
  "throttle_next": N          the next N API requests get the 429 (Retry-After only
                              with a rate_limit's retry_after)
  "delay_ms": {"<path>": N | [N1, ...]}  answers to that path wait N ms; the
                              write has taken effect before the wait (crash tests)
  reject keys: a record id (column A of a written row): the whole request fails
  with 400 INVALID_ARGUMENT and that message (Sheets has no per-row failure).

Test control, not a Google path: GET /__vendor/state answers
    {"spreadsheets": {id: {sheet: [[row 1 cells], [row 2 cells], ...]}},
     "grants": N, "tokens": [valid tokens]}
with trailing empty cells and rows trimmed, as Google's GET values answers.
"""

import base64
import json
import os
import re
import subprocess
import tempfile
import time
from urllib.parse import unquote

from mocks.base import VendorMock, answer

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API = re.compile(r"^/v4/spreadsheets/([^/]+)/values(?::(batchUpdate|batchClear)|/([^/]+?)(:append)?)$")
# 'Sheet name'!A1:C3, Sheet1!A5, 'x'!5:5, Sheet1 (the whole sheet)
RANGE = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!:]+))(?:!(.*))?$")
CELLS = re.compile(r"^([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?$")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def column_number(letters):
    n = 0
    for c in letters:
        n = n * 26 + ord(c) - ord("A") + 1
    return n


def column_letters(n):
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(ord("A") + r) + letters
    return letters


def google_error(status, code, message):
    return answer(status, {"error": {"code": status, "message": message, "status": code}})


class BadRequest(Exception):
    pass


class Mock(VendorMock):
    TYPE = "google_sheets"
    OPTIONS = {
        "public_key": "PEM public key that verifies the assertions' RS256 signatures",
        "client_email": "the service account email an assertion's iss must be",
        "access_token": "a token that works besides the granted ones",
        "expire_after": "N: each token works for N API requests, then 401",
        "sheets": "list of the sheet names every spreadsheet has (default [\"Sheet1\"])",
        "delay_ms": "object of path -> ms (every answer) or [ms, ...] (the next answers "
                    "to that path); the write is done before the wait",
        "throttle_next": "N: the next N API requests are answered 429",
    }

    def __init__(self, options):
        super().__init__(options)
        self.public_key = options.get("public_key")
        self.client_email = options.get("client_email")
        self.sheets = options.get("sheets", ["Sheet1"])
        if not isinstance(self.sheets, list) or not all(isinstance(s, str) and s for s in self.sheets):
            raise ValueError("sheets: must be a list of sheet names")
        self.expire_after = options.get("expire_after")
        self.delays = self.parse_delays(options.get("delay_ms", {}))
        self.throttle_next = options.get("throttle_next", 0)
        if not isinstance(self.throttle_next, int) or self.throttle_next < 0:
            raise ValueError("throttle_next: must be an integer >= 0")
        self.tokens = {}          # token -> API requests it was used for
        if options.get("access_token"):
            self.tokens[options["access_token"]] = 0
        self.grants = 0
        self.grid = {}            # spreadsheet id -> sheet -> {(row, col): value}

    # ---- entry point -----------------------------------------------------------

    def handle(self, request):
        if request.path == "/__vendor/state":
            return answer(200, self.state())
        if request.path == "/token":
            return self._token(request)
        if self.unauthorized or not self._authenticated(request):
            return google_error(401, "UNAUTHENTICATED",
                                "Request had invalid authentication credentials. Expected OAuth 2 access "
                                "token, login cookie or other valid authentication credential.")
        throttled = self.throttle_next > 0
        if throttled:
            self.throttle_next -= 1
        if throttled or self.over_rate_limit():
            result = google_error(429, "RESOURCE_EXHAUSTED",
                                  "Quota exceeded for quota metric 'Write requests' and limit "
                                  "'Write requests per minute per user' of service 'sheets.googleapis.com'")
            result["headers"] = self.retry_after_headers()
            return result
        match = API.match(request.path)
        if not match:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        spreadsheet, verb, range_text, append = match.groups()
        try:
            if verb == "batchUpdate" and request.method == "POST":
                result = self._batch_update(spreadsheet, request)
            elif verb == "batchClear" and request.method == "POST":
                result = self._batch_clear(spreadsheet, request)
            elif range_text is not None and append and request.method == "POST":
                result = self._append(spreadsheet, unquote(range_text), request)
            elif range_text is not None and not append and request.method == "GET":
                result = answer(200, self._get(spreadsheet, unquote(range_text)))
            else:
                return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        except BadRequest as e:
            return google_error(400, "INVALID_ARGUMENT", str(e))
        delay = self.next_delay(request.path)
        if delay:
            result["delay_ms"] = delay
        return result

    def _authenticated(self, request):
        scheme, _, token = request.header("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self.tokens:
            return False
        self.tokens[token] += 1
        return self.expire_after is None or self.tokens[token] <= self.expire_after

    # ---- the token endpoint ----------------------------------------------------

    def _token(self, request):
        def refuse(error, description):
            return answer(400, {"error": error, "error_description": description})

        if request.method != "POST":
            return refuse("invalid_request", "Invalid HTTP method.")
        form = request.form()
        if form.get("grant_type") != JWT_GRANT:
            return refuse("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        assertion = form.get("assertion", "")
        parts = assertion.split(".")
        if len(parts) != 3:
            return refuse("invalid_request", "Invalid JWT: Token must be a short-lived token and in a "
                                             "reasonable timeframe")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            return refuse("invalid_request", "Invalid JWT: malformed")
        if header.get("alg") != "RS256" or header.get("typ", "JWT") != "JWT":
            return refuse("invalid_request", "Invalid JWT: unsupported algorithm")
        if self.unauthorized or not self._signed(f"{parts[0]}.{parts[1]}".encode(), signature):
            return refuse("invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        audience = f"http://{request.header('host', '')}/token"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or abs(iat - now) > 300 \
                or exp <= iat or exp - iat > 3600:
            return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) "
                                           "and in a reasonable timeframe. Check your iat and exp values "
                                           "in the JWT claim.")
        if claims.get("aud") != audience:
            return refuse("invalid_grant", "Invalid JWT: Failed audience check.")
        if self.client_email is not None and claims.get("iss") != self.client_email:
            return refuse("invalid_grant", "Invalid grant: account not found")
        if SCOPE not in str(claims.get("scope", "")).split():
            return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        self.grants += 1
        token = f"ya29.mock-access-token-{self.grants}"
        self.tokens[token] = 0
        return answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _signed(self, data, signature):
        """Verifies the RS256 signature with the test's public key (openssl)."""
        if not self.public_key:
            return False
        with tempfile.TemporaryDirectory() as tmp:
            paths = {name: os.path.join(tmp, name) for name in ("key.pem", "sig", "data")}
            for name, content in (("key.pem", self.public_key.encode()), ("sig", signature), ("data", data)):
                with open(paths[name], "wb") as f:
                    f.write(content)
            result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", paths["key.pem"],
                                     "-signature", paths["sig"], paths["data"]],
                                    capture_output=True)
            return result.returncode == 0

    # ---- ranges and cells ------------------------------------------------------

    def _sheet_of(self, spreadsheet, range_text):
        """(sheet name, first row, first col, last row, last col) of an A1 range;
        None bounds are open."""
        match = RANGE.match(range_text or "")
        if not match:
            raise BadRequest(f"Unable to parse range: {range_text}")
        sheet = match.group(1).replace("''", "'") if match.group(1) is not None else match.group(2)
        if sheet not in self.sheets:
            raise BadRequest(f"Unable to parse range: {range_text}")
        cells = match.group(3)
        if cells is None:
            return sheet, 1, 1, None, None
        parsed = CELLS.match(cells)
        if not parsed or cells == "":
            raise BadRequest(f"Unable to parse range: {range_text}")
        c1, r1, c2, r2 = parsed.groups()
        if not c1 and not r1:
            raise BadRequest(f"Unable to parse range: {range_text}")
        first_row, first_col = int(r1) if r1 else 1, column_number(c1) if c1 else 1
        if parsed.group(3) is None and parsed.group(4) is None:
            # One cell: writes start there; reads and clears are that cell.
            return sheet, first_row, first_col, int(r1) if r1 else None, column_number(c1) if c1 else None
        last_row = int(r2) if r2 else None
        last_col = column_number(c2) if c2 else None
        return sheet, first_row, first_col, last_row, last_col

    def _cells(self, spreadsheet, sheet):
        return self.grid.setdefault(spreadsheet, {}).setdefault(sheet, {})

    def _batch_update(self, spreadsheet, request):
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise BadRequest("Invalid JSON payload received. Expected \"data\".")
        if body.get("valueInputOption") not in ("RAW", "USER_ENTERED"):
            raise BadRequest("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        writes = []
        for item in body["data"]:
            if not isinstance(item, dict) or not isinstance(item.get("values"), list):
                raise BadRequest("Invalid data[]: expected a ValueRange")
            if item.get("majorDimension", "ROWS") != "ROWS":
                raise BadRequest("Only ROWS is supported by this mock")
            sheet, row, col, last_row, last_col = self._sheet_of(spreadsheet, item.get("range"))
            values = item["values"]
            ranged = last_row is not None and (last_row != row or last_col != col)
            if ranged and (len(values) > last_row - row + 1 or any(
                    last_col is not None and len(r) > last_col - col + 1 for r in values)):
                raise BadRequest(f"Requested writing within range [{item['range']}], but tried writing "
                                 f"to row [{row + len(values) - 1}]")
            for r in values:
                if not isinstance(r, list):
                    raise BadRequest("Invalid values: expected a list of rows")
                if r and r[0] is not None and self.rejection(r[0]) is not None:
                    raise BadRequest(self.rejection(r[0]))
            writes.append((sheet, row, col, values))
        responses, cells_total = [], 0
        for sheet, row, col, values in writes:   # atomic: all checked first
            cells = self._cells(spreadsheet, sheet)
            width = 0
            for i, r in enumerate(values):
                width = max(width, len(r))
                for j, value in enumerate(r):
                    if value is None:
                        continue      # skipped: the cell keeps its value
                    if value == "":
                        cells.pop((row + i, col + j), None)
                    else:
                        cells[(row + i, col + j)] = value
            updated = sum(len(r) for r in values)
            cells_total += updated
            responses.append({"spreadsheetId": spreadsheet,
                              "updatedRange": f"{sheet}!{column_letters(col)}{row}:"
                                              f"{column_letters(col + max(width, 1) - 1)}{row + max(len(values), 1) - 1}",
                              "updatedRows": len(values), "updatedColumns": width, "updatedCells": updated})
        return answer(200, {"spreadsheetId": spreadsheet, "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                            "totalUpdatedColumns": max([r["updatedColumns"] for r in responses] or [0]),
                            "totalUpdatedCells": cells_total,
                            "totalUpdatedSheets": len({w[0] for w in writes}), "responses": responses})

    def _batch_clear(self, spreadsheet, request):
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("ranges"), list):
            raise BadRequest("Invalid JSON payload received. Expected \"ranges\".")
        clears = [(text,) + self._sheet_of(spreadsheet, text) for text in body["ranges"]]
        for text, sheet, row, col, last_row, last_col in clears:
            cells = self._cells(spreadsheet, sheet)
            for (r, c) in list(cells):
                if r >= row and c >= col and (last_row is None or r <= last_row) \
                        and (last_col is None or c <= last_col):
                    del cells[(r, c)]
        return answer(200, {"spreadsheetId": spreadsheet, "clearedRanges": [c[0] for c in clears]})

    def _append(self, spreadsheet, range_text, request):
        """values.append: after the last row with data (what a retried append
        duplicates)."""
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("values"), list):
            raise BadRequest("Invalid JSON payload received. Expected \"values\".")
        if request.query_value("valueInputOption") not in ("RAW", "USER_ENTERED"):
            raise BadRequest("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        sheet = self._sheet_of(spreadsheet, range_text)[0]
        cells = self._cells(spreadsheet, sheet)
        row = max([r for r, _ in cells] or [0]) + 1
        for i, r in enumerate(body["values"]):
            for j, value in enumerate(r):
                if value not in (None, ""):
                    cells[(row + i, 1 + j)] = value
        return answer(200, {"spreadsheetId": spreadsheet, "updates": {"updatedRows": len(body["values"])}})

    def _rows(self, spreadsheet, sheet, row=1, col=1, last_row=None, last_col=None):
        cells = self._cells(spreadsheet, sheet)
        chosen = {(r, c): v for (r, c), v in cells.items() if r >= row and c >= col
                  and (last_row is None or r <= last_row) and (last_col is None or c <= last_col)}
        if not chosen:
            return []
        rows = []
        for r in range(row, max(r for r, _ in chosen) + 1):
            in_row = [c for (rr, c) in chosen if rr == r]
            rows.append([chosen.get((r, c), "") for c in range(col, max(in_row) + 1)] if in_row else [])
        return rows

    def _get(self, spreadsheet, range_text):
        sheet, row, col, last_row, last_col = self._sheet_of(spreadsheet, range_text)
        result = {"range": range_text, "majorDimension": "ROWS"}
        rows = self._rows(spreadsheet, sheet, row, col, last_row, last_col)
        if rows:
            result["values"] = rows
        return result

    def state(self):
        return {"spreadsheets": {sid: {sheet: self._rows(sid, sheet) for sheet in sheets}
                                 for sid, sheets in self.grid.items()},
                "grants": self.grants, "tokens": sorted(self.tokens)}
