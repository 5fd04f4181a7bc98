"""unittest support for the vendor mocks: a real mock server process on a free
port of 127.0.0.1, configured and called over HTTP as the extension would.

    class HubSpotTest(testing.MockServerCase):
        def test_upsert(self):
            self.configure({"type": "hubspot", "access_token": "t"})
            status, headers, body = self.call("POST", "/crm/v3/objects/contacts/batch/upsert",
                                              {"inputs": [...]}, {"Authorization": "Bearer t"})

Run them all with: python3 -m unittest discover -s test/mocks -p 'test_*.py'
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(os.path.dirname(HERE), "mock_destination.py")


class MockServerCase(unittest.TestCase):
    """Starts one mock server for the test class; each test resets it."""

    @classmethod
    def setUpClass(cls):
        cls.server = subprocess.Popen([sys.executable, MOCK, "--port", "0", "--log", os.devnull],
                                      stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        if not line.startswith("listening on "):
            cls.server.kill()
            raise RuntimeError(f"the mock did not start: {line!r}")
        cls.base = "http://" + line.split()[-1]

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(10)
        cls.server.stdout.close()

    def setUp(self):
        self.call("POST", "/_mock/reset")

    def configure(self, vendor, **config):
        """Makes the mock speak `vendor` ({"type": ..., options}); extra config keys
        (script, records...) go alongside."""
        status, _, body = self.call("POST", "/_mock/config", dict(config, vendor=vendor))
        if status != 200:
            raise AssertionError(f"config refused: {body!r}")

    def call(self, method, target, body=None, headers=None):
        """One request; returns (status, lower-case headers, body as JSON when it
        parses, else as text). `body` may be bytes, text, or a JSON value."""
        data = None
        headers = dict(headers or {})
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + target, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return self._result(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return self._result(error.code, error.headers, error.read())

    @staticmethod
    def _result(status, headers, raw):
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, {k.lower(): v for k, v in headers.items()}, parsed

    def recorded(self):
        return self.call("GET", "/_mock/requests")[2]
