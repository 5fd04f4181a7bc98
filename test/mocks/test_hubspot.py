"""The hubspot vendor mock answers as HubSpot's CRM v3 batch APIs do."""

import time
import unittest

import testing

BASE = "/crm/v3/objects"
AUTH = {"Authorization": "Bearer pat-na1-good"}


def upsert_input(email, **properties):
    return {"id": email, "idProperty": "email", "properties": properties}


class HubSpotTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "hubspot", "access_token": "pat-na1-good"})

    def post(self, object_type, operation, body, headers=AUTH):
        return self.call("POST", f"{BASE}/{object_type}/batch/{operation}", body, headers)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    # ---- success bodies and stored state --------------------------------------------

    def test_upsert_creates_then_updates_by_email(self):
        status, headers, body = self.post("contacts", "upsert", {"inputs": [
            upsert_input("Ann@Example.com", firstname="Ann"), upsert_input("bob@example.com")]})
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "COMPLETE")
        by_email = {r["properties"]["email"]: r for r in body["results"]}
        self.assertEqual(set(by_email), {"ann@example.com", "bob@example.com"})
        self.assertTrue(all(r["new"] for r in body["results"]))
        self.assertTrue(by_email["ann@example.com"]["id"].isdigit())
        # HubSpot does not keep input order; the mock answers in reverse to prove it.
        self.assertEqual(body["results"][0]["properties"]["email"], "bob@example.com")
        self.assertIn("x-hubspot-ratelimit-remaining", headers)

        status, _, body = self.post("contacts", "upsert", {"inputs": [
            upsert_input("ann@example.com", lastname="Lee")]})
        self.assertEqual(status, 200)
        self.assertFalse(body["results"][0]["new"])
        self.assertEqual(body["results"][0]["id"], by_email["ann@example.com"]["id"])
        stored = self.state()["objects"]["contacts"][body["results"][0]["id"]]["properties"]
        self.assertEqual((stored["firstname"], stored["lastname"]), ("Ann", "Lee"))

    def test_object_types_are_kept_apart(self):
        self.post("companies", "upsert", {"inputs": [
            {"id": "acme.com", "idProperty": "domain", "properties": {"name": "Acme"}}]})
        self.post("p_pets", "upsert", {"inputs": [
            {"id": "P-1", "idProperty": "pet_id", "properties": {"name": "Rex"}}]})
        self.post("2-1234567", "create", {"inputs": [{"properties": {"name": "x"}}]})
        objects = self.state()["objects"]
        self.assertEqual(sorted(objects), ["2-1234567", "companies", "p_pets"])
        # 0-2 is HubSpot's type id of companies: the same objects.
        status, _, body = self.post("0-2", "read", {"idProperty": "domain", "inputs": [{"id": "acme.com"}]})
        self.assertEqual((status, body["results"][0]["properties"]["name"]), (200, "Acme"))

    def test_update_by_hubspot_id_and_by_id_property(self):
        _, _, body = self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com")]})
        contact_id = body["results"][0]["id"]
        status, _, body = self.post("contacts", "update", {"inputs": [
            {"id": contact_id, "properties": {"city": "Oslo"}}]})
        self.assertEqual((status, body["results"][0]["id"]), (200, contact_id))
        status, _, body = self.post("contacts", "update", {"inputs": [
            {"id": "A@X.com", "idProperty": "email", "properties": {"city": "Bergen"}}]})
        self.assertEqual(status, 200)
        self.assertEqual(self.state()["objects"]["contacts"][contact_id]["properties"]["city"], "Bergen")

    def test_update_of_unknown_ids_is_207_object_not_found(self):
        _, _, body = self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com")]})
        known = body["results"][0]["id"]
        status, _, body = self.post("contacts", "update", {"inputs": [
            {"id": known, "properties": {"city": "Oslo"}},
            {"id": "999998", "properties": {}}, {"id": "999999", "properties": {}}]})
        self.assertEqual(status, 207)
        self.assertEqual([r["id"] for r in body["results"]], [known])
        self.assertEqual(body["numErrors"], 1)
        self.assertEqual(body["errors"][0]["category"], "OBJECT_NOT_FOUND")
        self.assertEqual(body["errors"][0]["context"]["ids"], ["999998", "999999"])
        self.assertIn("CONTACT objects", body["errors"][0]["message"])

    def test_read_by_email_returns_found_and_names_missing(self):
        self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com", firstname="A")]})
        status, _, body = self.post("contacts", "read", {
            "idProperty": "email", "properties": ["email"],
            "inputs": [{"id": "a@x.com"}, {"id": "nobody@x.com"}]})
        self.assertEqual(status, 207)
        self.assertEqual(body["results"][0]["properties"]["email"], "a@x.com")
        self.assertNotIn("firstname", body["results"][0]["properties"])
        self.assertEqual(body["errors"][0]["category"], "OBJECT_NOT_FOUND")
        self.assertEqual(body["errors"][0]["context"]["ids"], ["nobody@x.com"])

    def test_archive_answers_204_and_archived_objects_are_gone(self):
        _, _, body = self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com")]})
        contact_id = body["results"][0]["id"]
        status, _, body = self.post("contacts", "archive", {"inputs": [{"id": contact_id}, {"id": "424242"}]})
        self.assertEqual((status, body), (204, None))
        state = self.state()
        self.assertEqual(state["objects"]["contacts"], {})
        self.assertEqual(state["archived"]["contacts"], [contact_id])
        status, _, body = self.post("contacts", "read", {"idProperty": "email", "inputs": [{"id": "a@x.com"}]})
        self.assertEqual((status, body["errors"][0]["category"]), (207, "OBJECT_NOT_FOUND"))

    def test_create_returns_trace_ids(self):
        status, _, body = self.post("contacts", "create", {"inputs": [
            {"properties": {"email": "c@x.com"}, "objectWriteTraceId": "r-1"}]})
        self.assertEqual(status, 200)
        self.assertEqual(body["results"][0]["objectWriteTraceId"], "r-1")
        self.assertEqual(len(self.state()["objects"]["contacts"]), 1)

    # ---- per-record failures -------------------------------------------------------

    def test_rejected_upserts_fail_one_by_one(self):
        self.configure({"type": "hubspot", "access_token": "pat-na1-good",
                        "reject": {"bad@x.com": "Property values were not valid"}})
        status, _, body = self.post("contacts", "upsert", {"inputs": [
            upsert_input("ok@x.com"), upsert_input("bad@x.com")]})
        self.assertEqual(status, 207)
        self.assertEqual([r["properties"]["email"] for r in body["results"]], ["ok@x.com"])
        self.assertEqual(body["numErrors"], 1)
        error = body["errors"][0]
        self.assertEqual((error["status"], error["category"]), ("error", "VALIDATION_ERROR"))
        self.assertEqual(error["message"], "Property values were not valid")
        self.assertEqual(error["context"]["ids"], ["bad@x.com"])
        self.assertEqual(list(self.state()["objects"]["contacts"].values())[0]["properties"]["email"],
                         "ok@x.com")

    def test_create_conflict_fails_whole_batch_without_trace_ids(self):
        self.post("contacts", "create", {"inputs": [{"properties": {"email": "dup@x.com"}}]})
        status, _, body = self.post("contacts", "create", {"inputs": [
            {"properties": {"email": "new@x.com"}}, {"properties": {"email": "dup@x.com"}}]})
        self.assertEqual(status, 409)
        self.assertEqual(body["category"], "CONFLICT")
        self.assertIn("Contact already exists. Existing ID:", body["message"])
        self.assertEqual(len(self.state()["objects"]["contacts"]), 1)

    def test_create_with_trace_ids_is_multi_status(self):
        self.post("contacts", "create", {"inputs": [{"properties": {"email": "dup@x.com"}}]})
        status, _, body = self.post("contacts", "create", {"inputs": [
            {"properties": {"email": "new@x.com"}, "objectWriteTraceId": "r-1"},
            {"properties": {"email": "dup@x.com"}, "objectWriteTraceId": "r-2"}]})
        self.assertEqual(status, 207)
        self.assertEqual([r["objectWriteTraceId"] for r in body["results"]], ["r-1"])
        self.assertEqual(body["errors"][0]["category"], "CONFLICT")
        self.assertEqual(body["errors"][0]["context"]["objectWriteTraceId"], ["r-2"])

    # ---- shape errors ---------------------------------------------------------------

    def test_more_than_100_inputs_is_400_validation_error(self):
        inputs = [upsert_input(f"u{n}@x.com") for n in range(101)]
        status, _, body = self.post("contacts", "upsert", {"inputs": inputs})
        self.assertEqual(status, 400)
        self.assertEqual((body["status"], body["category"]), ("error", "VALIDATION_ERROR"))
        self.assertIn("correlationId", body)
        self.assertNotIn("contacts", self.state()["objects"])
        status, _, _ = self.post("contacts", "upsert", {"inputs": inputs[:100]})
        self.assertEqual(status, 200)

    def test_bad_bodies_are_400(self):
        cases = [
            {"inputs": [{"idProperty": "email", "properties": {}}]},           # no id
            {"inputs": [{"id": "a@x.com", "properties": {}}]},                # upsert without idProperty
            {"inputs": [{"id": "a@x.com", "idProperty": "email"}]},          # no properties
            {"records": []},                                                  # no inputs
            {"inputs": [upsert_input("a@x.com"), upsert_input("A@x.com")]},   # duplicate ids
        ]
        for body in cases:
            with self.subTest(body=body):
                status, _, answer = self.post("contacts", "upsert", body)
                self.assertEqual((status, answer["category"]), (400, "VALIDATION_ERROR"))
        status, _, answer = self.post("contacts", "upsert", "{not json",
                                     dict(AUTH, **{"Content-Type": "application/json"}))
        self.assertEqual((status, answer["category"]), (400, "VALIDATION_ERROR"))

    def test_wrong_method_path_type_and_content_type(self):
        status, _, _ = self.call("GET", f"{BASE}/contacts/batch/upsert", None, AUTH)
        self.assertEqual(status, 405)
        status, _, _ = self.post("contacts", "merge", {"inputs": []})
        self.assertEqual(status, 404)
        status, _, body = self.post("Not-A-Type", "upsert", {"inputs": []})
        self.assertEqual((status, body["category"]), (400, "VALIDATION_ERROR"))
        status, _, _ = self.call("POST", f"{BASE}/contacts/batch/upsert", b'{"inputs":[]}',
                                 dict(AUTH, **{"Content-Type": "text/plain"}))
        self.assertEqual(status, 415)

    # ---- authentication ---------------------------------------------------------------

    def test_bad_or_missing_token_is_401(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic pat-na1-good"}):
            with self.subTest(headers=headers):
                status, _, body = self.post("contacts", "upsert", {"inputs": []}, headers)
                self.assertEqual(status, 401)
                self.assertEqual((body["status"], body["category"]), ("error", "INVALID_AUTHENTICATION"))
                self.assertIn("message", body)

    def test_unauthorized_option_refuses_the_good_token(self):
        self.configure({"type": "hubspot", "access_token": "pat-na1-good", "unauthorized": True})
        status, _, body = self.post("contacts", "upsert", {"inputs": []})
        self.assertEqual((status, body["category"]), (401, "INVALID_AUTHENTICATION"))

    def test_any_token_without_the_option(self):
        self.configure({"type": "hubspot"})
        status, _, _ = self.post("contacts", "upsert", {"inputs": []}, {"Authorization": "Bearer x"})
        self.assertEqual(status, 200)

    # ---- rate limits ------------------------------------------------------------------

    def test_rate_limit_without_retry_after(self):
        self.configure({"type": "hubspot", "access_token": "pat-na1-good",
                        "rate_limit": {"requests": 2, "window_s": 10}})
        remaining = []
        for _ in range(2):
            status, headers, _ = self.post("contacts", "upsert", {"inputs": []})
            self.assertEqual(status, 200)
            remaining.append(headers["x-hubspot-ratelimit-remaining"])
        self.assertEqual(remaining, ["1", "0"])
        self.assertEqual(headers["x-hubspot-ratelimit-max"], "2")
        self.assertEqual(headers["x-hubspot-ratelimit-interval-milliseconds"], "10000")
        status, headers, body = self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com")]})
        self.assertEqual(status, 429)
        self.assertEqual((body["status"], body["errorType"], body["policyName"]),
                         ("error", "RATE_LIMIT", "SECONDLY"))
        self.assertNotIn("retry-after", headers)
        self.assertEqual(headers["x-hubspot-ratelimit-remaining"], "0")
        self.assertNotIn("contacts", self.state()["objects"])

    def test_rate_limit_with_retry_after_and_recovery(self):
        self.configure({"type": "hubspot", "access_token": "pat-na1-good",
                        "rate_limit": {"requests": 1, "window_s": 0.5, "retry_after": 1}})
        self.assertEqual(self.post("contacts", "upsert", {"inputs": []})[0], 200)
        status, headers, _ = self.post("contacts", "upsert", {"inputs": []})
        self.assertEqual((status, headers.get("retry-after")), (429, "1"))
        time.sleep(0.6)
        self.assertEqual(self.post("contacts", "upsert", {"inputs": []})[0], 200)

    def test_state_needs_no_token(self):
        self.configure({"type": "hubspot", "access_token": "t", "unauthorized": True})
        status, _, body = self.call("GET", "/__vendor/state")
        self.assertEqual((status, body), (200, {"objects": {}, "archived": {}}))

    def test_recorded_answer_source(self):
        self.post("contacts", "upsert", {"inputs": []})
        self.assertEqual(self.recorded()[-1]["answer_from"], "vendor:hubspot")

    # ---- delayed answers ---------------------------------------------------

    def test_delay_holds_the_answer_after_the_work_is_done(self):
        self.configure({"type": "hubspot", "access_token": "pat-na1-good",
                        "delay_ms": {f"{BASE}/contacts/batch/upsert": [300]}})
        started = time.monotonic()
        status, _, _ = self.post("contacts", "upsert", {"inputs": [upsert_input("a@x.com")]})
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(status, 200)
        self.assertEqual(len(self.state()["objects"]["contacts"]), 1)
        self.post("contacts", "upsert", {"inputs": [upsert_input("b@x.com")]})
        self.assertEqual([r["delay_ms"] for r in self.recorded() if r["path"].endswith("/upsert")], [300, 0])

    def test_delay_option_errors(self):
        for bad in ([100], {"crm/v3": 1}, {"/crm/v3": -1}):
            status, _, _ = self.call("POST", "/_mock/config", {"vendor": {"type": "hubspot", "delay_ms": bad}})
            self.assertEqual(status, 400, bad)


if __name__ == "__main__":
    unittest.main()
