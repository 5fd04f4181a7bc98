"""The Amplitude vendor mock (test/mocks/amplitude.py) answers as Amplitude documents."""

import json
import unittest
from urllib.parse import urlencode

import testing

KEY = "amp-key-1"
VENDOR = {"type": "amplitude", "api_key": KEY, "secret_key": "amp-secret"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def event(insert_id, user_id="user-0001", event_type="Signup", **fields):
    return dict({"user_id": user_id, "event_type": event_type, "time": 1700000000000,
                 "insert_id": insert_id}, **fields)


class AmplitudeEventsTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure(VENDOR)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def upload(self, events, path="/2/httpapi", **extra):
        return self.call("POST", path, dict({"api_key": KEY, "events": events}, **extra))

    def test_httpapi_and_batch_store_events(self):
        for path, insert_id in (("/2/httpapi", "i-1"), ("/batch", "i-2")):
            status, _, body = self.upload([event(insert_id, user_properties={"plan": "pro"})], path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body["code"], 200)
            self.assertEqual(body["events_ingested"], 1)
            self.assertGreater(body["payload_size_bytes"], 0)
            self.assertGreater(body["server_upload_time"], 1700000000000)
        state = self.state()
        self.assertEqual([e["insert_id"] for e in state["events"]], ["i-1", "i-2"])
        self.assertEqual(state["users"], {"user-0001": {"plan": "pro"}})
        self.assertEqual(self.recorded()[0]["answer_from"], "vendor:amplitude")

    def test_dedup_by_insert_id(self):
        self.upload([event("dup-1")])
        status, _, body = self.upload([event("dup-1"), event("dup-2")])
        self.assertEqual((status, body["events_ingested"]), (200, 2))
        state = self.state()
        self.assertEqual([e["insert_id"] for e in state["events"]], ["dup-1", "dup-2"])
        self.assertEqual(state["duplicates"], 1)

    def test_short_ids_and_min_id_length(self):
        status, _, body = self.upload([event("s-1", user_id="abc")])
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "Invalid id length for user_id or device_id")
        self.assertEqual(body["events_with_invalid_id_lengths"], {"user_id": [0]})
        # Refused even beside a usable device_id, as the live service was seen doing.
        status, _, body = self.upload([event("s-2"), event("s-3", user_id="abc",
                                                           device_id="device-1")])
        self.assertEqual(status, 400)
        self.assertEqual(body["events_with_invalid_id_lengths"], {"user_id": [1]})
        self.assertEqual(self.state()["events"], [])
        status, _, _ = self.upload([event("s-3", user_id="abc")], options={"min_id_length": 3})
        self.assertEqual(status, 200)
        self.assertEqual(self.state()["events"][-1]["user_id"], "abc")

    def test_bad_events_fail_the_whole_request_by_index(self):
        self.configure(dict(VENDOR, reject={"bad-1": "refused by test"}))
        batch = [event("ok-1"), event("bad-1"), event("ok-2", time="2024-01-01"),
                 {"user_id": "user-0002", "insert_id": "ok-3"}, event("ok-4", user_id="null")]
        status, _, body = self.upload(batch)
        self.assertEqual(status, 400)
        self.assertEqual(body["code"], 400)
        self.assertEqual(body["error"], "Invalid field values on some events")
        self.assertEqual(body["events_with_invalid_fields"],
                         {"insert_id": [1], "time": [2], "user_id": [4]})
        self.assertEqual(body["events_with_missing_fields"], {"event_type": [3]})
        self.assertNotIn("missing_field", body)
        # Nothing of a refused request is ingested; the client resends the good events.
        self.assertEqual(self.state()["events"], [])
        status, _, body = self.upload([batch[0]])
        self.assertEqual((status, body["events_ingested"]), (200, 1))

    def test_missing_identifiers(self):
        status, _, body = self.upload([{"event_type": "x", "insert_id": "m-1"}])
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "Request missing required field")
        self.assertEqual(body["events_with_missing_fields"], {"user_id": [0]})

    def test_invalid_api_key_is_a_400(self):
        status, _, body = self.call("POST", "/2/httpapi", {"api_key": "nope", "events": [event("k")]})
        self.assertEqual((status, body), (400, {"code": 400, "error": "Invalid API key: nope"}))
        self.configure(dict(VENDOR, unauthorized=True))
        status, _, body = self.upload([event("k")])
        self.assertEqual((status, body["error"]), (400, f"Invalid API key: {KEY}"))
        self.assertEqual(self.state()["events"], [])

    def test_shape_errors(self):
        status, _, body = self.call("POST", "/2/httpapi", {"events": []})
        self.assertEqual((status, body), (400, {"code": 400, "error": "Request missing required field",
                                                "missing_field": "api_key"}))
        status, _, body = self.call("POST", "/2/httpapi", b"{not json",
                                    {"Content-Type": "application/json"})
        self.assertEqual((status, body["error"]), (400, "Invalid JSON request body"))
        status, _, body = self.call("POST", "/2/httpapi",
                                    json.dumps({"api_key": KEY, "events": [event("c")]}),
                                    {"Content-Type": "text/plain"})
        self.assertEqual((status, body["error"]), (400, "Invalid JSON request body"))
        status, _, body = self.call("POST", "/2/httpapi", {"api_key": KEY, "events": ["x"]})
        self.assertEqual((status, body["error"]), (400, "Invalid event JSON"))
        status, _, body = self.call("POST", "/3/httpapi", {"api_key": KEY, "events": []})
        self.assertEqual((status, body["error"]), (400, "Invalid request path"))

    def test_payload_limits_get_413(self):
        too_many = [event(f"n-{i}") for i in range(2000)]
        status, _, body = self.upload(too_many)
        self.assertEqual((status, body), (413, {"code": 413, "error": "Payload too large"}))
        # /batch takes 2000 events and 20 MB.
        status, _, _ = self.upload(too_many, "/batch")
        self.assertEqual(status, 200)
        status, _, _ = self.upload(too_many + [event("n-x")], "/batch")
        self.assertEqual(status, 413)
        big = [event("b-1", event_properties={"blob": "x" * (1024 * 1024)})]
        status, _, _ = self.upload(big)
        self.assertEqual(status, 413)
        status, _, _ = self.upload(big, "/batch")
        self.assertEqual(status, 200)

    def test_rate_limit_with_and_without_retry_after(self):
        for retry_after, header in ((None, None), (7, "7")):
            limit = {"requests": 1, "window_s": 60}
            if retry_after is not None:
                limit["retry_after"] = retry_after
            self.configure(dict(VENDOR, rate_limit=limit))
            self.assertEqual(self.upload([event("r-1")])[0], 200)
            status, headers, body = self.upload([event("r-2"), event("r-3", user_id="user-0002")])
            self.assertEqual(status, 429)
            self.assertEqual(body["code"], 429)
            self.assertEqual(body["error"], "Too many requests for some devices and users")
            self.assertEqual(body["throttled_events"], [0, 1])
            self.assertEqual(sorted(body["throttled_users"]), ["user-0001", "user-0002"])
            self.assertIn("eps_threshold", body)
            self.assertEqual(headers.get("retry-after"), header)
            self.assertEqual([e["insert_id"] for e in self.state()["events"]], ["r-1"])


class AmplitudeIdentifyTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure(VENDOR)

    def identify(self, identification, api_key=KEY):
        return self.call("POST", "/identify", urlencode(
            {"api_key": api_key, "identification": json.dumps(identification)}), FORM)

    def users(self):
        return self.call("GET", "/__vendor/state")[2]["users"]

    def test_identify_sets_user_properties(self):
        status, headers, body = self.identify([
            {"user_id": "user-0001", "user_properties": {"$set": {"plan": "pro", "seats": 2}}},
            {"user_id": "user-0002", "user_properties": {"plan": "free"}}])
        self.assertEqual((status, body), (200, "success"))
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.identify({"user_id": "user-0001", "user_properties": {"$unset": {"seats": "-"},
                                                                    "$add": {"logins": 2}}})
        self.assertEqual(self.users(), {"user-0001": {"plan": "pro", "logins": 2},
                                        "user-0002": {"plan": "free"}})
        # $clearAll (documented value "-") removes every property.
        self.assertEqual(self.identify({"user_id": "user-0002", "user_properties": {"$clearAll": "-"}})[:3:2],
                         (200, "success"))
        self.assertEqual(self.users()["user-0002"], {})

    def test_bad_identify_requests(self):
        self.assertEqual(self.identify([{"user_id": "user-0001"}], api_key="wrong")[:3:2],
                         (400, "invalid_api_key"))
        self.assertEqual(self.identify([{"user_properties": {}}])[:3:2], (400, "missing_event"))
        mixed = {"user_id": "user-0001", "user_properties": {"$set": {"a": 1}, "b": 2}}
        self.assertEqual(self.identify([mixed])[:3:2], (400, "missing_event"))
        status, _, body = self.call("POST", "/identify", json.dumps({"api_key": KEY}),
                                    {"Content-Type": "application/json"})
        self.assertEqual((status, body), (400, "missing_event"))
        self.assertEqual(self.users(), {})

    def test_rejected_user_fails_the_request(self):
        self.configure(dict(VENDOR, reject={"user-0002": "user refused by test"}))
        status, _, body = self.identify([
            {"user_id": "user-0001", "user_properties": {"$set": {"a": 1}}},
            {"user_id": "user-0002", "user_properties": {"$set": {"a": 2}}}])
        self.assertEqual((status, body), (400, "user refused by test"))
        self.assertEqual(self.users(), {})

    def test_unauthorized_and_rate_limit(self):
        self.configure(dict(VENDOR, unauthorized=True))
        self.assertEqual(self.identify([{"user_id": "user-0001"}])[:3:2], (400, "invalid_api_key"))
        self.configure(dict(VENDOR, rate_limit={"requests": 0, "window_s": 60, "retry_after": 2}))
        status, headers, body = self.identify([{"user_id": "user-0001"}])
        self.assertEqual((status, body["code"], headers["retry-after"]), (429, 429, "2"))

    def test_get_identify_with_query_parameters(self):
        query = urlencode({"api_key": KEY, "identification": json.dumps(
            {"user_id": "user-0003", "user_properties": {"$set": {"x": 1}}})})
        status, _, body = self.call("GET", "/identify?" + query)
        self.assertEqual((status, body), (200, "success"))
        self.assertEqual(self.users(), {"user-0003": {"x": 1}})

    def test_api_key_is_required(self):
        status, _, body = self.call("POST", "/_mock/config", {"vendor": {"type": "amplitude"}})
        self.assertEqual(status, 400)
        self.assertIn("api_key", json.dumps(body))


if __name__ == "__main__":
    unittest.main()
