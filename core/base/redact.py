"""Secret values kept out of text: in captured exchanges and in every log record.

:func:`redact_text` masks known values in every form they take in text (as is,
percent-encoded, escaped in JSON or XML). The log redactor masks, in every record any
logger of the process creates, the values it was told about (:func:`redact_in_logs`)
and, by their name, the values of credential-like query parameters (``api_key=...``)
and header pairs (``(b'set-cookie', b'...')``), which no one needs to have told it.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import threading
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any, Callable, Iterable
from urllib.parse import quote, quote_plus, unquote_plus

__all__ = [
    "MASK", "MIN_SECRET", "install_log_redaction", "is_sensitive_name", "redact_deep", "redact_in_logs", "redact_in_logs_here",
    "redact_text",
    "secret_forms",
]

MASK = "••••••"
#: Values shorter than this are never masked by value: masking them would garble ordinary text.
MIN_SECRET = 4


@functools.lru_cache(maxsize=1024)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Return the ways ``secret`` can appear in text: as is, percent-encoded (as in a
    URL or a form), escaped in a JSON string (also with ``\\uXXXX`` and ``\\/``) and
    in XML or HTML. Empty for a value shorter than ``MIN_SECRET``; longest first."""
    if not secret or len(secret) < MIN_SECRET:
        return ()
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret, safe="/:@!$'()*,;=~")}
    for ascii_only in (False, True):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms.update({escaped, escaped.replace("/", "\\/")})
    forms.update({html.escape(secret, quote=False), html.escape(secret)})
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True))


def _compile(secrets: frozenset[str]) -> re.Pattern[str] | None:
    forms = sorted({f for s in secrets for f in secret_forms(s)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, forms))) if forms else None


