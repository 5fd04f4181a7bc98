"""The Klaviyo mock (test/mocks/klaviyo.py) answers as Klaviyo documents."""

import unittest
from urllib.parse import urlsplit

import testing

AUTH = {"Authorization": "Klaviyo-API-Key pk_1", "revision": "2025-01-15",
        "Content-Type": "application/vnd.api+json"}


def job_body(*profiles):
    return {"data": {"type": "profile-bulk-import-job",
                     "attributes": {"profiles": {"data": [{"type": "profile", "attributes": p} for p in profiles]}}}}


def event_body(metric, profile, properties=None, **extra):
    attributes = {"properties": properties if properties is not None else {},
                  "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
                  "profile": {"data": {"type": "profile", "attributes": profile}}}
    attributes.update(extra)
    return {"data": {"type": "event", "attributes": attributes}}


class KlaviyoTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "klaviyo", "api_key": "pk_1"})

    def start(self, *profiles, headers=AUTH):
        return self.call("POST", "/api/profile-bulk-import-jobs", job_body(*profiles), headers)

    def job(self, job_id):
        return self.call("GET", f"/api/profile-bulk-import-jobs/{job_id}", None, AUTH)

    def errors(self, target):
        return self.call("GET", target, None, AUTH)

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def test_a_job_completes_after_a_poll_and_lists_its_errors(self):
        status, _, body = self.start({"email": "Ann@x.example", "first_name": "Ann", "properties": {"plan": "pro"}},
                                     {"email": "bad-address"}, {"phone_number": "12"},
                                     {"external_id": "u3", "properties": {"plan": None}})
        self.assertEqual(status, 202)
        job = body["data"]
        self.assertEqual((job["type"], job["attributes"]["status"], job["attributes"]["total_count"]),
                         ("profile-bulk-import-job", "queued", 4))
        self.assertEqual(self.state()["profiles"], {})   # not before the job ran
        status, _, body = self.job(job["id"])
        self.assertEqual((status, body["data"]["attributes"]["status"]), (200, "processing"))
        status, _, body = self.job(job["id"])
        attributes = body["data"]["attributes"]
        self.assertEqual((attributes["status"], attributes["completed_count"], attributes["failed_count"]),
                         ("complete", 2, 2))
        self.assertEqual(self.state()["profiles"],
                         {"ann@x.example": {"email": "Ann@x.example", "first_name": "Ann", "properties": {"plan": "pro"}},
                          "external_id:u3": {"external_id": "u3", "properties": {}}})
        status, _, body = self.errors(f"/api/profile-bulk-import-jobs/{job['id']}/import-errors")
        self.assertEqual(status, 200)
        self.assertEqual([(e["type"], e["attributes"]["detail"], e["attributes"]["original_payload"])
                          for e in body["data"]],
                         [("import-error", "Invalid email address", {"email": "bad-address"}),
                          ("import-error", "Invalid phone number", {"phone_number": "12"})])
        self.assertEqual(body["data"][0]["attributes"]["source"]["pointer"],
                         "/data/attributes/profiles/data/1/attributes/email")
        self.assertIsNone(body["links"]["next"])

    def test_errors_are_paginated_with_absolute_links(self):
        self.configure({"type": "klaviyo", "job_polls": 0, "errors_page_size": 1,
                        "reject": {"u1": "Profile is suppressed"}})
        job_id = self.start({"external_id": "u1"}, {"email": "nope"})[2]["data"]["id"]
        self.assertEqual(self.job(job_id)[2]["data"]["attributes"]["status"], "complete")
        _, _, first = self.errors(f"/api/profile-bulk-import-jobs/{job_id}/import-errors")
        self.assertEqual(first["data"][0]["attributes"]["detail"], "Profile is suppressed")
        next_url = urlsplit(first["links"]["next"])
        self.assertEqual(next_url.scheme + "://" + next_url.netloc, self.base)
        _, _, second = self.errors(next_url.path + "?" + next_url.query)
        self.assertEqual(second["data"][0]["attributes"]["original_payload"], {"email": "nope"})
        self.assertIsNone(second["links"]["next"])

    def test_jobs_that_never_finish_or_are_cancelled(self):
        self.configure({"type": "klaviyo", "job_polls": -1})
        job_id = self.start({"email": "a@x.example"})[2]["data"]["id"]
        for _ in range(5):
            self.assertEqual(self.job(job_id)[2]["data"]["attributes"]["status"], "processing")
        self.assertEqual(self.errors(f"/api/profile-bulk-import-jobs/{job_id}/import-errors")[2]["data"], [])
        self.configure({"type": "klaviyo", "cancel_jobs": True, "job_polls": 0})
        job_id = self.start({"email": "a@x.example"})[2]["data"]["id"]
        self.assertEqual(self.job(job_id)[2]["data"]["attributes"]["status"], "cancelled")
        self.assertEqual(self.state()["profiles"], {})
        self.assertEqual(self.job("job-unknown")[0], 404)

    def test_events(self):
        body = event_body("Placed Order", {"email": "a@x.example"}, {"sku": "A"}, value=9.5, unique_id="m1")
        status, _, answer = self.call("POST", "/api/events", body, AUTH)
        self.assertEqual((status, answer), (202, None))
        self.assertEqual(self.call("POST", "/api/events", body, AUTH)[0], 202)
        self.assertEqual(self.state()["events"],
                         [{"metric": "Placed Order", "profile": "a@x.example", "properties": {"sku": "A"},
                           "value": 9.5, "unique_id": "m1"}])
        status, _, answer = self.call("POST", "/api/events", event_body("X", {"email": "bad"}), AUTH)
        self.assertEqual((status, answer["errors"][0]["detail"]), (400, "Invalid email address"))
        self.assertEqual(self.call("POST", "/api/events", event_body("", {"email": "a@x.example"}), AUTH)[0], 400)
        self.assertEqual(self.call("POST", "/api/events", event_body("X", {}), AUTH)[0], 400)

    def test_refusals(self):
        status, _, body = self.start({"email": "a@x.example"}, headers=dict(AUTH, Authorization="Klaviyo-API-Key x"))
        self.assertEqual((status, body["errors"][0]["code"]), (401, "not_authenticated"))
        self.assertEqual(self.start({"email": "a@x.example"}, headers=dict(AUTH, Authorization="Bearer pk_1"))[0], 401)
        self.assertEqual(self.start({"email": "a@x.example"}, headers={k: v for k, v in AUTH.items()
                                                                        if k != "revision"})[0], 400)
        self.assertEqual(self.start({"email": "a@x.example"}, headers=dict(AUTH, **{"Content-Type": "application/json"}))[0],
                         415)
        status, _, body = self.start({"first_name": "nobody"})
        self.assertEqual((status, body["errors"][0]["source"]["pointer"]),
                         (400, "/data/attributes/profiles/data/0/attributes"))
        self.assertEqual(self.call("POST", "/api/profile-bulk-import-jobs", {"data": []}, AUTH)[0], 400)
        self.assertEqual(self.call("PUT", "/api/profile-bulk-import-jobs", job_body(), AUTH)[0], 405)
        self.assertEqual(self.call("GET", "/api/nothing", None, AUTH)[0], 404)
        self.configure({"type": "klaviyo", "unauthorized": True})
        self.assertEqual(self.start({"email": "a@x.example"})[0], 401)
        self.configure({"type": "klaviyo", "revoke_after": 1})
        job_id = self.start({"email": "a@x.example"})[2]["data"]["id"]
        self.assertEqual(self.job(job_id)[0], 401)

    def test_rate_limit(self):
        self.configure({"type": "klaviyo", "rate_limit": {"requests": 1, "window_s": 60, "retry_after": 1}})
        self.assertEqual(self.start({"email": "a@x.example"})[0], 202)
        status, headers, body = self.start({"email": "a@x.example"})
        self.assertEqual((status, body["errors"][0]["code"], headers.get("retry-after")), (429, "throttled", "1"))


if __name__ == "__main__":
    unittest.main()
