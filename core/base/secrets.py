"""Secrets at rest and on screen.

Values typed ``SecretStr`` are sealed with Fernet (AES-128-CBC + HMAC) before they
reach the store, and masked whenever they are shown. The key comes from
``PLUGWIRE_SECRET_KEY`` or from a key file in the data folder, created 0600.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretBytes, SecretStr

from plugwire.core.base.errors import StorageError

__all__ = ["MASK", "Cipher", "load_cipher", "mask", "redact_in_logs", "seal", "unseal"]

MASK = "••••••"
_SEALED = "$sealed"
KEY_ENV = "PLUGWIRE_SECRET_KEY"


class Cipher:
    """Encrypts and decrypts secret strings with one Fernet key."""

    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise StorageError(
                "The secret key is not a valid Fernet key.",
                field=KEY_ENV,
                fix="use 32 url-safe base64-encoded bytes, e.g. from "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`",
            ) from None

    def encrypt(self, text: str) -> str:
        """Return the token for ``text``."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the text sealed in ``token``; raises ``StorageError`` for a wrong key."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise StorageError(
                "A stored secret cannot be decrypted with the current key.",
                field=KEY_ENV,
                fix="use the key the data was saved with (PLUGWIRE_SECRET_KEY or the data folder's secret.key)",
            ) from None


def load_cipher(folder: Path) -> Cipher:
    """Return the cipher from ``PLUGWIRE_SECRET_KEY``, else from ``folder/secret.key``
    (created with 0600 permissions on first use)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Cipher(env.strip().encode("ascii"))
    path = Path(folder) / "secret.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if not key:  # another process created it a moment ago and is still writing
            import time

            for _ in range(50):
                time.sleep(0.02)
                key = path.read_bytes().strip()
                if key:
                    break
        return Cipher(key)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key())
    return Cipher(path.read_bytes().strip())


def seal(value: Any, cipher: Cipher) -> Any:
    """Return ``value`` with every ``SecretStr``/``SecretBytes`` replaced by a sealed
    record, recursing into dicts, lists and pydantic-dumped structures."""
    if isinstance(value, SecretStr):
        return {_SEALED: cipher.encrypt(value.get_secret_value())}
    if isinstance(value, SecretBytes):
        raw = base64.b64encode(value.get_secret_value()).decode("ascii")
        return {_SEALED: cipher.encrypt(raw), "bytes": True}
    if isinstance(value, dict):
        return {k: seal(v, cipher) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [seal(v, cipher) for v in value]
    return value


def unseal(value: Any, cipher: Cipher) -> Any:
    """Return ``value`` with sealed records decrypted back to plain values."""
    if isinstance(value, dict):
        if _SEALED in value and set(value) <= {_SEALED, "bytes"}:
            text = cipher.decrypt(value[_SEALED])
            return base64.b64decode(text) if value.get("bytes") else text
        return {k: unseal(v, cipher) for k, v in value.items()}
    if isinstance(value, list):
        return [unseal(v, cipher) for v in value]
    return value


def mask(value: Any) -> Any:
    """Return ``value`` with every secret replaced by a fixed mask."""
    if isinstance(value, (SecretStr, SecretBytes)):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


class _LogRedactor(logging.Filter):
    """Replaces known secret values in log records before any handler sees them."""

    def __init__(self) -> None:
        super().__init__()
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, values: list[str]) -> None:
        from urllib.parse import quote, quote_plus

        with self._lock:
            for v in values:
                # A secret sent in a query string is logged percent-encoded.
                self._values.update({v, quote(v, safe=""), quote_plus(v, safe="")})

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._values:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return True
        clean = text
        for v in sorted(self._values, key=len, reverse=True):
            clean = clean.replace(v, MASK)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_redactor = _LogRedactor()
# httpx2 logs every request's full URL at INFO, so a query-parameter credential
# would reach the logs; its transport loggers log no URL or header values.
_HTTP_LOGGERS = ("httpx2",)


def redact_in_logs(values: list[str]) -> None:
    """Mask these secret values (and their URL-encoded forms) in the HTTP client's
    log records from now on. Values shorter than 4 characters are ignored (masking
    them would garble ordinary text). Returns nothing; never raises."""
    _redactor.add([v for v in values if v and len(v) >= 4])
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)
