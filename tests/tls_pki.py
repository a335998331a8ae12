"""A throwaway PKI for TLS tests (trustme): a CA, a server certificate for
127.0.0.1, client certificates, and the uvicorn options of a server that demands a
client certificate signed by that CA."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class ClientFiles:
    cert: Path
    key: Path

    @property
    def cert_pem(self) -> str:
        return self.cert.read_text()

    @property
    def key_pem(self) -> str:
        return self.key.read_text()


class Pki:
    """Files under ``folder``: ``ca`` (PEM bundle), a server certificate and key, and
    ``client`` (a client certificate and key signed by the same CA)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.authority = trustme.CA()
        self.ca = folder / "ca.pem"
        self.authority.cert_pem.write_to_path(str(self.ca))
        server = self.authority.issue_cert("127.0.0.1", "localhost")
        self.server_cert = folder / "server.pem"
        self.server_key = folder / "server-key.pem"
        server.cert_chain_pems[0].write_to_path(str(self.server_cert))
        server.private_key_pem.write_to_path(str(self.server_key))
        self.client = self.issue_client("client")

    def issue_client(self, name: str, authority: trustme.CA | None = None) -> ClientFiles:
        """Return files of a new client certificate (signed by ``authority``, default ours)."""
        leaf = (authority or self.authority).issue_cert(f"{name}@plugwire.test")
        files = ClientFiles(self.folder / f"{name}.pem", self.folder / f"{name}-key.pem")
        leaf.cert_chain_pems[0].write_to_path(str(files.cert))
        leaf.private_key_pem.write_to_path(str(files.key))
        return files

    def encrypted_key(self, files: ClientFiles, password: str) -> Path:
        """Write ``files.key`` encrypted with ``password``; returns the new file."""
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        )
        path = files.key.with_name(files.key.stem + "-encrypted.pem")
        path.write_bytes(pem)
        return path

    @property
    def ca_pem(self) -> str:
        return self.ca.read_text()

    def server_options(self, *, require_client_cert: bool = True) -> dict:
        """uvicorn options for https on our server certificate."""
        options = {"ssl_certfile": str(self.server_cert), "ssl_keyfile": str(self.server_key)}
        if require_client_cert:
            options.update(ssl_ca_certs=str(self.ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "mtls", "path": request.url.path})


def hello_app() -> Starlette:
    """A tiny API: every GET under / answers 200 with a JSON greeting."""
    return Starlette(routes=[Route("/{path:path}", _hello)])
