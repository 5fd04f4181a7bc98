"""answer_only (test/mocks/base.py): the quick answers bench/vendors.py uses are
the answers the checking mocks give the same valid requests, status, body and
vendor headers alike, so a benchmark against them makes the product do the
same work on each answer."""

import base64
import json
import unittest
from urllib.parse import urlencode

import testing

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SF_API = "/services/data/v59.0"
SF_AUTH = {"Authorization": "Bearer good-token"}


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sf_contact(ext):
    return {"attributes": {"type": "Contact"}, "Ext__c": ext, "LastName": f"Ng {ext}"}


# (vendor options, method, target, body, headers, vendor headers to compare)
CASES = {
    "amplitude identify": (
        {"type": "amplitude", "api_key": "k"}, "POST", "/identify",
        urlencode({"api_key": "k", "identification": json.dumps(
            [{"user_id": "user-00001", "user_properties": {"$set": {"plan": "pro"}}}])}), FORM, ()),
    "braze users/track": (
        {"type": "braze", "api_key": "k"}, "POST", "/users/track",
        {"attributes": [{"external_id": "u1", "plan": "pro"}, {"external_id": "u2", "plan": "free"}]},
        {"Authorization": "Bearer k"}, ()),
    "customerio batch": (
        {"type": "customerio", "site_id": "s", "api_key": "k"}, "POST", "/api/v2/batch",
        {"batch": [{"type": "person", "action": "identify", "identifiers": {"id": "p1"},
                    "attributes": {"plan": "pro"}}]}, basic("s", "k"), ()),
    "mailchimp batch subscribe": (
        {"type": "mailchimp", "api_key": "key-us6"}, "POST", "/3.0/lists/aud1",
        {"members": [{"email_address": "ann@one.example", "status": "subscribed", "merge_fields": {"FNAME": "Ann"}},
                     {"email_address": "Bo@Two.example", "status": "pending", "language": "fr"}],
         "update_existing": True},
        basic("any", "key-us6"), ()),
    # Members of an address and a status only: the answer written as text.
    "mailchimp batch subscribe, address and status": (
        {"type": "mailchimp", "api_key": "key-us6"}, "POST", "/3.0/lists/aud1",
        {"members": [{"email_address": "Zo\u00eb.\"q\"@one.example", "status": "subscribed"},
                     {"status": "pending", "email_address": "Bo@Two.example"}]},
        basic("any", "key-us6"), ()),
    "mixpanel engage": (
        {"type": "mixpanel", "project_token": "t"}, "POST", "/engage?strict=1",
        [{"$token": "t", "$distinct_id": "u1", "$set": {"plan": "pro"}},
         {"$token": "t", "$distinct_id": "u2", "$set": {"plan": "free"}}], {}, ()),
    "mixpanel engage verbose": (
        {"type": "mixpanel", "project_token": "t"}, "POST", "/engage?strict=1&verbose=1",
        [{"$token": "t", "$distinct_id": "u1", "$set": {"plan": "pro"}}], {}, ()),
    "salesforce upsert": (
        {"type": "salesforce", "access_token": "good-token"}, "PATCH",
        f"{SF_API}/composite/sobjects/Contact/Ext__c",
        {"allOrNone": False, "records": [sf_contact("e1"), sf_contact("e2"), sf_contact("e3")]},
        SF_AUTH, ("sforce-limit-info",)),
}


class AnswerOnlyTest(testing.MockServerCase):

    def answer(self, options, method, target, body, headers):
        self.call("POST", "/_mock/reset")
        self.configure(options)
        return self.call(method, target, body, headers)

    def test_quick_answers_are_the_checking_mocks_answers(self):
        for name, (options, method, target, body, headers, vendor_headers) in CASES.items():
            with self.subTest(name):
                checked = self.answer(options, method, target, body, headers)
                quick = self.answer(dict(options, answer_only=True), method, target, body, headers)
                self.assertIn(checked[0], (200, 201), checked)
                self.assertEqual(quick[0], checked[0])
                self.assertEqual(quick[2], checked[2])
                for header in vendor_headers + ("content-type",):
                    self.assertEqual(quick[1].get(header), checked[1].get(header), header)

    def test_amplitude_events_count_what_was_sent(self):
        options = {"type": "amplitude", "api_key": "k", "answer_only": True}
        events = [{"event_type": "e", "user_id": "user-00001", "insert_id": str(i)} for i in range(3)]
        status, _, body = self.answer(options, "POST", "/2/httpapi", {"api_key": "k", "events": events}, {})
        self.assertEqual((status, body["code"], body["events_ingested"]), (200, 200, 3))

    def test_answer_only_keeps_nothing(self):
        options, method, target, body, headers, _ = CASES["braze users/track"]
        self.answer(dict(options, answer_only=True), method, target, body, headers)
        self.assertEqual(self.call("GET", "/__vendor/state")[2], {"users": {}})

    def test_a_mock_without_quick_answers_refuses_the_option(self):
        status, _, body = self.call("POST", "/_mock/config",
                                    {"vendor": {"type": "hubspot", "access_token": "t", "answer_only": True}})
        self.assertEqual(status, 400)
        self.assertIn("no quick answers", json.dumps(body))


if __name__ == "__main__":
    unittest.main()
