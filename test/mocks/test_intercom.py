"""The intercom vendor mock answers as Intercom's REST API does."""

import time
import unittest

import testing

AUTH = {"Authorization": "Bearer tok", "Intercom-Version": "2.14"}


class IntercomTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "intercom", "access_token": "tok"})

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def create(self, **body):
        return self.call("POST", "/contacts", body, AUTH)

    def search(self, field, value):
        return self.call("POST", "/contacts/search",
                         {"query": {"field": field, "operator": "=", "value": value}}, AUTH)

    # ---- contacts ----------------------------------------------------------

    def test_create_search_update_delete(self):
        status, headers, body = self.create(external_id="u1", email="Ann@x.io", name="Ann",
                                            custom_attributes={"plan": "pro"})
        self.assertEqual(status, 200)
        self.assertEqual((body["type"], body["role"], body["external_id"]), ("contact", "user", "u1"))
        contact_id = body["id"]
        self.assertEqual(headers["x-ratelimit-limit"], "1666")
        status, _, found = self.search("external_id", "u1")
        self.assertEqual((status, found["type"], found["total_count"]), (200, "list", 1))
        self.assertEqual(found["data"][0]["id"], contact_id)
        self.assertEqual(self.search("email", "ann@X.io")[2]["total_count"], 1)
        self.assertEqual(self.search("external_id", "nobody")[2]["data"], [])
        status, _, updated = self.call("PUT", f"/contacts/{contact_id}",
                                       {"name": "Ann B", "custom_attributes": {"seats": 3}}, AUTH)
        self.assertEqual((status, updated["name"]), (200, "Ann B"))
        self.assertEqual(updated["custom_attributes"], {"plan": "pro", "seats": 3})
        status, _, deleted = self.call("DELETE", f"/contacts/{contact_id}", None, AUTH)
        self.assertEqual((status, deleted), (200, {"id": contact_id, "external_id": "u1", "type": "contact",
                                                   "deleted": True}))
        self.assertEqual(self.state()["contacts"], {})
        status, _, missing = self.call("DELETE", f"/contacts/{contact_id}", None, AUTH)
        self.assertEqual(status, 404)
        self.assertEqual(missing["errors"], [{"code": "not_found", "message": "User Not Found"}])

    def test_a_duplicate_create_is_a_conflict_naming_the_contact(self):
        contact_id = self.create(external_id="u1")[2]["id"]
        status, _, body = self.create(external_id="u1", name="again")
        self.assertEqual(status, 409)
        self.assertEqual(body["type"], "error.list")
        self.assertEqual(body["errors"], [{"code": "conflict", "message":
                                           f"A contact matching those details already exists with id={contact_id}"}])
        self.assertEqual(self.create(email="x@y.io")[0], 200)
        self.assertEqual(self.create(email="X@Y.IO")[0], 409)

    def test_bad_bodies_are_refused(self):
        self.assertEqual(self.create(name="no id")[2]["errors"][0]["code"], "parameter_not_found")
        self.assertEqual(self.create(role="lead", name="anon")[0], 200)   # a lead needs no id
        status, _, body = self.create(external_id="u2", favourite="x")
        self.assertEqual((status, body["errors"][0]["code"]), (400, "parameter_invalid"))
        status, _, body = self.call("PUT", "/contacts/nope", {"name": "x"}, AUTH)
        self.assertEqual(status, 404)
        status, _, _ = self.call("POST", "/contacts", b"{}", dict(AUTH, **{"Content-Type": "text/plain"}))
        self.assertEqual(status, 415)

    def test_custom_attributes_must_exist(self):
        self.configure({"type": "intercom", "custom_attributes": ["plan"]})
        self.assertEqual(self.create(external_id="u1", custom_attributes={"plan": "x"})[0], 200)
        status, _, body = self.create(external_id="u2", custom_attributes={"tier": "x"})
        self.assertEqual((status, body["errors"][0]["message"]), (400, "Custom attribute 'tier' does not exist"))

    def test_reject_option_and_versions(self):
        self.configure({"type": "intercom", "reject": {"u9": "Email address is invalid"}})
        status, _, body = self.create(external_id="u9")
        self.assertEqual((status, body["errors"][0]), (400, {"code": "parameter_invalid",
                                                             "message": "Email address is invalid"}))
        status, _, body = self.call("POST", "/contacts", {"external_id": "u1"},
                                    {"Authorization": "Bearer t", "Intercom-Version": "9.9"})
        self.assertEqual((status, body["errors"][0]["code"]), (400, "intercom_version_invalid"))

    # ---- companies ---------------------------------------------------------

    def test_companies_are_created_or_updated_by_company_id(self):
        status, _, body = self.call("POST", "/companies", {"company_id": "acme", "name": "Acme", "size": 5}, AUTH)
        self.assertEqual((status, body["type"], body["company_id"]), (200, "company", "acme"))
        status, _, again = self.call("POST", "/companies", {"company_id": "acme", "plan": "pro"}, AUTH)
        self.assertEqual((again["id"], again["name"], again["plan"]), (body["id"], "Acme", "pro"))
        self.assertEqual(self.call("POST", "/companies", {"name": "x"}, AUTH)[0], 400)
        self.assertEqual(list(self.state()["companies"]), ["acme"])

    # ---- credentials and limits --------------------------------------------

    def test_bad_token(self):
        status, headers, body = self.call("POST", "/contacts", {"external_id": "u1"}, {"Authorization": "Bearer no"})
        self.assertEqual(status, 401)
        self.assertEqual(body["errors"], [{"code": "unauthorized", "message": "Access Token Invalid"}])
        self.assertNotIn("x-ratelimit-limit", headers)

    def test_rate_limit(self):
        self.configure({"type": "intercom", "rate_limit": {"requests": 2, "window_s": 10}})
        answers = [self.create(external_id=f"u{i}") for i in range(3)]
        self.assertEqual([a[0] for a in answers], [200, 200, 429])
        self.assertEqual([a[1]["x-ratelimit-remaining"] for a in answers], ["1", "0", "0"])
        self.assertEqual(answers[2][2]["errors"][0], {"code": "rate_limit_exceeded",
                                                      "message": "Exceeded rate limit of 2 in 10_seconds"})
        self.assertNotIn("retry-after", answers[2][1])
        self.assertAlmostEqual(int(answers[2][1]["x-ratelimit-reset"]), time.time() + 10, delta=2)


if __name__ == "__main__":
    unittest.main()
