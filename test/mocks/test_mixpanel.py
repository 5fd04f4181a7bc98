"""The Mixpanel vendor mock (test/mocks/mixpanel.py) answers as Mixpanel documents."""

import base64
import gzip
import json
import time
import unittest
from urllib.parse import urlencode

import testing

TOKEN = "tok123"
VENDOR = {"type": "mixpanel", "project_token": TOKEN, "service_account_username": "sa.user",
          "service_account_secret": "s3cret", "project_id": "42"}
NOW_MS = int(time.time() * 1000) - 60000


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


SA = basic("sa.user", "s3cret")


def event(insert_id, name="Signup", distinct_id="u1", stamp=NOW_MS, **props):
    return {"event": name, "properties": dict({"time": stamp, "distinct_id": distinct_id,
                                               "$insert_id": insert_id}, **props)}


class MixpanelImportTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure(VENDOR)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def test_import_with_service_account_stores_events(self):
        status, _, body = self.call("POST", "/import?strict=1&project_id=42",
                                    [event("a-1"), event("a-2", plan="pro")], SA)
        self.assertEqual(status, 200)
        self.assertEqual(body, {"code": 200, "num_records_imported": 2, "status": "OK"})
        stored = self.state()["events"]
        self.assertEqual([e["properties"]["$insert_id"] for e in stored], ["a-1", "a-2"])
        self.assertEqual(stored[1]["properties"]["plan"], "pro")
        self.assertEqual(self.recorded()[0]["answer_from"], "vendor:mixpanel")

    def test_import_with_project_token_and_empty_password(self):
        status, _, body = self.call("POST", "/import?strict=1", [event("t-1")], basic(TOKEN, ""))
        self.assertEqual((status, body["num_records_imported"]), (200, 1))

    def test_duplicates_are_counted_and_kept_once(self):
        self.call("POST", "/import?strict=1&project_id=42", [event("d-1")], SA)
        status, _, body = self.call("POST", "/import?strict=1&project_id=42",
                                    [event("d-1"), event("d-1", stamp=NOW_MS + 1)], SA)
        # Both are imported (Mixpanel dedups later); the same four keys are kept once.
        self.assertEqual((status, body["num_records_imported"]), (200, 2))
        state = self.state()
        self.assertEqual(len(state["events"]), 2)
        self.assertEqual(state["duplicates"], 1)

    def test_ndjson_and_gzip_bodies(self):
        lines = "\n".join(json.dumps(e) for e in [event("n-1"), event("n-2")]).encode()
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", gzip.compress(lines),
                                    dict(SA, **{"Content-Type": "application/x-ndjson",
                                                "Content-Encoding": "gzip"}))
        self.assertEqual((status, body["num_records_imported"]), (200, 2))

    def test_rejected_and_invalid_events_fail_one_by_one(self):
        self.configure(dict(VENDOR, reject={"bad-1": "blocked by test"}))
        batch = [event("ok-1"), event("bad-1"), event("x" * 37), event("ok-2", distinct_id="null"),
                 event("ok-3", stamp=1000), {"properties": {}}]
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", batch, SA)
        self.assertEqual(status, 400)
        self.assertEqual(body["code"], 400)
        self.assertEqual(body["status"], "Bad Request")
        self.assertEqual(body["num_records_imported"], 1)
        failed = {f["index"]: f for f in body["failed_records"]}
        self.assertEqual(sorted(failed), [1, 2, 3, 4, 5])
        self.assertEqual(failed[1], {"index": 1, "insert_id": "bad-1",
                                     "field": "properties.$insert_id", "message": "blocked by test"})
        self.assertEqual(failed[2]["field"], "properties.$insert_id")
        self.assertEqual(failed[3]["field"], "properties.distinct_id")
        self.assertEqual(failed[4]["field"], "properties.time")
        self.assertEqual(failed[5]["field"], "event")
        # The valid event of the batch was still imported.
        self.assertEqual([e["properties"]["$insert_id"] for e in self.state()["events"]], ["ok-1"])

    def test_bad_credentials_get_401(self):
        expected = {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}
        cases = [({}, "/import?strict=1&project_id=42"),
                 (basic("sa.user", "wrong"), "/import?strict=1&project_id=42"),
                 (SA, "/import?strict=1"),                   # service account needs project_id
                 (SA, "/import?strict=1&project_id=7"),      # another project
                 (basic("other-token", ""), "/import?strict=1")]
        for headers, target in cases:
            status, _, body = self.call("POST", target, [event("c-1")], headers)
            self.assertEqual((status, body), (401, expected), (headers, target))
        self.assertEqual(self.state()["events"], [])

    def test_unauthorized_option_forces_401(self):
        self.configure(dict(VENDOR, unauthorized=True))
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", [event("u-1")], SA)
        self.assertEqual((status, body["error"]), (401, "Invalid credentials"))
        status, _, body = self.call("POST", "/engage", [{"$token": TOKEN, "$distinct_id": "u1",
                                                         "$set": {}}])
        self.assertEqual((status, body["status"]), (401, "error"))

    def test_shape_errors(self):
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", b'{"event":1}',
                                    dict(SA, **{"Content-Type": "application/json"}))
        self.assertEqual((status, body["code"], body["status"]), (400, 400, "Bad Request"))
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", b"data=[]",
                                    dict(SA, **{"Content-Type": "text/plain"}))
        self.assertEqual(status, 400)
        self.assertIn("Content-Type", body["error"])
        status, _, _ = self.call("GET", "/import?strict=1&project_id=42", None, SA)
        self.assertEqual(status, 405)
        status, _, _ = self.call("POST", "/track", [event("p-1")], SA)
        self.assertEqual(status, 404)

    def test_too_many_events_or_bytes_get_413(self):
        status, _, body = self.call("POST", "/import?strict=1&project_id=42",
                                    [event(f"e-{i}") for i in range(2001)], SA)
        self.assertEqual((status, body["code"], body["status"]),
                         (413, 413, "Request Entity Too Large"))
        big = [event("big-1", blob="x" * (10 * 1024 * 1024))]
        status, _, body = self.call("POST", "/import?strict=1&project_id=42", big, SA)
        self.assertEqual(status, 413)
        self.assertIn("10485760 bytes", body["error"])
        self.assertEqual(self.state()["events"], [])

    def test_rate_limit_with_and_without_retry_after(self):
        message = "Project exceeded rate limits. Please retry the request with exponential backoff."
        for retry_after, header in ((None, None), (3, "3")):
            limit = {"requests": 1, "window_s": 60}
            if retry_after is not None:
                limit["retry_after"] = retry_after
            self.configure(dict(VENDOR, rate_limit=limit))
            first = self.call("POST", "/import?strict=1&project_id=42", [event("r-1")], SA)
            self.assertEqual(first[0], 200)
            status, headers, body = self.call("POST", "/import?strict=1&project_id=42",
                                              [event("r-2")], SA)
            self.assertEqual(status, 429)
            self.assertEqual(body, {"code": 429, "error": message, "status": "Too Many Requests"})
            self.assertEqual(headers.get("retry-after"), header)


class MixpanelProfilesTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure(VENDOR)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def test_set_unset_and_delete_profiles(self):
        status, headers, body = self.call("POST", "/engage", [
            {"$token": TOKEN, "$distinct_id": "u1", "$set": {"plan": "pro", "seats": 3}},
            {"$token": TOKEN, "$distinct_id": "u2", "$set": {"plan": "free"}}])
        self.assertEqual((status, body), (200, 1))
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.call("POST", "/engage", [{"$token": TOKEN, "$distinct_id": "u1", "$unset": ["seats"]},
                                      {"$token": TOKEN, "$distinct_id": "u2", "$delete": None}])
        self.assertEqual(self.state()["profiles"], {"u1": {"plan": "pro"}})

    def test_form_encoded_data_field_and_verbose(self):
        data = json.dumps([{"$token": TOKEN, "$distinct_id": "f1", "$set": {"a": 1}}])
        status, _, body = self.call("POST", "/engage?verbose=1", urlencode({"data": data}),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, body), (200, {"status": 1, "error": None}))
        self.assertEqual(self.state()["profiles"]["f1"], {"a": 1})

    def test_invalid_records_answer_zero(self):
        status, _, body = self.call("POST", "/engage", [{"$token": "wrong", "$distinct_id": "u1",
                                                         "$set": {"a": 1}}])
        self.assertEqual((status, body), (200, 0))
        status, _, body = self.call("POST", "/engage?verbose=1",
                                    [{"$token": TOKEN, "$set": {"a": 1}}])
        self.assertEqual((status, body), (200, {"status": 0,
                                                "error": "$distinct_id, missing or empty"}))
        status, _, body = self.call("POST", "/engage?verbose=1", b"not json",
                                    {"Content-Type": "application/json"})
        self.assertEqual(body["status"], 0)
        self.assertEqual(self.state()["profiles"], {})

    def test_rejected_profile(self):
        self.configure(dict(VENDOR, reject={"u2": "profile refused by test"}))
        batch = [{"$token": TOKEN, "$distinct_id": "u1", "$set": {"a": 1}},
                 {"$token": TOKEN, "$distinct_id": "u2", "$set": {"a": 2}}]
        # As documented, 1 as soon as one record is valid: the refusal is silent.
        status, _, body = self.call("POST", "/engage", batch)
        self.assertEqual((status, body), (200, 1))
        self.assertEqual(self.state()["profiles"], {"u1": {"a": 1}})
        # Alone, the refused record makes the answer 0, with the message in verbose mode.
        status, _, body = self.call("POST", "/engage?verbose=1", batch[1:])
        self.assertEqual(body, {"status": 0, "error": "profile refused by test"})
        # strict=1 names each refused record.
        status, _, body = self.call("POST", "/engage?strict=1", batch)
        self.assertEqual(status, 400)
        self.assertEqual(body["num_records_imported"], 1)
        self.assertEqual(body["failed_records"], [{"index": 1, "$distinct_id": "u2",
                                                   "message": "profile refused by test"}])

    def test_groups(self):
        self.configure(dict(VENDOR, reject={"acme-bad": "group refused by test"}))
        status, _, body = self.call("POST", "/groups", [
            {"$token": TOKEN, "$group_key": "company", "$group_id": "acme", "$set": {"tier": 1}},
            {"$token": TOKEN, "$group_key": "company", "$group_id": "acme-bad", "$set": {}}])
        self.assertEqual((status, body), (200, 1))
        self.assertEqual(self.state()["groups"], {"company": {"acme": {"tier": 1}}})
        status, _, body = self.call("POST", "/groups?verbose=1", [
            {"$token": TOKEN, "$group_key": "company", "$group_id": "acme-bad", "$set": {}}])
        self.assertEqual(body, {"status": 0, "error": "group refused by test"})
        self.call("POST", "/groups", [{"$token": TOKEN, "$group_key": "company",
                                       "$group_id": "acme", "$delete": ""}])
        self.assertEqual(self.state()["groups"], {"company": {}})

    def test_too_many_updates_get_413(self):
        status, _, body = self.call("POST", "/engage", [
            {"$token": TOKEN, "$distinct_id": f"u{i}", "$set": {}} for i in range(2001)])
        self.assertEqual((status, body["code"]), (413, 413))

    def test_rate_limit_on_engage(self):
        self.configure(dict(VENDOR, rate_limit={"requests": 0, "window_s": 60, "retry_after": 5}))
        status, headers, body = self.call("POST", "/engage", [{"$token": TOKEN,
                                                               "$distinct_id": "u1", "$set": {}}])
        self.assertEqual((status, body["code"], headers["retry-after"]), (429, 429, "5"))

    def test_project_token_is_required(self):
        status, _, body = self.call("POST", "/_mock/config", {"vendor": {"type": "mixpanel"}})
        self.assertEqual(status, 400)
        self.assertIn("project_token", json.dumps(body))


if __name__ == "__main__":
    unittest.main()
