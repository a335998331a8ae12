"""URL normalisation and path-segment classes shared by the index and the matcher.

A URL is reduced to what identifies an endpoint: lower-case scheme and host, no
default port, no query string or fragment, no empty segments (so a trailing slash
does not matter), and each path segment classified. Segments that look like ids
(numbers, UUIDs, long hex or mixed letter-digit tokens, e-mail addresses) match a
template placeholder; version segments (``v3``, ``2``, ``2024-01``) may drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from plugwire.core.base.errors import UserInputError

__all__ = [
    "ID",
    "LIT",
    "NUM",
    "PH",
    "QuerySegment",
    "VER",
    "NormalizedUrl",
    "is_placeholder",
    "is_version",
    "normalize_url",
    "split_path",
    "token_pattern",
    "template_tokens",
]

#: Segment kinds of a URL path.
LIT, ID, NUM, VER = "lit", "id", "num", "ver"
#: The token of a whole-segment placeholder in a template.
PH = "{}"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_VERSION_RE = re.compile(r"^(?:v\d+(?:\.\d+)*(?:beta\d*|alpha\d*)?|\d{1,2}(?:\.\d+)+|\d{4}-\d{2}(?:-\d{2})?|\d)$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_HEX_RE = re.compile(r"^[0-9a-f]{8,}$", re.I)
# Stripe-style cus_NffrFe...: the tail has a digit or a capital, so that snake_case words
# (saved_searches, ticket_classes) stay words
_PREFIXED_ID_RE = re.compile(r"^[a-z]{1,8}_(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{6,}$")
_PLACEHOLDER_RE = re.compile(r"\{[^{}/]*\}")
_LOWER_RUN_RE = re.compile(r"[a-z]+")
# what API docs write where an id goes, left in a pasted URL: {user_id}, :userId, <id>
_PASTED_PLACEHOLDER_RE = re.compile(r"^(?:\{[^{}/]+\}|:[A-Za-z_][A-Za-z0-9_\-]*|<[^<>/]+>)$")
_SHAPE_RE = re.compile(r"^([^.:;,]+)([.:;,].+)$")  # an id followed by ".json" or ":cancel"


@lru_cache(maxsize=65536)
def is_version(token: str) -> bool:
    """Return True for version-like segments: v3, v1.1, 2, 1.0, 2024-01."""
    return bool(_VERSION_RE.match(token))


def is_placeholder(seg: str) -> bool:
    """Return True for a placeholder left in a pasted URL: ``{user_id}``, ``:userId``, ``<id>``."""
    return bool(_PASTED_PLACEHOLDER_RE.match(seg))


def _looks_like_id(seg: str) -> bool:
    if seg.isdigit():
        return True
    if _UUID_RE.match(seg) or _PREFIXED_ID_RE.match(seg):
        return True
    if "@" in seg and "." in seg.split("@", 1)[1]:
        return True
    digits = sum(ch.isdigit() for ch in seg)
    if _HEX_RE.match(seg) and digits:
        return True
    letters = sum(ch.isalpha() for ch in seg)
    # Slack "C024BE91L", Airtable "recA1b2C3d4E5f6G7", base64 tokens: long and mixed; but a
    # word with a number in it ("x509certs", "2fa-devices") keeps a long run of letters.
    if len(seg) >= 6 and digits >= 2 and letters and not is_version(seg.lower()):
        longest_word = max((len(run) for run in _LOWER_RUN_RE.findall(seg)), default=0)
        if longest_word < 5 or digits >= 4:
            return True
    if len(seg) >= 20 and re.fullmatch(r"[A-Za-z0-9_\-=]+", seg) and (digits or seg != seg.lower()):
        return True
    return False


@dataclass(frozen=True, slots=True)
class QuerySegment:
    """One segment of a URL path: ``raw`` (as typed), ``low`` (lower-case), ``kind``
    (LIT, ID, NUM or VER) and ``shape`` (``{}.json`` when an id carries a suffix)."""

    raw: str
    low: str
    kind: str
    shape: str | None = None


def classify(seg: str) -> QuerySegment:
    """Return the :class:`QuerySegment` of one decoded path segment."""
    low = seg.lower()
    if low.isalpha() and len(low) < 20 and (len(low) > 1 or low != "v"):
        return QuerySegment(seg, low, LIT)  # the common case: a plain word
    if is_placeholder(seg):
        return QuerySegment(seg, low, ID)  # it stands for an id, whatever its name
    if low.isdigit() and len(low) <= 2 or is_version(low):
        kind = NUM if low.isdigit() else VER
    elif _looks_like_id(seg):
        kind = NUM if low.isdigit() else ID
    else:
        kind = LIT
    shape = None
    m = _SHAPE_RE.match(seg)
    if kind == LIT and m and _looks_like_id(m.group(1)):
        shape = PH + m.group(2).lower()
    return QuerySegment(seg, low, kind, shape)


def split_path(path: str) -> list[str]:
    """Return the non-empty, percent-decoded segments of ``path``."""
    return [unquote(s) for s in path.split("/") if s]


@dataclass(frozen=True)
class NormalizedUrl:
    """A URL reduced for matching; ``trailing_slash`` and ``query`` are kept for display."""

    scheme: str
    host: str
    port: int | None
    path: str
    segments: tuple[QuerySegment, ...]
    trailing_slash: bool
    query: tuple[tuple[str, str], ...]

    @property
    def origin(self) -> str:
        """Return ``scheme://host[:port]`` (port only when not the default)."""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}"

    @property
    def normalized(self) -> str:
        """Return the canonical text: origin plus path with ids as ``{}``."""
        parts = [s.low if s.kind in (LIT, VER) else PH for s in self.segments]
        return self.origin + "/" + "/".join(parts)


