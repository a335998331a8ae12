"""TLS for connections: the SSL context a connection's client uses (shared between
connections with the same settings), checking that a client certificate and key
belong together, and finding out whether a server asks for a client certificate at all.

Both exist to turn TLS failures into sentences a user can act on. A server that
demands a client certificate often just closes the connection (with TLS 1.3 after
the handshake looked fine), so the failure alone says nothing; :func:`server_requests_certificate`
looks at the handshake itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import tempfile
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx2

from plugwire.core.base.errors import UserInputError

__all__ = [
    "KeyPairError",
    "check_key_pair",
    "server_requests_certificate",
    "split_key_from_certificate",
    "tls_context",
]

_KEY_MARK = "PRIVATE KEY-----"


class KeyPairError(ValueError):
    """A client certificate and key that do not load together; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def split_key_from_certificate(certificate: str) -> tuple[str, str | None]:
    """Return ``(certificate PEM without any private key, the private key PEM or None)``.

    A combined PEM file (certificate and key together) is common; the key is taken
    out so that it can be kept as a secret while the certificate stays readable.
    """
    if _KEY_MARK not in certificate:
        return certificate, None
    cert_blocks, key_blocks, current = [], [], None
    for line in certificate.splitlines(keepends=True):
        if line.startswith("-----BEGIN "):
            current = key_blocks if _KEY_MARK in line else cert_blocks
        if current is not None:
            current.append(line)
        if line.startswith("-----END "):
            current = None
    key = "".join(key_blocks)
    return "".join(cert_blocks), key or None


