"""Client TLS certificates: checking a certificate and key belong together, and
finding out whether a server asks for a client certificate at all.

Both exist to turn TLS failures into sentences a user can act on. A server that
demands a client certificate often just closes the connection (with TLS 1.3 after
the handshake looked fine), so the failure alone says nothing; :func:`server_requests_certificate`
looks at the handshake itself.
"""

from __future__ import annotations

import base64
import socket
import ssl
from urllib.parse import unquote, urlsplit

__all__ = ["KeyPairError", "check_key_pair", "server_requests_certificate", "split_key_from_certificate"]

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