def normalize_url(url: str) -> NormalizedUrl:
    """Return the :class:`NormalizedUrl` of an absolute http(s) URL.

    Raises ``UserInputError`` (field ``url``) when it has no scheme or host.
    """
    text = (url or "").strip()
    if "://" not in text:
        raise UserInputError(
            f"url {text!r} is not absolute.", field="url", fix="give a URL such as https://api.example.com/v1/items"
        )
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # "Invalid IPv6 URL" for an unclosed [ in the host
        raise UserInputError(f"url {text!r} is not a valid URL ({exc}).", field="url", fix="give a URL such as https://api.example.com/v1/items") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        raise UserInputError(
            f"url {text!r} needs an http or https scheme and a host.",
            field="url",
            fix="give a URL such as https://api.example.com/v1/items",
        )
    try:
        port = parts.port
    except ValueError:
        raise UserInputError(f"url {text!r} has an invalid port.", field="url", fix="use a port from 1 to 65535") from None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    segs = split_path(parts.path)
    query = tuple(_parse_query(parts.query))
    return NormalizedUrl(
        scheme=scheme,
        host=host,
        port=port,
        path=parts.path or "/",
        segments=tuple(classify(s) for s in segs),
        trailing_slash=parts.path.endswith("/") and len(segs) > 0,
        query=query,
    )


def _parse_query(query: str) -> list[tuple[str, str]]:
    out = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        out.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return out


def template_tokens(path: str) -> tuple[str, ...]:
    """Return the tokens of a path template: literals lower-cased, each ``{name}``
    replaced by ``{}`` (so ``/tickets/{id}.json`` gives ``("tickets", "{}.json")``)."""
    # A placeholder never spans '/': one substitution over the whole path is the same
    # as one per segment, and several times cheaper over a catalogue of 100,000.
    return tuple(s for s in _PLACEHOLDER_RE.sub(PH, path).lower().split("/") if s)


@lru_cache(maxsize=4096)
def token_pattern(token: str) -> re.Pattern:
    """Return the compiled regex matching a (lower-case) URL segment against a
    partial-placeholder token such as ``{}.json``."""
    pieces = token.split(PH)
    return re.compile("^" + "[^/]+?".join(re.escape(p) for p in pieces) + "$")
