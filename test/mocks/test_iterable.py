"""The Iterable mock (test/mocks/iterable.py) answers as Iterable documents."""

import time
import unittest

import testing

AUTH = {"Api-Key": "key1"}
NO_FAILURES = {name: [] for name in
               ["invalidEmails", "notFoundEmails", "forgottenEmails", "invalidDataEmails", "conflictEmails",
                "invalidUserIds", "notFoundUserIds", "forgottenUserIds", "invalidDataUserIds", "conflictUserIds"]}


class IterableTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "iterable", "api_key": "key1"})

    def users(self, items, headers=AUTH):
        return self.call("POST", "/api/users/bulkUpdate", {"users": items}, headers)

    def events(self, items, headers=AUTH):
        return self.call("POST", "/api/events/trackBulk", {"events": items}, headers)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]["users"]

    def test_upsert_merge_and_delete(self):
        status, _, body = self.users([{"email": "Ann@x.example", "userId": "u1", "dataFields": {"plan": "pro"}}])
        self.assertEqual((status, body), (200, {"successCount": 1, "failCount": 0, "failedUpdates": NO_FAILURES}))
        self.users([{"userId": "u1", "dataFields": {"plan": None, "age": 4}}])
        self.assertEqual(self.state()["ann@x.example"]["dataFields"], {"plan": None, "age": 4})
        status, _, body = self.call("DELETE", "/api/users/byUserId/u1", None, AUTH)
        self.assertEqual((status, body["code"]), (200, "Success"))
        self.assertEqual(self.state(), {})
        self.users([{"email": "b@x.example"}])
        self.assertEqual(self.call("DELETE", "/api/users/b%40x.example", None, AUTH)[0], 200)
        status, _, body = self.call("DELETE", "/api/users/b%40x.example", None, AUTH)
        self.assertEqual((status, body["code"]), (404, "NotFound"))

    def test_partial_failures_answer_200(self):
        self.configure({"type": "iterable", "reject": {"gone@x.example": "forgottenEmails"}})
        status, _, body = self.users([{"email": "ok@x.example"}, {"email": "bad"}, {"userId": "nobody"},
                                      {"email": "gone@x.example"}])
        self.assertEqual(status, 200)
        self.assertEqual((body["successCount"], body["failCount"]), (1, 3))
        self.assertEqual(body["failedUpdates"]["invalidEmails"], ["bad"])
        self.assertEqual(body["failedUpdates"]["notFoundUserIds"], ["nobody"])
        self.assertEqual(body["failedUpdates"]["forgottenEmails"], ["gone@x.example"])
        self.assertEqual(list(self.state()), ["ok@x.example"])

    def test_events_deduplicated_by_id(self):
        event = {"email": "a@x.example", "eventName": "buy", "id": "m1", "createdAt": 1700000000,
                 "dataFields": {"sku": "A"}}
        self.events([event, dict(event, dataFields={"sku": "B"}), {"email": "bad", "eventName": "buy"}])
        status, _, body = self.events([dict(event, dataFields={"sku": "C"})])
        self.assertEqual((status, body["failCount"], body["disallowedEventNames"]), (200, 0, []))
        self.assertEqual(self.state()["a@x.example"]["events"],
                         [{"eventName": "buy", "id": "m1", "createdAt": 1700000000, "dataFields": {"sku": "C"}}])
        self.assertEqual(self.events([{"email": "a@x.example"}])[2]["code"], "BadParams")
        self.assertEqual(self.events([{"email": "a@x.example", "eventName": "e", "createdAt": "2026"}])[0], 400)

    def test_errors(self):
        status, _, body = self.users([{"email": "a@x.example"}], {"Api-Key": "wrong"})
        self.assertEqual((status, body), (401, {"msg": "Invalid API key", "code": "BadApiKey", "params": None}))
        self.assertEqual(self.users([{"email": "a@x.example"}], {})[0], 401)
        self.assertEqual(self.users([{"dataFields": {}}])[2]["code"], "BadParams")
        self.assertEqual(self.call("POST", "/api/users/bulkUpdate", {"people": []}, AUTH)[2]["code"], "BadJsonBody")
        self.assertEqual(self.call("GET", "/api/users/bulkUpdate", None, AUTH)[0], 405)
        self.assertEqual(self.call("POST", "/api/nothing", {}, AUTH)[0], 404)
        self.configure({"type": "iterable", "unauthorized": True})
        self.assertEqual(self.users([{"email": "a@x.example"}])[0], 401)

    def test_rate_limit(self):
        self.configure({"type": "iterable", "rate_limit": {"requests": 1, "window_s": 60, "retry_after": 1},
                        "limited_paths": ["/api/users/bulkUpdate"]})
        self.assertEqual(self.users([{"email": "a@x.example"}])[0], 200)
        status, headers, body = self.users([{"email": "a@x.example"}])
        self.assertEqual((status, body["code"], headers.get("retry-after")), (429, "RateLimitExceeded", "1"))
        self.assertEqual(self.events([{"email": "a@x.example", "eventName": "e"}])[0], 200)

    def test_bad_options(self):
        with self.assertRaises(AssertionError):
            self.configure({"type": "iterable", "api_key": ""})


if __name__ == "__main__":
    unittest.main()
