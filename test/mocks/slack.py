"""Slack incoming webhook mock (type `slack`), as Slack documents incoming
webhooks (sources in docs/destinations/slack.md).

    POST /services/<team>/<bot>/<secret>   {"text": "...", "blocks": [...]}
    GET  /__vendor/state (no real API has it) -> the messages posted, for tests

The webhook URL is the credential: with option `secret` only that last path
segment is accepted; without it any non-empty one is. A URL that is no webhook
(or a wrong secret) gets 403 "invalid_token"; option `revoked` answers 404
"no_service" (the webhook was removed or disabled), option `archived` 410
"channel_is_archived", option `channel_missing` 404 "channel_not_found".

Answers are plain text, as Slack's are: 200 "ok"; 400 "invalid_payload" (not a
JSON object, or text / blocks of the wrong type), 400 "no_text" (neither a
non-empty text nor blocks), 400 "invalid_blocks" (a block without a "type").

Common options (test/mocks/base.py): `reject` keys are the message's text:
such a message gets 400 with the option's message as its body (Slack's words:
"invalid_blocks", "user_not_found"...). `rate_limit` -> 429 "rate_limited" with
Retry-After (Slack always sends one; 1 when the test gives none).
`unauthorized` -> 403 "invalid_token".
"""

import re

from mocks.base import VendorMock, answer

WEBHOOK = re.compile(r"^/services/([A-Za-z0-9]+)/([A-Za-z0-9]+)/([A-Za-z0-9]+)$")
TEXT = {"Content-Type": "text/html"}   # Slack answers webhooks as text/html


class Mock(VendorMock):
    TYPE = "slack"
    OPTIONS = {"secret": "the only webhook secret accepted (the URL's last segment; default: any)",
               "revoked": "true: the webhook was removed (404 no_service)",
               "archived": "true: its channel was archived (410 channel_is_archived)",
               "channel_missing": "true: its channel was deleted (404 channel_not_found)"}

    def __init__(self, options):
        super().__init__(options)
        if "secret" in options and not (isinstance(options["secret"], str) and options["secret"]):
            raise ValueError("secret: must be a non-empty string")
        self.messages = []

    def handle(self, request):
        if request.method == "GET" and request.path == "/__vendor/state":
            return answer(200, {"messages": self.messages})
        match = WEBHOOK.match(request.path)
        if request.method != "POST":
            return answer(405, "invalid_method", TEXT)
        if match is None or self.unauthorized or self.options.get("secret", match.group(3)) != match.group(3):
            return answer(403, "invalid_token", TEXT)
        if self.options.get("revoked") is True:
            return answer(404, "no_service", TEXT)
        if self.options.get("channel_missing") is True:
            return answer(404, "channel_not_found", TEXT)
        if self.options.get("archived") is True:
            return answer(410, "channel_is_archived", TEXT)
        if self.over_rate_limit():
            headers = dict(TEXT, **(self.retry_after_headers() or {"Retry-After": "1"}))
            return answer(429, "rate_limited", headers)
        message = request.json()
        if not isinstance(message, dict):
            return answer(400, "invalid_payload", TEXT)
        text, blocks = message.get("text"), message.get("blocks")
        if (text is not None and not isinstance(text, str)) or (blocks is not None and not isinstance(blocks, list)):
            return answer(400, "invalid_payload", TEXT)
        if not text and not blocks:
            return answer(400, "no_text", TEXT)
        if blocks and not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
            return answer(400, "invalid_blocks", TEXT)
        rejected = self.rejection(text)
        if rejected is not None:
            return answer(400, rejected, TEXT)
        self.messages.append({k: v for k, v in message.items() if k in ("text", "blocks")})
        return answer(200, "ok", TEXT)
