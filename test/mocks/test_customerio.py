"""The Customer.io mock (test/mocks/customerio.py) answers as Customer.io documents."""

import base64
import unittest

import testing


def basic(site_id, api_key):
    token = base64.b64encode(f"{site_id}:{api_key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic("site1", "key1")


def identify(ident, **attributes):
    return {"type": "person", "action": "identify", "identifiers": {"id": ident},
            "attributes": attributes}


def event(ident, name="Signed Up", **fields):
    return dict({"type": "person", "action": "event", "identifiers": {"id": ident}, "name": name},
                **fields)


def delete(ident):
    return {"type": "person", "action": "delete", "identifiers": {"id": ident}}


class CustomerIoTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "customerio", "site_id": "site1", "api_key": "key1"})

    def batch(self, items, headers=AUTH):
        return self.call("POST", "/api/v2/batch", {"batch": items}, headers)

    def people(self):
        return self.call("GET", "/__vendor/state")[2]["people"]

    # ---- success and stored state --------------------------------------------

    def test_identify_event_delete(self):
        status, _, body = self.batch([identify("42", first_name="Ada", plan="pro"),
                                      event("42", attributes={"price": 3}, timestamp=1700000000),
                                      identify("43"), delete("43")])
        self.assertEqual((status, body), (200, {}))
        people = self.people()
        self.assertEqual(list(people), ["42"])
        self.assertEqual(people["42"]["attributes"], {"first_name": "Ada", "plan": "pro"})
        self.assertEqual(people["42"]["events"],
                         [{"name": "Signed Up", "timestamp": 1700000000, "attributes": {"price": 3}}])
        self.assertRegex(people["42"]["cio_id"], r"^[0-9a-f]{8}$")

    def test_attributes_merge_and_empty_removes(self):
        self.batch([identify("42", first_name="Ada", city="Paris", plan="free")])
        self.batch([identify("42", city=None, plan="", email="ada@example.com")])
        person = self.people()["42"]
        self.assertEqual(person["attributes"], {"first_name": "Ada", "email": "ada@example.com"})
        # The email attribute now names the same person.
        self.batch([{"type": "person", "action": "identify",
                     "identifiers": {"email": "ada@example.com"}, "attributes": {"vip": True}}])
        self.assertEqual(self.people()["42"]["attributes"]["vip"], True)

    def test_lookups_follow_email_changes_and_deletions(self):
        by_email = lambda e, **a: {"type": "person", "action": "identify",  # noqa: E731
                                   "identifiers": {"email": e}, "attributes": a}
        self.batch([identify("1", email="a@example.com"), identify("2", email="a@example.com")])
        # Two people with one email: the first created is the one it names.
        self.batch([by_email("a@example.com", vip=True)])
        self.assertEqual(self.people()["1"]["attributes"].get("vip"), True)
        self.assertNotIn("vip", self.people()["2"]["attributes"])
        # Person 1 moves to another email: the old one now names person 2 only.
        self.batch([identify("1", email="b@example.com"), by_email("a@example.com", plan="pro"),
                    by_email("b@example.com", plan="team")])
        self.assertEqual(self.people()["2"]["attributes"]["plan"], "pro")
        self.assertEqual(self.people()["1"]["attributes"]["plan"], "team")
        # A deleted person is found by none of its identifiers any more.
        self.batch([delete("1"), by_email("b@example.com", plan="new")])
        people = self.people()
        self.assertEqual(sorted(people), ["2", "b@example.com"])
        self.assertEqual(people["b@example.com"]["attributes"], {"plan": "new"})
        self.assertNotEqual(people["b@example.com"]["cio_id"], people["2"]["cio_id"])

    def test_a_large_batch_stream_stays_fast(self):
        # 30,000 people in 30 batches: ~2 s; a lookup scanning everyone took
        # ~18 s here (and minutes for the 100,000 bench/ sends).
        import time
        started = time.monotonic()
        for b in range(30):
            status, _, _ = self.batch([identify(str(b * 1000 + i), plan="pro") for i in range(1000)])
            self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(len(self.people()), 30000)

    def test_event_ids_deduplicate(self):
        ulid = "01HZY8K5R4Q0W3E6T9Y2X5V8M1"
        status, _, _ = self.batch([event("42", id=ulid), event("42", id=ulid), event("42")])
        self.assertEqual(status, 200)
        self.assertEqual(len(self.people()["42"]["events"]), 2)

    def test_cio_id_names_an_existing_person_only(self):
        self.batch([identify("42")])
        cio_id = self.people()["42"]["cio_id"]
        status, _, body = self.batch([
            {"type": "person", "action": "identify", "identifiers": {"cio_id": cio_id},
             "attributes": {"plan": "pro"}},
            {"type": "person", "action": "identify", "identifiers": {"cio_id": "ffffffff"}}])
        self.assertEqual(status, 207)
        self.assertEqual(body["errors"], [{"batch_index": 1, "reason": "not_found",
                                           "field": "identifiers.cio_id",
                                           "message": "no person with cio_id ffffffff"}])
        self.assertEqual(self.people()["42"]["attributes"], {"plan": "pro"})

    # ---- per-item failures --------------------------------------------------

    def test_invalid_items_fail_one_by_one(self):
        status, _, body = self.batch([
            identify("42"),
            {"type": "person", "action": "identify"},
            event("42", name=None),
            event("42", timestamp="yesterday"),
            identify("x" * 151),
            identify("43", note="y" * 1001),
            event("44", name="n" * 101),
            event("45", id="not-a-ulid"),
        ])
        self.assertEqual(status, 207)
        self.assertEqual([(e["batch_index"], e["reason"], e["field"]) for e in body["errors"]], [
            (1, "required", "identifiers"), (2, "required", "name"), (3, "invalid", "timestamp"),
            (4, "invalid", "identifiers.id"), (5, "invalid", "attributes.note"),
            (6, "invalid", "name"), (7, "invalid", "id")])
        self.assertTrue(all(e["message"] for e in body["errors"]))
        self.assertEqual(list(self.people()), ["42"])

    def test_reject_option_fails_those_items_only(self):
        self.configure({"type": "customerio", "reject": {"43": "suppressed", "b@example.com": "no"}})
        status, _, body = self.batch([
            identify("42"), identify("43"),
            {"type": "person", "action": "event", "identifiers": {"email": "b@example.com"},
             "name": "Visit"}])
        self.assertEqual(status, 207)
        self.assertEqual(body, {"errors": [
            {"batch_index": 1, "reason": "invalid", "field": "identifiers", "message": "suppressed"},
            {"batch_index": 2, "reason": "invalid", "field": "identifiers", "message": "no"}]})
        self.assertEqual(list(self.people()), ["42"])

    # ---- shape errors ------------------------------------------------------

    def test_body_over_500kb(self):
        items = [identify(str(i), note="z" * 900) for i in range(600)]
        status, _, body = self.batch(items)
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"][0]["field"], "batch")
        self.assertNotIn("batch_index", body["errors"][0])
        self.assertEqual(self.people(), {})
        self.assertEqual(self.batch(items[:400])[0], 200)

    def test_malformed_body_and_content_type(self):
        status, _, body = self.call("POST", "/api/v2/batch", {"items": []}, AUTH)
        self.assertEqual(status, 400)
        self.assertIn("errors", body)
        status, _, _ = self.call("POST", "/api/v2/batch", b'{"batch":[]}',
                                 dict(AUTH, **{"Content-Type": "text/plain"}))
        self.assertEqual(status, 400)

    def test_unknown_path_and_method(self):
        self.assertEqual(self.call("POST", "/api/v2/entities", {}, AUTH)[0], 404)
        status, headers, _ = self.call("GET", "/api/v2/batch", None, AUTH)
        self.assertEqual((status, headers["allow"]), (405, "POST"))

    # ---- auth --------------------------------------------------------------

    def test_bad_missing_and_forced_credentials(self):
        unauthorized = {"meta": {"error": "Unauthorized request"}}
        self.assertEqual(self.batch([identify("42")], basic("site1", "wrong"))[::2],
                         (401, unauthorized))
        self.assertEqual(self.batch([identify("42")], {})[0], 401)
        self.assertEqual(self.batch([identify("42")], {"Authorization": "Bearer key1"})[0], 401)
        self.configure({"type": "customerio", "unauthorized": True})
        self.assertEqual(self.batch([identify("42")])[::2], (401, unauthorized))
        self.assertEqual(self.people(), {})

    def test_any_credentials_without_options(self):
        self.configure({"type": "customerio"})
        self.assertEqual(self.batch([identify("42")], basic("s", "k"))[0], 200)
        self.assertEqual(self.batch([identify("42")], basic("s", ""))[0], 401)

    # ---- v1 ----------------------------------------------------------------

    def test_v1_identify_and_delete(self):
        self.configure({"type": "customerio", "reject": {"bad": "refused"}})
        status, _, body = self.call("PUT", "/api/v1/customers/42", {"plan": "pro"}, AUTH)
        self.assertEqual((status, body), (200, {}))
        self.call("PUT", "/api/v1/customers/a%40example.com", {"plan": "free"}, AUTH)
        self.assertEqual(self.people()["42"]["attributes"], {"plan": "pro"})
        self.assertIn("a@example.com", self.people())
        self.assertEqual(self.call("DELETE", "/api/v1/customers/42", None, AUTH)[::2], (200, {}))
        self.assertEqual(list(self.people()), ["a@example.com"])
        status, _, body = self.call("PUT", "/api/v1/customers/bad", {"plan": "x"}, AUTH)
        self.assertEqual((status, body), (400, {"meta": {"error": "refused"}}))

    # ---- rate limits -------------------------------------------------------

    def test_rate_limit_without_retry_after(self):
        self.configure({"type": "customerio", "rate_limit": {"requests": 1, "window_s": 60}})
        self.assertEqual(self.batch([identify("42")])[0], 200)
        status, headers, body = self.batch([identify("43")])
        self.assertEqual((status, body), (429, {"meta": {"error": "Too Many Requests"}}))
        self.assertNotIn("retry-after", headers)
        self.assertEqual(list(self.people()), ["42"])

    def test_rate_limit_with_retry_after(self):
        self.configure({"type": "customerio",
                        "rate_limit": {"requests": 0, "window_s": 1, "retry_after": 3}})
        status, headers, _ = self.batch([identify("42")])
        self.assertEqual((status, headers["retry-after"]), (429, "3"))


if __name__ == "__main__":
    unittest.main()
