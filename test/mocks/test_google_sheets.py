"""The google_sheets vendor mock answers as Google's token endpoint and the Sheets
API v4 values methods do. Keys are made for the test with openssl."""

import base64
import json
import os
import subprocess
import tempfile
import time
import unittest

import testing

SID = "1AbCdEf"
EMAIL = "sync@project.iam.gserviceaccount.com"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class GoogleSheetsTest(testing.MockServerCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.key = os.path.join(cls.tmp.name, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", cls.key], check=True, capture_output=True)
        cls.public = subprocess.run(["openssl", "pkey", "-in", cls.key, "-pubout"], check=True,
                                    capture_output=True, text=True).stdout
        other = os.path.join(cls.tmp.name, "other.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", other], check=True, capture_output=True)
        cls.other_key = other

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.configure({"type": "google_sheets", "public_key": self.public, "client_email": EMAIL})

    def assertion(self, key=None, **claims):
        now = int(time.time())
        body = {"iss": EMAIL, "scope": "https://www.googleapis.com/auth/spreadsheets",
                "aud": self.base + "/token", "iat": now, "exp": now + 3600}
        body.update(claims)
        signed = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + \
            b64url(json.dumps(body).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key or self.key],
                                   input=signed.encode(), check=True, capture_output=True).stdout
        return signed + "." + b64url(signature)

    def grant(self, assertion):
        return self.call("POST", "/token",
                         "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion,
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def token(self):
        status, _, body = self.grant(self.assertion())
        self.assertEqual(status, 200, body)
        return body["access_token"]

    def api(self, method, path, body=None, token=None):
        return self.call(method, f"/v4/spreadsheets/{SID}/{path}", body,
                         {"Authorization": "Bearer " + (token or self.token())})

    def sheet(self, name="Sheet1"):
        return self.call("GET", "/__vendor/state")[2]["spreadsheets"].get(SID, {}).get(name, [])

    def test_a_signed_assertion_gets_a_token(self):
        status, _, body = self.grant(self.assertion())
        self.assertEqual(status, 200)
        self.assertEqual((body["token_type"], body["expires_in"]), ("Bearer", 3599))
        self.assertTrue(body["access_token"].startswith("ya29."))

    def test_bad_assertions_are_refused(self):
        self.assertEqual(self.grant(self.assertion(key=self.other_key))[2],
                         {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        good = self.assertion()
        head, claims, sig = good.split(".")
        tampered = head + "." + b64url(json.dumps({"iss": "x"}).encode()) + "." + sig
        self.assertEqual(self.grant(tampered)[2]["error"], "invalid_grant")
        self.assertEqual(self.grant(self.assertion(iss="someone@else"))[2]["error"], "invalid_grant")
        self.assertEqual(self.grant(self.assertion(aud="https://oauth2.googleapis.com/token"))[2]["error"],
                         "invalid_grant")
        now = int(time.time())
        self.assertEqual(self.grant(self.assertion(iat=now, exp=now + 7200))[2]["error"], "invalid_grant")
        self.assertEqual(self.grant(self.assertion(scope="https://www.googleapis.com/auth/drive"))[2]["error"],
                         "invalid_scope")
        self.assertEqual(self.grant("not.a.jwt")[0], 400)
        status, _, body = self.call("POST", "/token", "grant_type=refresh_token&refresh_token=x",
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))

    def test_batch_update_writes_explicit_rows(self):
        token = self.token()
        status, _, body = self.api("POST", "values:batchUpdate", {
            "valueInputOption": "RAW",
            "data": [{"range": "'Sheet1'!2:2", "majorDimension": "ROWS", "values": [["1", "Ada", 36]]},
                     {"range": "Sheet1!A3:C3", "values": [["2", "Bob", None]]}]}, token)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["totalUpdatedRows"], body["totalUpdatedCells"]), (2, 6))
        self.assertEqual(self.sheet(), [[], ["1", "Ada", 36], ["2", "Bob"]])
        # The same write again rewrites the same cells: no new row. null skips a cell, "" empties it.
        self.api("POST", "values:batchUpdate", {"valueInputOption": "RAW", "data": [
            {"range": "'Sheet1'!A2", "values": [["1", None, ""]]}]}, token)
        self.assertEqual(self.sheet(), [[], ["1", "Ada"], ["2", "Bob"]])
        status, _, body = self.api("GET", "values/Sheet1!A1:C3", token=token)
        self.assertEqual(body["values"], [[], ["1", "Ada"], ["2", "Bob"]])

    def test_requests_are_atomic(self):
        token = self.token()
        status, _, body = self.api("POST", "values:batchUpdate", {"valueInputOption": "RAW", "data": [
            {"range": "'Sheet1'!A2", "values": [["1"]]}, {"range": "'Nope'!A3", "values": [["2"]]}]}, token)
        self.assertEqual((status, body["error"]["status"]), (400, "INVALID_ARGUMENT"))
        self.assertEqual(body["error"]["message"], "Unable to parse range: 'Nope'!A3")
        self.assertEqual(self.sheet(), [])
        status, _, body = self.api("POST", "values:batchUpdate", {"data": []}, token)
        self.assertEqual(status, 400)

    def test_batch_clear_empties_rows(self):
        token = self.token()
        self.api("POST", "values:batchUpdate", {"valueInputOption": "RAW", "data": [
            {"range": "'Sheet1'!A2", "values": [["1", "a"], ["2", "b"], ["3", "c"]]}]}, token)
        status, _, body = self.api("POST", "values:batchClear", {"ranges": ["'Sheet1'!3:3"]}, token)
        self.assertEqual((status, body["clearedRanges"]), (200, ["'Sheet1'!3:3"]))
        self.assertEqual(self.sheet(), [[], ["1", "a"], [], ["3", "c"]])

    def test_append_adds_a_row_each_time(self):
        token = self.token()
        for _ in range(2):
            self.call("POST", f"/v4/spreadsheets/{SID}/values/Sheet1!A1:append?valueInputOption=RAW",
                      {"values": [["1", "x"]]}, {"Authorization": "Bearer " + token})
        self.assertEqual(self.sheet(), [["1", "x"], ["1", "x"]])

    def test_credentials_limits_and_rejects(self):
        status, _, body = self.api("POST", "values:batchUpdate", {}, token="wrong")
        self.assertEqual((status, body["error"]["status"]), (401, "UNAUTHENTICATED"))
        self.configure({"type": "google_sheets", "access_token": "t", "expire_after": 1,
                        "rate_limit": {"requests": 1, "window_s": 60, "retry_after": 2},
                        "reject": {"9": "bad row"}})
        update = {"valueInputOption": "RAW", "data": [{"range": "'Sheet1'!A2", "values": [["9"]]}]}
        self.assertEqual(self.api("POST", "values:batchUpdate", update, token="t")[2]["error"]["message"],
                         "bad row")
        self.assertEqual(self.api("POST", "values:batchUpdate", update, token="t")[0], 401)   # expired
        self.configure({"type": "google_sheets", "access_token": "t",
                        "rate_limit": {"requests": 1, "window_s": 60, "retry_after": 2}})
        self.api("POST", "values:batchUpdate", update, token="t")
        status, headers, body = self.api("POST", "values:batchUpdate", update, token="t")
        self.assertEqual((status, body["error"]["status"], headers["retry-after"]), (429, "RESOURCE_EXHAUSTED", "2"))


if __name__ == "__main__":
    unittest.main()
