"""The salesforce vendor mock answers as Salesforce's REST API does."""

import base64
import os
import sys
import time
import unittest
from urllib.parse import quote, urlencode

import testing

# discover puts test/mocks itself on the path; the mocks import each other as
# the server does, as the package `mocks` of test/.
sys.path.insert(0, os.path.dirname(testing.HERE))
from mocks.salesforce import id18, normalize_id, serial_id  # noqa: E402

API = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer good-token"}
OAUTH = {"type": "salesforce", "access_token": "good-token", "client_id": "cid",
         "client_secret": "csecret", "refresh_token": "rtoken"}


def account(ext, **fields):
    return dict({"attributes": {"type": "Account"}, "Ext__c": ext, "Name": f"Co {ext}"}, **fields)


class SalesforceTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "salesforce", "access_token": "good-token"})

    def upsert(self, records, sobject="Account", field="Ext__c", all_or_none=False, headers=AUTH):
        return self.call("PATCH", f"{API}/composite/sobjects/{sobject}/{field}",
                         {"allOrNone": all_or_none, "records": records}, headers)

    def query(self, soql, headers=AUTH):
        return self.call("GET", f"{API}/query?q={quote(soql)}", None, headers)

    def token(self, **form):
        fields = dict({"grant_type": "refresh_token", "client_id": "cid",
                       "client_secret": "csecret", "refresh_token": "rtoken"}, **form)
        return self.call("POST", "/services/oauth2/token", urlencode(fields),
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    # ---- ids ------------------------------------------------------------------------

    def test_ids_carry_salesforce_checksum(self):
        # The example id of Salesforce's sObject Collections documentation.
        self.assertEqual(id18("001RM000003oLrH"), "001RM000003oLrHYAU")
        self.assertEqual(normalize_id("001RM000003oLrH"), "001RM000003oLrHYAU")
        self.assertIsNone(normalize_id("001RM000003oLrHAAA"))
        self.assertIsNone(normalize_id("not-an-id"))

    def test_serial_ids_are_case_safe_ids(self):
        for prefix in ("001", "003", "a0A"):
            for serial in (1, 9, 10, 61, 62, 99999, 9999999999):
                self.assertEqual(serial_id(prefix, serial), id18(f"{prefix}RM{serial:010d}"), (prefix, serial))
        self.assertEqual(normalize_id(serial_id("a0A", 7)), serial_id("a0A", 7))

    # ---- success bodies and stored state --------------------------------------------

    def test_upsert_creates_then_updates_in_request_order(self):
        status, headers, body = self.upsert([account("A-1"), account("A-2")])
        self.assertEqual(status, 200)
        self.assertEqual([(r["success"], r["created"], r["errors"]) for r in body],
                         [(True, True, []), (True, True, [])])
        self.assertTrue(all(r["id"].startswith("001") and len(r["id"]) == 18 for r in body))
        self.assertEqual(normalize_id(body[0]["id"]), body[0]["id"])
        self.assertRegex(headers["sforce-limit-info"], r"^api-usage=1/100000$")
        first = body[0]["id"]

        status, _, body = self.upsert([account("a-1", Phone="555")])   # external ids ignore case
        self.assertEqual(status, 200)
        self.assertEqual((body[0]["id"], body[0]["created"]), (first, False))
        stored = self.state()["records"]["Account"][first]
        self.assertEqual((stored["Phone"], stored["Id"]), ("555", first))

    def test_prefix_per_sobject(self):
        for sobject, fields, prefix in (("Lead", {"LastName": "L", "Company": "C"}, "00Q"),
                                        ("Contact", {"LastName": "L"}, "003"),
                                        ("Opportunity", {"Name": "O", "StageName": "New",
                                                         "CloseDate": "2026-01-01"}, "006"),
                                        ("Pet__c", {}, "a0")):
            with self.subTest(sobject=sobject):
                record = dict({"attributes": {"type": sobject}, "Ext__c": "X-1"}, **fields)
                status, _, body = self.upsert([record], sobject=sobject)
                self.assertEqual(status, 200)
                self.assertTrue(body[0]["id"].startswith(prefix), body)

    def test_create_update_delete(self):
        status, _, body = self.call("POST", f"{API}/composite/sobjects", {"allOrNone": False, "records": [
            {"attributes": {"type": "Lead"}, "LastName": "Lee", "Company": "Acme"},
            {"attributes": {"type": "Contact"}, "LastName": "Ng"}]}, AUTH)
        self.assertEqual(status, 200)
        lead, contact = body[0]["id"], body[1]["id"]
        self.assertEqual((lead[:3], contact[:3], body[0]["success"]), ("00Q", "003", True))
        self.assertNotIn("created", body[0])

        status, _, body = self.call("PATCH", f"{API}/composite/sobjects", {"records": [
            {"attributes": {"type": "Lead"}, "id": lead, "Company": "Acme Inc"}]}, AUTH)
        self.assertEqual((status, body), (200, [{"id": lead, "success": True, "errors": []}]))
        self.assertEqual(self.state()["records"]["Lead"][lead]["Company"], "Acme Inc")

        status, _, body = self.call("DELETE", f"{API}/composite/sobjects?ids={lead},{contact}&allOrNone=false",
                                    None, AUTH)
        self.assertEqual(status, 200)
        self.assertEqual([r["success"] for r in body], [True, True])
        state = self.state()
        self.assertEqual(state["records"]["Lead"], {})
        self.assertEqual(state["deleted"], {"Lead": [lead], "Contact": [contact]})

    def test_unknown_and_deleted_ids_fail_per_record(self):
        _, _, body = self.upsert([account("A-1")])
        live = body[0]["id"]
        never = id18("001RM00000zzzzz")
        self.call("DELETE", f"{API}/composite/sobjects?ids={live}", None, AUTH)
        status, _, body = self.call("DELETE", f"{API}/composite/sobjects?ids={live},{never},bogus",
                                    None, AUTH)
        self.assertEqual(status, 200)
        self.assertEqual([r["success"] for r in body], [False, False, False])
        self.assertEqual([r["errors"][0]["statusCode"] for r in body],
                         ["ENTITY_IS_DELETED", "ENTITY_IS_DELETED", "MALFORMED_ID"])
        status, _, body = self.call("PATCH", f"{API}/composite/sobjects", {"records": [
            {"attributes": {"type": "Account"}, "id": never, "Name": "x"},
            {"attributes": {"type": "Account"}, "Name": "no id"}]}, AUTH)
        self.assertEqual([r["errors"][0]["statusCode"] for r in body],
                         ["INVALID_CROSS_REFERENCE_KEY", "MISSING_ARGUMENT"])

    def test_query_by_external_id(self):
        _, _, body = self.upsert([account("A-1"), account("A-2"), account("O'Brien")])
        ids = [r["id"] for r in body]
        status, headers, body = self.query(
            "SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('a-1', 'O\\'Brien', 'nope')")
        self.assertEqual(status, 200)
        self.assertEqual((body["totalSize"], body["done"]), (2, True))
        self.assertEqual([(r["Id"], r["Ext__c"]) for r in body["records"]],
                         [(ids[0], "A-1"), (ids[2], "O'Brien")])
        self.assertEqual(body["records"][0]["attributes"],
                         {"type": "Account", "url": f"{API}/sobjects/Account/{ids[0]}"})
        self.assertIn("sforce-limit-info", headers)
        status, _, body = self.query("SELECT Id FROM Account WHERE Ext__c IN ('zzz')")
        self.assertEqual((status, body["totalSize"], body["records"]), (200, 0, []))

    def test_other_queries_are_malformed(self):
        for soql in ("SELECT Id FROM Account", "SELECT Id FROM Account WHERE Ext__c = 'a'",
                     "SELECT Id FROM Account WHERE Ext__c IN (a)", "DELETE FROM Account"):
            with self.subTest(soql=soql):
                status, _, body = self.query(soql)
                self.assertEqual((status, body[0]["errorCode"]), (400, "MALFORMED_QUERY"))
        status, _, body = self.query("SELECT Id FROM Nope WHERE Ext__c IN ('a')")
        self.assertEqual((status, body[0]["errorCode"]), (400, "INVALID_TYPE"))
        # Salesforce's shape: the query, a caret under where it stopped, the row and column.
        soql = "SELECT Id FROM Account WHERE Ext__c IN ('a', b)"
        status, _, body = self.query(soql)
        self.assertEqual(status, 400)
        self.assertEqual(body, [{"errorCode": "MALFORMED_QUERY", "message":
                                 f"\n{soql}\n{' ' * 45}^\nERROR at Row:1:Column:46\nunexpected token: b)"}])
        status, _, body = self.call("GET", f"{API}/query", None, AUTH)
        self.assertEqual((status, body[0]["errorCode"]), (400, "MALFORMED_QUERY"))

    def test_query_string_literals_unescape_as_soql(self):
        _, _, body = self.upsert([account("O'Brien\\x"), account("tab\there"), account("é")])
        ids = [r["id"] for r in body]
        status, _, body = self.query(
            "SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('O\\'Brien\\\\x', 'tab\\there', '\\u00e9')")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(r["Id"] for r in body["records"]), sorted(ids))
        # Not an escape SOQL knows, an unescaped quote, a lone backslash: malformed.
        for literal in ("'a\\x'", "'O'Brien'", "'a\\'"):
            with self.subTest(literal=literal):
                status, _, body = self.query(f"SELECT Id, Ext__c FROM Account WHERE Ext__c IN ({literal})")
                self.assertEqual((status, body[0]["errorCode"]), (400, "MALFORMED_QUERY"))
        # A backslash escaped is one backslash, not an escape of what follows.
        status, _, body = self.query("SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('O\\'Brien\\x')")
        self.assertEqual(status, 400)

    # ---- per-record failures -------------------------------------------------------

    def test_rejected_records_fail_one_by_one(self):
        self.configure({"type": "salesforce", "access_token": "good-token",
                        "reject": {"A-2": "Ext must not be A-2"}})
        status, _, body = self.upsert([account("A-1"), account("A-2"), account("A-3")])
        self.assertEqual(status, 200)
        self.assertEqual([r["success"] for r in body], [True, False, True])
        self.assertEqual(body[1], {"id": None, "success": False, "errors": [
            {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Ext must not be A-2",
             "fields": []}]})
        self.assertEqual(sorted(r["Ext__c"] for r in self.state()["records"]["Account"].values()),
                         ["A-1", "A-3"])

    def test_reject_by_id_on_update_and_delete(self):
        _, _, body = self.upsert([account("A-1")])
        record_id = body[0]["id"]
        self.configure({"type": "salesforce", "access_token": "good-token",
                        "reject": {record_id: "locked"}})
        status, _, body = self.call("DELETE", f"{API}/composite/sobjects?ids={record_id}", None, AUTH)
        self.assertEqual(body[0]["errors"][0]["statusCode"], "DELETE_FAILED")
        self.assertEqual(body[0]["errors"][0]["message"], "locked")

    def test_missing_required_duplicate_and_missing_external_id(self):
        status, _, body = self.upsert([
            {"attributes": {"type": "Lead"}, "Ext__c": "L-1", "LastName": "Lee"},
            {"attributes": {"type": "Lead"}, "LastName": "No ext", "Company": "C"},
            {"attributes": {"type": "Lead"}, "Ext__c": "D", "LastName": "a", "Company": "C"},
            {"attributes": {"type": "Lead"}, "Ext__c": "d", "LastName": "b", "Company": "C"}],
            sobject="Lead")
        self.assertEqual(status, 200)
        errors = [r["errors"][0] for r in body]
        self.assertEqual([e["statusCode"] for e in errors],
                         ["REQUIRED_FIELD_MISSING", "MISSING_ARGUMENT", "DUPLICATE_VALUE", "DUPLICATE_VALUE"])
        self.assertEqual(errors[0]["fields"], ["Company"])
        self.assertNotIn("Lead", self.state()["records"])

    def test_all_or_none_rolls_back(self):
        status, _, body = self.upsert([account("A-1"), account("A-2", Name="")], all_or_none=True)
        self.assertEqual(status, 200)
        self.assertEqual([r["success"] for r in body], [False, False])
        self.assertEqual(body[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK")
        self.assertEqual(body[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING")
        self.assertNotIn("Account", self.state()["records"])

    # ---- shape errors ---------------------------------------------------------------

    def test_more_than_200_records_or_ids_is_400(self):
        status, _, body = self.upsert([account(f"A-{n}") for n in range(201)])
        self.assertEqual(status, 400)
        self.assertEqual(body, [{"message": "record limit reached. cannot submit more than 200 "
                                            "records into this call", "errorCode": "EXCEEDED_ID_LIMIT"}])
        ids = ",".join(id18(f"001RM{n:010d}") for n in range(201))
        status, _, body = self.call("DELETE", f"{API}/composite/sobjects?ids={ids}", None, AUTH)
        self.assertEqual((status, body[0]["errorCode"]), (400, "EXCEEDED_ID_LIMIT"))
        status, _, _ = self.upsert([account(f"A-{n}") for n in range(200)])
        self.assertEqual(status, 200)

    def test_bad_bodies_paths_and_methods(self):
        cases = [
            ("PATCH", f"{API}/composite/sobjects/Account/Ext__c", "{oops", 400, "JSON_PARSER_ERROR"),
            ("PATCH", f"{API}/composite/sobjects/Account/Ext__c", {"recs": []}, 400, "JSON_PARSER_ERROR"),
            ("PATCH", f"{API}/composite/sobjects/Account/Ext__c", {"records": [{"Ext__c": "a"}]},
             400, "INVALID_TYPE"),
            ("PATCH", f"{API}/composite/sobjects/Account/Ext__c",
             {"records": [{"attributes": {"type": "Contact"}, "Ext__c": "a"}]}, 400, "INVALID_TYPE"),
            ("PATCH", f"{API}/composite/sobjects/Nope/Ext__c", {"records": []}, 404, "NOT_FOUND"),
            ("PATCH", "/services/data/v45.0/composite/sobjects/Account/Ext__c", {"records": []},
             404, "NOT_FOUND"),
            ("POST", f"{API}/composite/sobjects/Account/Ext__c", {"records": []}, 405, "METHOD_NOT_ALLOWED"),
            ("GET", f"{API}/sobjects/Account", None, 404, "NOT_FOUND"),
        ]
        for method, target, body, status, code in cases:
            with self.subTest(method=method, target=target, body=body):
                headers = dict(AUTH, **{"Content-Type": "application/json"})
                got, _, answer = self.call(method, target, body, headers)
                self.assertEqual((got, answer[0]["errorCode"]), (status, code))
        got, _, answer = self.call("PATCH", f"{API}/composite/sobjects/Account/Ext__c", '{"records":[]}',
                                   dict(AUTH, **{"Content-Type": "text/plain"}))
        self.assertEqual((got, answer[0]["errorCode"]), (415, "UNSUPPORTED_MEDIA_TYPE"))

    # ---- authentication and the refresh token flow ----------------------------------------

    def test_bad_or_missing_token_is_401(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "good-token"}):
            with self.subTest(headers=headers):
                status, _, body = self.upsert([account("A-1")], headers=headers)
                self.assertEqual(status, 401)
                self.assertEqual(body, [{"message": "Session expired or invalid",
                                         "errorCode": "INVALID_SESSION_ID"}])

    def test_unauthorized_option(self):
        self.configure(dict(OAUTH, unauthorized=True))
        self.assertEqual(self.upsert([account("A-1")])[0], 401)
        status, _, body = self.token()
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))

    def test_expire_after_then_refresh(self):
        self.configure(dict(OAUTH, expire_after=2))
        self.assertEqual(self.upsert([account("A-1")])[0], 200)
        self.assertEqual(self.upsert([account("A-2")])[0], 200)
        status, _, body = self.upsert([account("A-3")])
        self.assertEqual((status, body[0]["errorCode"]), (401, "INVALID_SESSION_ID"))

        status, _, body = self.token()
        self.assertEqual(status, 200)
        self.assertEqual(set(body), {"access_token", "instance_url", "id", "token_type", "issued_at",
                                     "signature", "scope"})
        self.assertEqual(body["token_type"], "Bearer")
        self.assertTrue(body["instance_url"].startswith("http://127.0.0.1:"))
        new = {"Authorization": f"Bearer {body['access_token']}"}
        self.assertNotEqual(body["access_token"], "good-token")
        self.assertEqual(self.upsert([account("A-3")], headers=new)[0], 200)
        self.assertEqual(self.upsert([account("A-4")], headers=AUTH)[0], 401)   # the old one is gone
        self.assertEqual(self.state()["access_token"], body["access_token"])

    def test_oauth_client_without_token_needs_a_refresh(self):
        config = dict(OAUTH)
        del config["access_token"]
        self.configure(config)
        self.assertEqual(self.upsert([account("A-1")], headers={"Authorization": "Bearer x"})[0], 401)
        token = self.token()[2]["access_token"]
        self.assertEqual(self.upsert([account("A-1")], headers={"Authorization": f"Bearer {token}"})[0], 200)

    def test_bad_grants(self):
        self.configure(OAUTH)
        cases = [({"refresh_token": "old"}, "invalid_grant", "expired access/refresh token"),
                 ({"client_id": "other"}, "invalid_client_id", "client identifier invalid"),
                 ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
                 ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported")]
        for form, error, description in cases:
            with self.subTest(form=form):
                status, _, body = self.token(**form)
                self.assertEqual((status, body), (400, {"error": error, "error_description": description}))
        self.assertEqual(self.state()["access_token"], "good-token")

    def test_client_credentials_as_basic_auth(self):
        self.configure(OAUTH)
        basic = base64.b64encode(b"cid:csecret").decode()
        status, _, body = self.call("POST", "/services/oauth2/token",
                                    "grant_type=refresh_token&refresh_token=rtoken",
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "Authorization": f"Basic {basic}"})
        self.assertEqual((status, body["token_type"]), (200, "Bearer"))

    # ---- limits -------------------------------------------------------------------------

    def test_rate_limit_is_403_concurrent_limit_without_retry_after(self):
        self.configure({"type": "salesforce", "access_token": "good-token",
                        "rate_limit": {"requests": 1, "window_s": 10}})
        self.assertEqual(self.upsert([account("A-1")])[0], 200)
        status, headers, body = self.upsert([account("A-2")])
        self.assertEqual(status, 403)
        self.assertEqual(body, [{"message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                                 "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        self.assertNotIn("retry-after", headers)
        self.assertEqual(headers["sforce-limit-info"], "api-usage=1/100000")
        self.assertEqual(len(self.state()["records"]["Account"]), 1)

    def test_rate_limit_with_retry_after_and_recovery(self):
        self.configure({"type": "salesforce", "access_token": "good-token",
                        "rate_limit": {"requests": 1, "window_s": 0.5, "retry_after": 2}})
        self.assertEqual(self.upsert([account("A-1")])[0], 200)
        status, headers, _ = self.upsert([account("A-2")])
        self.assertEqual((status, headers.get("retry-after")), (403, "2"))
        time.sleep(0.6)
        self.assertEqual(self.upsert([account("A-2")])[0], 200)

    def test_daily_limit(self):
        self.configure({"type": "salesforce", "access_token": "good-token", "daily_limit": 2})
        self.assertEqual(self.upsert([account("A-1")])[1]["sforce-limit-info"], "api-usage=1/2")
        self.assertEqual(self.upsert([account("A-2")])[1]["sforce-limit-info"], "api-usage=2/2")
        status, headers, body = self.upsert([account("A-3")])
        self.assertEqual((status, body[0]["message"], body[0]["errorCode"]),
                         (403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"))
        self.assertEqual(headers["sforce-limit-info"], "api-usage=2/2")

    def test_bad_options_are_refused(self):
        status, _, body = self.call("POST", "/_mock/config",
                                    {"vendor": {"type": "salesforce", "expire_after": -1}})
        self.assertEqual(status, 400)
        self.assertIn("expire_after", body["error"])

    def test_recorded_answer_source(self):
        self.upsert([account("A-1")])
        self.assertEqual(self.recorded()[-1]["answer_from"], "vendor:salesforce")


if __name__ == "__main__":
    unittest.main()