def check_key_pair(certificate: str, private_key: str, password: str | None) -> bool:
    """Check that ``private_key`` (PEM, encrypted with ``password`` or not) opens and
    belongs to the first certificate of ``certificate``.

    Returns whether the key is encrypted (so the password must be handed to ``ssl``).
    Raises :class:`KeyPairError` naming ``key_password`` (missing or wrong) or
    ``private_key`` (unreadable, or another certificate's key).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise KeyPairError("the certificate is not a readable PEM certificate", "certificate") from None
    encrypted = "ENCRYPTED" in private_key
    secret = password.encode() if (password and encrypted) else None
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=secret)
    except TypeError:
        # cryptography says "password was not given but the key is encrypted" with a TypeError.
        raise KeyPairError(
            "the private key is encrypted and no key_password was given", "key_password"
        ) from None
    except ValueError:
        if encrypted:
            raise KeyPairError("wrong password: the private key does not decrypt with it", "key_password") from None
        raise KeyPairError("the private key is not a readable PEM private key", "private_key") from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise KeyPairError(
            "the private key does not match the certificate (it belongs to another certificate)", "private_key"
        )
    return encrypted


def server_requests_certificate(host: str, port: int, *, agent_url: str | None = None, timeout: float = 5.0) -> bool | None:
    """Open a TLS handshake with ``host:port`` (through the http agent at ``agent_url``
    when given) and watch for the server's CertificateRequest.

    Returns True when the server asked for a client certificate, False when it
    completed the handshake without asking, None when it cannot be told (this
    Python lacks the handshake hook, a socks agent, or the server is unreachable).
    Never raises for network problems.
    """
    # Verification is off because nothing is sent and no certificate is shown: the
    # probe only listens. With it on, a TLS 1.2 client would stop at an untrusted
    # server certificate before reading the CertificateRequest that follows it.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # The standard library offers no public way to see handshake messages; CPython's
    # (undocumented) message callback does, and without it we simply do not know.
    if not hasattr(context, "_msg_callback") or not hasattr(ssl, "_TLSMessageType"):
        return None
    seen: list[bool] = []
    request_type = ssl._TLSMessageType.CERTIFICATE_REQUEST

    def watch(conn, direction, version, content_type, msg_type, data):
        if direction == "read" and msg_type == request_type:
            seen.append(True)

    context._msg_callback = watch
    try:
        sock = _open(host, port, agent_url, timeout)
    except OSError:
        return None
    if sock is None:
        return None
    handshake_done = False
    try:
        with sock, context.wrap_socket(sock, server_hostname=host) as tls:
            handshake_done = True
            tls.settimeout(timeout)
    except (OSError, ssl.SSLError):
        pass  # a failed handshake still tells us whether the server asked
    if seen:
        return True
    return False if handshake_done else None


def _open(host: str, port: int, agent_url: str | None, timeout: float) -> socket.socket | None:
    if agent_url is None:
        return socket.create_connection((host, port), timeout=timeout)
    agent = urlsplit(agent_url)
    if agent.scheme != "http" or not agent.hostname:
        return None  # tunnelling through https or socks agents is not worth a probe
    sock = socket.create_connection((agent.hostname, agent.port or 80), timeout=timeout)
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if agent.username is not None:
        token = base64.b64encode(f"{unquote(agent.username)}:{unquote(agent.password or '')}".encode()).decode()
        head += f"Proxy-Authorization: Basic {token}\r\n"
    sock.sendall((head + "\r\n").encode("latin-1"))
    answer = b""
    while b"\r\n\r\n" not in answer and len(answer) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    status = answer.split(b" ", 2)[1:2]
    if status != [b"200"]:
        sock.close()
        return None
    return sock


_CONTEXTS: "OrderedDict[str, ssl.SSLContext]" = OrderedDict()
_CONTEXTS_LOCK = threading.Lock()
_CONTEXTS_MAX = 64


def tls_context(conn: Any) -> ssl.SSLContext | bool:
    """Return the SSL context for ``conn`` (a connection: anything with ``options``): verification on unless switched off,
    its CA bundle trusted, its client certificate loaded (False when verification is
    off and there is no certificate).

    Connections with the same TLS settings share one context: loading the system
    CA store costs tens of milliseconds, once per client otherwise. Contexts are
    never changed after they are built.

    Raises ``UserInputError`` naming the ``client_certificate`` field at fault when
    the CA bundle, certificate, key or key password do not load.
    """
    opts = conn.options
    if not opts.verify_tls and opts.client_certificate is None:
        return False
    cc = opts.client_certificate
    material = [str(opts.verify_tls)]
    if cc is not None:
        material += [
            cc.certificate or "", cc.ca_bundle or "",
            cc.private_key.get_secret_value() if cc.private_key else "",
            cc.key_password.get_secret_value() if cc.key_password else "",
        ]
    # A digest, so the cache holds no second copy of the key or its password.
    key = hashlib.sha256("\0".join(material).encode()).hexdigest()
    with _CONTEXTS_LOCK:
        if key in _CONTEXTS:
            _CONTEXTS.move_to_end(key)
            return _CONTEXTS[key]
    ctx = _build_tls_context(conn)
    with _CONTEXTS_LOCK:
        _CONTEXTS[key] = ctx
        while len(_CONTEXTS) > _CONTEXTS_MAX:
            _CONTEXTS.popitem(last=False)
    return ctx


def _build_tls_context(conn: Any) -> ssl.SSLContext:
    opts = conn.options
    cc = opts.client_certificate
    ctx = httpx2.create_ssl_context(verify=True, trust_env=False)
    if not opts.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cc is None:
        return ctx
    if cc.ca_bundle:
        try:
            ctx.load_verify_locations(cadata=cc.ca_bundle)
        except (ssl.SSLError, ValueError) as exc:
            raise UserInputError(
                f"client_certificate.ca_bundle does not load ({getattr(exc, 'reason', None) or exc}).",
                field="client_certificate.ca_bundle",
                fix="give a PEM file of CA certificates",
            ) from None
    if cc.certificate is None:
        return ctx  # a CA bundle only: the server asks for no client certificate
    key = cc.private_key.get_secret_value() if cc.private_key else ""
    password = cc.key_password.get_secret_value() if cc.key_password else None
    try:
        # Checked first so that a missing password never reaches OpenSSL, which
        # would prompt for it on the terminal.
        encrypted = check_key_pair(cc.certificate, key, password)
    except KeyPairError as exc:
        raise UserInputError(
            f"client_certificate.{exc.field}: {exc}.",
            field=f"client_certificate.{exc.field}",
            fix="give the key that belongs to the certificate and, for an encrypted key, its key_password",
        ) from None
    # ssl loads a certificate chain only from files: write them, for the duration
    # of the call, to a folder only this user can read.
    with tempfile.TemporaryDirectory(prefix="plugwire-cert-") as tmp:
        os.chmod(tmp, 0o700)
        cert_path = _private_file(tmp, "cert.pem", cc.certificate)
        key_path = _private_file(tmp, "key.pem", key)
        try:
            ctx.load_cert_chain(cert_path, key_path, password=password if encrypted else None)
        except ssl.SSLError as exc:
            raise UserInputError(
                f"client_certificate: the certificate and key do not load together ({exc.reason or 'SSL error'}).",
                field="client_certificate",
                fix="check that the key matches the certificate and that key_password is right",
            ) from None
    return ctx


def _private_file(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
