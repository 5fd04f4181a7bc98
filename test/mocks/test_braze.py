"""The Braze mock (test/mocks/braze.py) answers as Braze documents."""

import json
import time
import unittest

import testing

KEY = "rest-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def attrs(external_id, **fields):
    return dict(external_id=external_id, **fields)


def event(external_id, name="Signed Up", when="2024-05-01T10:00:00Z", **fields):
    return dict(external_id=external_id, name=name, time=when, **fields)


def purchase(external_id, **fields):
    base = dict(external_id=external_id, product_id="sku-1", currency="USD", price=12.5,
                time="2024-05-01T10:00:00+02:00")
    return dict(base, **fields)


class BrazeTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "braze", "api_key": KEY})

    def track(self, body, headers=AUTH):
        return self.call("POST", "/users/track", body, headers)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]["users"]

    # ---- success and stored state --------------------------------------------

    def test_track_success_counts_each_array(self):
        status, headers, body = self.track({
            "attributes": [attrs("u1", first_name="Ada"), attrs("u2", plan="pro")],
            "events": [event("u1")],
            "purchases": [purchase("u1")]})
        self.assertEqual(status, 201)
        self.assertEqual(body, {"message": "success", "attributes_processed": 2,
                                "events_processed": 1, "purchases_processed": 1})
        self.assertNotIn("errors", body)

    def test_only_the_arrays_sent_are_counted(self):
        status, _, body = self.track({"events": [event("u1"), event("u1", name="Paid")]})
        self.assertEqual((status, body), (201, {"message": "success", "events_processed": 2}))

    def test_attributes_merge_and_null_removes(self):
        self.track({"attributes": [attrs("u1", first_name="Ada", city="Paris")]})
        self.track({"attributes": [attrs("u1", city=None, plan="pro")]})
        user = self.state()["u1"]
        self.assertEqual(user["external_id"], "u1")
        self.assertEqual(user["attributes"], {"first_name": "Ada", "plan": "pro"})
        self.assertRegex(user["braze_id"], r"^[0-9a-f]{24}$")

    def test_events_and_purchases_are_appended(self):
        self.track({"events": [event("u1")], "purchases": [purchase("u1")]})
        self.track({"events": [event("u1")]})
        user = self.state()["u1"]
        self.assertEqual([e["name"] for e in user["events"]], ["Signed Up", "Signed Up"])
        self.assertEqual(user["purchases"][0]["product_id"], "sku-1")
        self.assertNotIn("external_id", user["events"][0])

    def test_update_existing_only_does_not_create(self):
        alias = {"alias_name": "dev-1", "alias_label": "device"}
        status, _, body = self.track({
            "attributes": [attrs("u9", plan="x", _update_existing_only=True)],
            "events": [{"user_alias": alias, "name": "Open", "time": "2024-05-01T10:00:00Z"}]})
        self.assertEqual((status, body["attributes_processed"]), (201, 1))
        self.assertEqual(self.state(), {})
        # An alias-only user is created only when "Update Only" is turned off.
        self.track({"attributes": [{"user_alias": alias, "_update_existing_only": False, "os": "ios"}]})
        self.track({"events": [{"user_alias": alias, "name": "Open", "time": "2024-05-01T10:00:00Z"}]})
        user = self.state()["user_alias:device:dev-1"]
        self.assertEqual((user["attributes"], len(user["events"])), ({"os": "ios"}, 1))

    def test_email_identifier_finds_the_user_with_that_email(self):
        self.track({"attributes": [attrs("u1", email="ada@example.com")]})
        self.track({"attributes": [{"email": "ada@example.com", "plan": "pro"}],
                    "events": [{"email": "new@example.com", "name": "Visit",
                                "time": "2024-05-01T10:00:00Z"}]})
        users = self.state()
        self.assertEqual(users["u1"]["attributes"]["plan"], "pro")
        self.assertEqual(users["email:new@example.com"]["events"][0]["name"], "Visit")

    # ---- per-object failures ------------------------------------------------

    def test_invalid_objects_fail_one_by_one(self):
        status, _, body = self.track({
            "attributes": [attrs("u1"), {"first_name": "nobody"}],
            "events": [event("u1"), {"external_id": "u1", "time": "2024-05-01T10:00:00Z"},
                       event("u1", when="yesterday")],
            "purchases": [purchase("u1", quantity=101), purchase("u1", currency="dollars")]})
        self.assertEqual(status, 201)
        self.assertEqual(body["attributes_processed"], 1)
        self.assertEqual(body["events_processed"], 1)
        self.assertEqual(body["purchases_processed"], 0)
        self.assertEqual(body["errors"], [
            {"type": "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
             "input_array": "attributes", "index": 1},
            {"type": "'name' is required", "input_array": "events", "index": 1},
            {"type": "'time' is not valid", "input_array": "events", "index": 2},
            {"type": "'quantity' is not valid", "input_array": "purchases", "index": 0},
            {"type": "'currency' is not valid", "input_array": "purchases", "index": 1}])
        self.assertEqual(len(self.state()["u1"]["events"]), 1)

    def test_reject_option_fails_those_records_only(self):
        self.configure({"type": "braze", "api_key": KEY,
                        "reject": {"u2": "blocked external id", "bad@example.com": "no email"}})
        status, _, body = self.track({"attributes": [
            attrs("u1"), attrs("u2"), {"email": "bad@example.com", "plan": "x"}]})
        self.assertEqual(status, 201)
        self.assertEqual(body["attributes_processed"], 1)
        self.assertEqual(body["errors"], [
            {"type": "blocked external id", "input_array": "attributes", "index": 1},
            {"type": "no email", "input_array": "attributes", "index": 2}])
        self.assertEqual(list(self.state()), ["u1"])

    def test_no_valid_object_fails_the_request(self):
        self.configure({"type": "braze", "api_key": KEY, "reject": {"u1": "refused"}})
        status, _, body = self.track({"attributes": [attrs("u1")]})
        self.assertEqual(status, 400)
        self.assertEqual(body["message"], "Valid data must be provided in the 'attributes', "
                                          "'events', or 'purchases' fields.")
        self.assertEqual(body["errors"], [{"type": "refused", "input_array": "attributes", "index": 0}])
        self.assertEqual(self.state(), {})

    # ---- shape errors ------------------------------------------------------

    def test_more_than_75_objects_in_an_array(self):
        status, _, body = self.track({"events": [event(f"u{i}") for i in range(76)]})
        self.assertEqual((status, body), (400, {"message": "Max Input Length Exceeded"}))
        status, _, body = self.track({"attributes": [attrs(f"u{i}") for i in range(75)],
                                      "events": [event(f"u{i}") for i in range(75)]})
        self.assertEqual(status, 201)

    def test_empty_request(self):
        status, _, body = self.track({})
        self.assertEqual(status, 400)
        self.assertIn("Valid data must be provided", body["message"])

    def test_bad_json_and_content_type(self):
        status, _, body = self.track(b"{not json", dict(AUTH, **{"Content-Type": "application/json"}))
        self.assertEqual(status, 400)
        status, _, body = self.track(b'{"attributes":[]}', dict(AUTH, **{"Content-Type": "text/plain"}))
        self.assertEqual(status, 400)
        self.assertIn("Content-Type", body["message"])

    def test_unknown_path_and_method(self):
        self.assertEqual(self.call("POST", "/users/export/ids", {}, AUTH)[0], 404)
        status, headers, _ = self.call("GET", "/users/track", None, AUTH)
        self.assertEqual((status, headers["allow"]), (405, "POST"))

    # ---- auth --------------------------------------------------------------

    def test_bad_missing_and_forced_credentials(self):
        status, _, body = self.track({"events": [event("u1")]}, {"Authorization": "Bearer nope"})
        self.assertEqual((status, body), (401, {"message": "Invalid API key: nope"}))
        status, _, body = self.track({"events": [event("u1")]}, {})
        self.assertEqual(status, 401)
        self.configure({"type": "braze", "unauthorized": True})
        self.assertEqual(self.track({"events": [event("u1")]})[0], 401)
        self.assertEqual(self.state(), {})

    def test_any_key_without_api_key_option(self):
        self.configure({"type": "braze"})
        self.assertEqual(self.track({"events": [event("u1")]}, {"Authorization": "Bearer x"})[0], 201)

    # ---- delete ------------------------------------------------------------

    def test_delete_by_external_id_and_braze_id(self):
        self.track({"attributes": [attrs("u1"), attrs("u2"), attrs("u3")]})
        braze_id = self.state()["u3"]["braze_id"]
        status, _, body = self.call("POST", "/users/delete",
                                    {"external_ids": ["u1", "unknown"]}, AUTH)
        self.assertEqual((status, body), (201, {"deleted": 2, "message": "success"}))
        self.call("POST", "/users/delete", {"braze_ids": [braze_id]}, AUTH)
        self.assertEqual(list(self.state()), ["u2"])

    def test_delete_limits(self):
        status, _, body = self.call("POST", "/users/delete",
                                    {"external_ids": [f"u{i}" for i in range(51)]}, AUTH)
        self.assertEqual(status, 400)
        self.assertIn("max number", body["message"])
        status, _, _ = self.call("POST", "/users/delete",
                                 {"external_ids": ["u1"], "braze_ids": ["b"]}, AUTH)
        self.assertEqual(status, 400)

    # ---- rate limits -------------------------------------------------------

    def test_rate_limit_headers_on_every_answer(self):
        _, headers, _ = self.track({"events": [event("u1")]})
        self.assertEqual(headers["x-ratelimit-limit"], "3000")
        self.assertEqual(headers["x-ratelimit-remaining"], "2999")
        self.assertAlmostEqual(int(headers["x-ratelimit-reset"]), time.time() + 3, delta=2)
        _, headers, _ = self.call("POST", "/users/delete", {"external_ids": ["u1"]}, AUTH)
        self.assertEqual(headers["x-ratelimit-limit"], "20000")

    def test_rate_limit_without_retry_after(self):
        self.configure({"type": "braze", "rate_limit": {"requests": 2, "window_s": 60}})
        statuses = [self.track({"events": [event("u1")]}) for _ in range(3)]
        self.assertEqual([s[0] for s in statuses], [201, 201, 429])
        self.assertEqual([s[1]["x-ratelimit-remaining"] for s in statuses], ["1", "0", "0"])
        self.assertEqual(statuses[2][2], {"message": "Rate Limited"})
        self.assertNotIn("retry-after", statuses[2][1])
        self.assertEqual(statuses[2][1]["x-ratelimit-limit"], "2")

    def test_rate_limit_with_retry_after(self):
        self.configure({"type": "braze", "rate_limit": {"requests": 0, "window_s": 1, "retry_after": 7}})
        status, headers, _ = self.track({"events": [event("u1")]})
        self.assertEqual((status, headers["retry-after"]), (429, "7"))

    # ---- delayed answers ---------------------------------------------------

    def test_delay_list_delays_the_next_requests_of_that_path(self):
        self.configure({"type": "braze", "api_key": KEY, "delay_ms": {"/users/delete": [300]}})
        self.track({"attributes": [attrs("u1"), attrs("u2")]})
        started = time.monotonic()
        status, _, _ = self.call("POST", "/users/delete", {"external_ids": ["u1"]}, AUTH)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        # The deletion took effect; only the answer waited.
        self.assertEqual(status, 201)
        self.assertEqual(list(self.state()), ["u2"])
        started = time.monotonic()
        self.call("POST", "/users/delete", {"external_ids": ["u2"]}, AUTH)
        self.assertLess(time.monotonic() - started, 0.3)
        self.assertEqual([r["delay_ms"] for r in self.recorded()], [0, 300, 0, 0])

    def test_delay_number_delays_every_request_of_that_path(self):
        self.configure({"type": "braze", "delay_ms": {"/users/track": 50}})
        for _ in range(2):
            self.track({"events": [event("u1")]})
        self.call("POST", "/users/delete", {"external_ids": ["u1"]}, AUTH)
        self.assertEqual([r["delay_ms"] for r in self.recorded()], [50, 50, 0])

    def test_delay_option_errors(self):
        for bad in ([100], {"users/track": 1}, {"/users/track": -1}, {"/users/track": [1, "x"]},
                    {"/users/track": True}):
            status, _, body = self.call("POST", "/_mock/config",
                                        {"vendor": {"type": "braze", "delay_ms": bad}})
            self.assertEqual(status, 400, bad)
            self.assertIn("delay_ms", body if isinstance(body, str) else json.dumps(body))


if __name__ == "__main__":
    unittest.main()