# A job sends the same few requests over and over: their patterns are compiled once.
_pattern = functools.lru_cache(maxsize=256)(_compile)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every form of every secret (see :func:`secret_forms`)
    replaced by the mask."""
    pattern = _pattern(frozenset(secrets))
    return pattern.sub(MASK, text) if pattern is not None and text else text


def redact_deep(value: Any, secrets: Iterable[str]) -> Any:
    """Return ``value`` (strings, dicts, lists, nested) with the secrets masked in
    every string; dict keys are left as they are."""
    pattern = _pattern(frozenset(secrets))
    if pattern is None:
        return value

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(MASK, v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(value)


# A query or form pair, name=value, where the name starts a URL's query, follows
# another pair or starts a word; and a header as httpcore2 logs it, (b'name', b'value').
_PAIR = re.compile(r"""(?:(?<=[?&;\s'"(,])|^)([^\s=&?;'"(),#]+)=([^&\s'"#;,)]*)""")
_FORMATTER = logging.Formatter()
_HEADER = re.compile(r"""\(b(['"])([^'"]+)\1, b(['"])((?:\\.|(?!\3).)*)\3\)""")


class _LogRedactor:
    """Masks secrets in log records as they are created (see :func:`install_log_redaction`)."""

    def __init__(self, limit: int = 1024) -> None:
        # The process-wide values (connections' secrets), bounded all the same; a
        # request's own values (a datapill may render a new one per job) are known only
        # in its context (``here``), so they neither pile up nor recompile this pattern.
        self.here: ContextVar[frozenset[str]] = ContextVar("plugwire_log_secrets", default=frozenset())
        self._values: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self.is_secret_name: Callable[[str], bool] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            changed = False
            for v in values:
                if v and len(v) >= MIN_SECRET:
                    changed |= v not in self._values
                    self._values[v] = None
                    self._values.move_to_end(v)
            while len(self._values) > self._limit:
                self._values.popitem(last=False)
                changed = True
            if changed:
                self._pattern = _compile(frozenset(self._values))

    def clean(self, text: str) -> str:
        here = self.here.get()
        for pattern in (self._pattern, _pattern(here) if here else None):
            if pattern is not None:
                text = pattern.sub(MASK, text)
        named = self.is_secret_name
        if named is not None:
            if "=" in text:
                text = _PAIR.sub(lambda m: _masked_pair(m, named), text)
            if ", b" in text:
                text = _HEADER.sub(lambda m: _masked_header(m, named), text)
        return text

    def scrub(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            # A traceback's text (an exception's message may quote a URL or a
            # header) is formatted here, masked, and kept: handlers use exc_text as is.
            text = _FORMATTER.formatException(record.exc_info)
            record.exc_text = self.clean(text)
        msg, args = record.msg, record.args
        try:
            text = msg if isinstance(msg, str) and not args else record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return
        clean = self.clean(text)
        if clean == text:
            return
        if isinstance(args, tuple) and args and isinstance(msg, str):
            # Keep the arguments' shape where masking them one by one says the same:
            # some formatters read them (uvicorn's access formatter unpacks five).
            kept = tuple(self.clean(a) if isinstance(a, str) else a for a in args)
            try:
                same = self.clean(msg) % kept == clean
            except (TypeError, ValueError):
                same = False
            if same:
                record.msg, record.args = self.clean(msg), kept
                return
        record.msg, record.args = clean, None


def _masked_pair(m: re.Match[str], named: Callable[[str], bool]) -> str:
    name, value = m.group(1), m.group(2)
    if not value or value == MASK or not named(unquote_plus(name)):
        return m.group(0)
    return f"{name}={MASK}"


def _masked_header(m: re.Match[str], named: Callable[[str], bool]) -> str:
    if not m.group(4) or not named(m.group(2)):
        return m.group(0)
    q, q2 = m.group(1), m.group(3)
    return f"(b{q}{m.group(2)}{q}, b{q2}{MASK}{q2})"


_redactor = _LogRedactor()
_installed = False
_install_lock = threading.Lock()


# Header and query names that carry credentials. Matching on the name (not only on
# what the connection added) also protects a key the user typed in by hand. Names
# shaped like a credential only: a field called `auth` ("bearer", a scheme's name) or
# Access-Control-Allow-Credentials ("true") are not secrets, and a secret under an
# innocent name is still masked by value (the connection's and the request's known
# secrets, wherever they appear: capture.py).
_SENSITIVE_EXACT = {
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
    "api_key", "x-auth-token", "x-access-token", "private-token", "access_token", "token", "key",
    "client_secret", "password", "passwd", "secret", "sig", "signature", "x-csrf-token", "x-xsrf-token",
}
_SENSITIVE_PART = re.compile(
    r"(token|secret|passw|api[-_]?key|authorization|cookie|session|sessid|signature|private[-_]?key|(^|[-_])auth[-_]?key)", re.I
)
# What a credential's name ends in when it names something about it rather than the
# credential itself: OAuth's token_type ("bearer"), token_url, expires_in...
_ABOUT_A_SECRET = re.compile(r"[-_](type|url|uri|endpoint|expires|expires[-_]in|expires[-_]at|expiry)$", re.I)


@functools.lru_cache(maxsize=1024)
def is_sensitive_name(name: str) -> bool:
    """Return True when a header or query parameter named ``name`` usually carries a secret."""
    # Cached: the same few header names are checked on every request a job sends.
    low = name.strip().lower()
    if low in _SENSITIVE_EXACT:
        return True
    return bool(_SENSITIVE_PART.search(low)) and not _ABOUT_A_SECRET.search(low)


def install_log_redaction(is_secret_name: Callable[[str], bool] | None = None) -> None:
    """Mask secrets in every log record the process creates from now on, whatever
    its logger (httpx2, httpcore2 and its children, uvicorn's access log, plugwire's
    own): known values, and values of query parameters and headers for which
    ``is_secret_name`` (when given) is true. Idempotent; returns nothing.

    A record factory rather than a logging filter: a filter on a logger misses its
    child loggers' records, and one on handlers misses handlers added later."""
    global _installed
    if is_secret_name is not None:
        _redactor.is_secret_name = is_secret_name
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redactor.scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def redact_in_logs(values: Iterable[str]) -> None:
    """Mask these secret values (in every form :func:`secret_forms` gives) in every
    log record from now on. Values shorter than ``MIN_SECRET`` are ignored. Returns
    nothing; never raises."""
    _redactor.add(values)
    if not _installed:
        install_log_redaction()


def redact_in_logs_here(values: Iterable[str]) -> None:
    """Mask these secret values in the log records made in the current context (this
    thread, or this asyncio task and those it starts) from now on, in place of the
    values given here before: a request's own secrets, for as long as it is sent.
    Returns nothing; never raises."""
    _redactor.here.set(frozenset(v for v in values if v and len(v) >= MIN_SECRET))
    if not _installed:
        install_log_redaction()
