"""Secrets at rest and on screen.

Values typed ``SecretStr`` are sealed with Fernet (AES-128-CBC + HMAC) before they
reach the store, and masked whenever they are shown (in captured text and log
records: :mod:`.redact`). The key comes from ``PLUGWIRE_SECRET_KEY`` or from a key
file in the data folder, created 0600.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretBytes, SecretStr

from plugwire.core.base.errors import StorageError
from plugwire.core.base.redact import MASK, redact_in_logs  # re-exported: where secrets are looked for

__all__ = ["MASK", "Cipher", "load_cipher", "mask", "redact_in_logs", "seal", "unseal"]

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
