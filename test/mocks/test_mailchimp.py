"""The Mailchimp mock (test/mocks/mailchimp.py) answers as Mailchimp documents."""

import base64
import hashlib
import unittest

import testing


def basic(key, user="anystring"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


AUTH = basic("k1-us6")
ADA_HASH = hashlib.md5(b"ada@example.com").hexdigest()


class MailchimpTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "mailchimp", "data_center": "us6", "audience_id": "aud1"})

    def subscribe(self, members, update_existing=True, headers=AUTH, audience="aud1"):
        return self.call("POST", f"/3.0/lists/{audience}", {"members": members, "update_existing": update_existing},
                         headers)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]["lists"]

    def test_batch_subscribe_creates_updates_and_archives(self):
        status, _, body = self.subscribe([{"email_address": "Ada@Example.com", "status": "subscribed",
                                           "merge_fields": {"FNAME": "Ada"}}])
        self.assertEqual(status, 200)
        self.assertEqual((body["total_created"], body["total_updated"], body["error_count"], body["errors"]),
                         (1, 0, 0, []))
        self.assertEqual(body["new_members"][0]["id"], ADA_HASH)
        self.assertEqual(body["new_members"][0]["email_address"], "Ada@Example.com")
        status, _, body = self.subscribe([{"email_address": "ada@example.com", "status": "unsubscribed",
                                           "merge_fields": {"LNAME": "L"}}])
        self.assertEqual((status, body["total_created"], body["total_updated"]), (200, 0, 1))
        member = self.state()["aud1"][ADA_HASH]
        self.assertEqual((member["status"], member["merge_fields"]), ("unsubscribed", {"FNAME": "Ada", "LNAME": "L"}))
        status, _, body = self.call("DELETE", f"/3.0/lists/aud1/members/{ADA_HASH}", None, AUTH)
        self.assertEqual((status, body), (204, None))
        self.assertEqual(self.state()["aud1"][ADA_HASH]["status"], "archived")
        status, headers, body = self.call("DELETE", f"/3.0/lists/aud1/members/{ADA_HASH}", None, AUTH)
        self.assertEqual((status, body["title"], headers["content-type"]),
                         (404, "Resource Not Found", "application/problem+json"))

    def test_member_errors_answer_200_by_email(self):
        self.configure({"type": "mailchimp", "reject": {"no@example.com": "no@example.com was permanently deleted"}})
        self.subscribe([{"email_address": "old@example.com", "status": "subscribed"}])
        status, _, body = self.subscribe([{"email_address": "ok@example.com", "status": "subscribed"},
                                          {"email_address": "bad@example", "status": "subscribed"},
                                          {"email_address": "no@example.com", "status": "subscribed"},
                                          {"email_address": "new@example.com"},
                                          {"email_address": "old@example.com", "status": "pending"}],
                                         update_existing=False)
        self.assertEqual(status, 200)
        self.assertEqual([m["email_address"] for m in body["new_members"]], ["ok@example.com"])
        self.assertEqual([(e["email_address"], e["error_code"]) for e in body["errors"]],
                         [("bad@example", "ERROR_GENERIC"), ("no@example.com", "ERROR_GENERIC"),
                          ("new@example.com", "ERROR_GENERIC"), ("old@example.com", "ERROR_CONTACT_EXISTS")])
        self.assertEqual(body["errors"][0]["error"],
                         "bad@example looks fake or invalid, please enter a real email address.")
        self.assertEqual(body["errors"][1]["error"], "no@example.com was permanently deleted")
        self.assertEqual(body["error_count"], 4)

    def test_basic_auth_with_the_data_centers_key(self):
        for headers in ({}, basic("k1-us7"), basic("k1"), {"Authorization": "Bearer k1-us6"}):
            status, headers_, body = self.subscribe([], headers=headers)
            self.assertEqual((status, body["title"], body["status"]), (401, "API Key Invalid", 401))
            self.assertEqual(sorted(body), ["detail", "instance", "status", "title", "type"])
            self.assertEqual(headers_["content-type"], "application/problem+json")
        self.assertEqual(self.subscribe([], headers=basic("k1-us6", user=""))[0], 200)
        self.configure({"type": "mailchimp", "unauthorized": True})
        self.assertEqual(self.subscribe([])[0], 401)

    def test_request_shapes(self):
        self.assertEqual(self.subscribe([], audience="other")[0], 404)
        status, _, body = self.call("POST", "/3.0/lists/aud1", {"members": {}}, AUTH)
        self.assertEqual((status, body["title"]), (400, "Invalid Resource"))
        status, _, body = self.call("POST", "/3.0/lists/aud1", {"members": [], "update_existing": "true"}, AUTH)
        self.assertEqual((status, body["title"]), (400, "Invalid Resource"))
        members = [{"email_address": f"u{i}@example.com", "status": "subscribed"} for i in range(501)]
        self.assertEqual(self.subscribe(members)[0], 400)
        self.assertEqual(self.call("PUT", "/3.0/lists/aud1", {"members": []}, AUTH)[0], 405)
        self.assertEqual(self.call("POST", f"/3.0/lists/aud1/members/{ADA_HASH}", {}, AUTH)[0], 405)
        self.assertEqual(self.call("POST", "/lists/aud1", {"members": []}, AUTH)[0], 404)

    def test_rate_limit_answers_429(self):
        self.configure({"type": "mailchimp", "rate_limit": {"requests": 1, "window_s": 60, "retry_after": 2}})
        self.assertEqual(self.subscribe([])[0], 200)
        status, headers, body = self.subscribe([])
        self.assertEqual((status, headers["retry-after"], body["title"], body["status"]),
                         (429, "2", "Too Many Requests", 429))


if __name__ == "__main__":
    unittest.main()
