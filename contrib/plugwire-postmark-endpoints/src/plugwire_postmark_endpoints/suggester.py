"""The ``postmark`` suggester: what the catalogue alone cannot say about Postmark.

- A POST to *your* webhook receiver (any host, a path that mentions postmark) gets
  the payload Postmark will send there, chosen by the words in the path (bounce,
  delivery, open, click, spam, subscription, inbound), so the receiver can be tried
  before Postmark is pointed at it.
- A Postmark API URL holding a MessageID (a UUID) or a numeric bounce id gets the
  other lookups for that same message or bounce, with the id filled in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from plugwire import SampleRequest, Suggester, Suggestion
from plugwire_postmark_endpoints.webhooks import PAYLOADS, WORDS

API_HOST = "api.postmarkapp.com"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_HEADERS = {"Accept": "application/json"}

#: Lookups of one outbound message and one bounce: (path template, summary).
MESSAGE_LOOKUPS = [
    ("/messages/outbound/{id}/details", "Outbound message details"),
    ("/messages/outbound/{id}/dump", "Raw source of the message"),
    ("/messages/outbound/opens/{id}", "Opens of the message"),
    ("/messages/outbound/clicks/{id}", "Clicks in the message"),
    ("/bounces?count=50&offset=0&messageID={id}", "Bounces of the message"),
]
BOUNCE_LOOKUPS = [
    ("GET", "/bounces/{id}", "The bounce"),
    ("GET", "/bounces/{id}/dump", "Raw source of the bounce"),
    ("PUT", "/bounces/{id}/activate", "Reactivate the bounced address"),
]


class PostmarkSuggester(Suggester):
    name = "postmark"
    description = "Postmark webhook payloads for your receiver URL; related lookups for a MessageID or bounce id."

    def suggest(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[Suggestion]:
        """Return up to ``limit`` suggestions, best first; an empty list when the URL
        is neither a Postmark webhook receiver nor a Postmark API URL with an id."""
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if (parts.hostname or "").lower() == API_HOST:
            found = self._related(method, parts.path, segments)
        else:
            found = self._webhook(method, url, segments)
        return found[:limit]

    def _webhook(self, method: str, url: str, segments: list[str]) -> list[Suggestion]:
        words = [w for s in segments for w in re.split(r"[-_.]", s.lower()) if w]
        if method != "POST" or "postmark" not in words:
            return []
        kinds = list(dict.fromkeys(WORDS[w] for w in words if w in WORDS))
        if kinds:
            score, why = 0.8, f"the path names Postmark and {', '.join(repr(k) for k in kinds)} webhooks"
        else:
            kinds, score, why = list(PAYLOADS), 0.45, "the path names Postmark but no kind of webhook"
        return [
            Suggestion(
                suggester=self.name,
                score=score,
                reason=f"{why}: this is the {kind} payload Postmark posts to a webhook URL",
                provider="postmark",
                provider_name="Postmark",
                endpoint=f"webhook {kind}",
                summary=f"Postmark {kind} webhook",
                docs_url="https://postmarkapp.com/developer/webhooks/webhooks-overview",
                request=SampleRequest(method="POST", url=url, headers={"Content-Type": "application/json"},
                                      body=PAYLOADS[kind], body_format="json", content_type="application/json"),
            )
            for kind in kinds
        ]

    def _related(self, method: str, path: str, segments: list[str]) -> list[Suggestion]:
        out = []
        ids = [s for s in segments if _UUID.match(s)]
        if ids and segments[:2] == ["messages", "outbound"]:
            for template, summary in MESSAGE_LOOKUPS:
                if template.format(id=ids[0]) != path:
                    out.append(self._lookup("GET", template, ids[0], summary, "MessageID"))
        if len(segments) >= 2 and segments[0] == "bounces" and segments[1].isdigit():
            for verb, template, summary in BOUNCE_LOOKUPS:
                if (verb, template.format(id=segments[1])) != (method, path):
                    out.append(self._lookup(verb, template, segments[1], summary, "bounce"))
        return out

    def _lookup(self, method: str, template: str, id_value: str, summary: str, what: str) -> Suggestion:
        path, _, query = template.format(id=id_value).partition("?")
        params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
        return Suggestion(
            suggester=self.name,
            score=0.5,
            reason=f"the URL holds Postmark {what} {id_value}: {summary.lower()} is another lookup for it",
            provider="postmark",
            provider_name="Postmark",
            endpoint=f"{method} {template.partition('?')[0]}",
            summary=summary,
            request=SampleRequest(method=method, url=f"https://{API_HOST}{path}", headers=dict(_HEADERS), query=params),
        )
