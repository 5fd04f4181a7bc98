"""The slack vendor mock answers as Slack's incoming webhooks do."""

import unittest

import testing

HOOK = "/services/T0001/B0002/sekrit"


class SlackTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "slack", "secret": "sekrit"})

    def post(self, body, path=HOOK):
        return self.call("POST", path, body)

    def test_a_message_is_posted(self):
        status, headers, body = self.post({"text": "hello", "blocks": [{"type": "divider"}]})
        self.assertEqual((status, body), (200, "ok"))
        self.assertTrue(headers["content-type"].startswith("text/"))
        self.assertEqual(self.call("GET", "/__vendor/state")[2],
                         {"messages": [{"text": "hello", "blocks": [{"type": "divider"}]}]})

    def test_bad_messages(self):
        self.assertEqual(self.post("not json"), (400, self.post("not json")[1], "invalid_payload"))
        self.assertEqual(self.post({"text": ""})[2], "no_text")
        self.assertEqual(self.post({"text": 5})[2], "invalid_payload")
        self.assertEqual(self.post({"text": "x", "blocks": [{"text": "no type"}]})[2], "invalid_blocks")
        self.assertEqual(self.post({"blocks": [{"type": "divider"}]})[0], 200)   # blocks alone will do

    def test_the_url_is_the_credential(self):
        self.assertEqual(self.post({"text": "x"}, "/services/T0001/B0002/wrong")[::2], (403, "invalid_token"))
        self.assertEqual(self.post({"text": "x"}, "/hooks")[::2], (403, "invalid_token"))
        for option, expected in (("revoked", (404, "no_service")), ("archived", (410, "channel_is_archived")),
                                 ("channel_missing", (404, "channel_not_found"))):
            self.configure({"type": "slack", option: True})
            self.assertEqual(self.post({"text": "x"})[::2], expected)

    def test_reject_and_rate_limit(self):
        self.configure({"type": "slack", "reject": {"bad": "user_not_found"},
                        "rate_limit": {"requests": 2, "window_s": 60}})
        self.assertEqual(self.post({"text": "bad"})[::2], (400, "user_not_found"))
        self.assertEqual(self.post({"text": "ok"})[0], 200)
        status, headers, body = self.post({"text": "ok"})
        self.assertEqual((status, body, headers["retry-after"]), (429, "rate_limited", "1"))


if __name__ == "__main__":
    unittest.main()
