"""The segment_profiles vendor mock answers as Segment's Tracking API does for a
Profile space's source."""

import base64
import unittest

import testing


def auth(key):
    return {"Authorization": "Basic " + base64.b64encode((key + ":").encode()).decode()}


class SegmentProfilesTest(testing.MockServerCase):

    def setUp(self):
        super().setUp()
        self.configure({"type": "segment_profiles", "write_key": "wk"})

    def batch(self, events, key="wk"):
        return self.call("POST", "/v1/batch", {"batch": events}, auth(key))

    def state(self):
        return self.call("GET", "/__vendor/state")[2]

    def test_identify_and_group_build_profiles(self):
        status, _, body = self.batch([
            {"type": "identify", "userId": "u1", "groupId": "a1", "traits": {"plan": "pro"}},
            {"type": "group", "userId": "u1", "groupId": "a1", "traits": {"name": "Acme"}}])
        self.assertEqual((status, body), (200, {"success": True}))
        status, _, _ = self.call("POST", "/v1/identify", {"userId": "u1", "traits": {"seats": 3}}, auth("wk"))
        self.assertEqual(status, 200)
        state = self.state()
        self.assertEqual(state["users"], {"u1": {"traits": {"plan": "pro", "seats": 3}, "groups": ["a1"]}})
        self.assertEqual(state["accounts"], {"a1": {"traits": {"name": "Acme"}}})
        self.assertEqual([e["type"] for e in state["events"]], ["identify", "group", "identify"])

    def test_an_unknown_write_key_is_answered_200_and_dropped(self):
        self.assertEqual(self.batch([{"type": "identify", "userId": "u1"}], key="other")[::2],
                         (200, {"success": True}))
        self.assertEqual((self.state()["users"], self.state()["dropped"]), ({}, 1))
        status, _, body = self.call("POST", "/v1/batch", {"batch": []})
        self.assertEqual((status, body["code"]), (400, "invalid_request"))

    def test_bad_events_refuse_the_whole_request(self):
        for event, words in (({"type": "identify"}, "userId or anonymousId"),
                             ({"type": "group", "userId": "u1"}, "groupId"),
                             ({"type": "track", "userId": "u1", "event": "x"}, "identify or group"),
                             ({"type": "identify", "userId": "u1", "traits": {"x": "y" * 40000}}, "32KB")):
            status, _, body = self.batch([{"type": "identify", "userId": "ok"}, event])
            self.assertEqual((status, body["success"]), (400, False))
            self.assertIn(words, body["message"])
        self.assertEqual(self.state()["events"], [])
        self.assertEqual(self.call("POST", "/v1/batch", "not json", auth("wk"))[0], 400)
        self.assertEqual(self.batch([{"type": "identify", "userId": "u"}] * 2501)[0], 400)

    def test_reject_rate_limit_unauthorized(self):
        self.configure({"type": "segment_profiles", "reject": {"bad": "event refused"},
                        "rate_limit": {"requests": 2, "window_s": 60, "retry_after": 3}})
        self.assertEqual(self.batch([{"type": "identify", "userId": "bad"}])[::2],
                         (400, {"success": False, "code": "invalid_request", "message": "event refused"}))
        self.assertEqual(self.batch([{"type": "identify", "userId": "ok"}])[0], 200)
        status, headers, body = self.batch([{"type": "identify", "userId": "ok"}])
        self.assertEqual((status, body["code"], headers["retry-after"]), (429, "rate_limited", "3"))
        self.configure({"type": "segment_profiles", "unauthorized": True})
        status, _, body = self.batch([{"type": "identify", "userId": "ok"}])
        self.assertEqual((status, body["code"]), (401, "unauthorized"))


if __name__ == "__main__":
    unittest.main()
