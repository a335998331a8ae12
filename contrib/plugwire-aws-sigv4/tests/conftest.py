"""A local API that verifies AWS SigV4 signatures independently, with botocore.

For every request it reads the Authorization header, rebuilds the request from what
arrived on the socket (method, raw path, raw query, the signed headers, the body),
has botocore's own signer compute the signature with the server's copy of the
secret, and answers 403 with AWS's words when the two differ.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import plugwire_aws_sigv4
from plugwire.testing import RecordedRequest, Reply

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class AwsVerifier:
    """The server's view: which key it knows and which scope it serves."""

    region: str = "eu-west-1"
    service: str = "execute-api"
    secret: str = SECRET
    session_token: str | None = None

    def __call__(self, req: RecordedRequest) -> Reply:
        match = _AUTH.fullmatch(req.headers.get("authorization", ""))
        if match is None:
            return Reply(403, json={"message": "Missing Authentication Token"})
        if match["key"] != KEY_ID:
            return Reply(403, json={"message": "The security token included in the request is invalid."})
        if (match["region"], match["service"]) != (self.region, self.service):
            return Reply(403, json={"message": f"Credential should be scoped to {self.region}/{self.service}"})
        signed = match["signed"].split(";")
        amz_date = req.headers.get("x-amz-date", "")
        if "host" not in signed or "x-amz-date" not in signed or amz_date[:8] != match["date"]:
            return Reply(403, json={"message": "host and x-amz-date must be signed, for the credential's date"})
        if self.session_token is not None and req.headers.get("x-amz-security-token") != self.session_token:
            return Reply(403, json={"message": "The security token included in the request is invalid."})
        if "x-amz-content-sha256" in req.headers and req.headers["x-amz-content-sha256"] != hashlib.sha256(req.body).hexdigest():
            return Reply(400, json={"message": "XAmzContentSHA256Mismatch"})
        aws = AWSRequest(method=req.method, url=req.url, headers={h: req.headers[h] for h in signed}, data=req.body)
        aws.context["timestamp"] = amz_date
        signer_class = S3SigV4Auth if self.service == "s3" else SigV4Auth
        signer = signer_class(Credentials(KEY_ID, self.secret, self.session_token), self.service, self.region)
        canonical = signer.canonical_request(aws)
        expected = signer.signature(signer.string_to_sign(aws, canonical), aws)
        if not hmac.compare_digest(expected, match["signature"]):
            return Reply(403, json={"message": "The request signature we calculated does not match the signature you provided.",
                                    "canonical_request": canonical})
        return Reply(200, json={"verified": True, "canonical_request": canonical, "body": req.body.decode("utf-8", "replace")})


@pytest.fixture
def sigv4(plugwire_plugin):
    """The plugin, registered for this test."""
    return plugwire_plugin(plugwire_aws_sigv4)


@pytest.fixture
def aws_api(plugwire_api):
    """The programmable API with a verifying catch-all route; returns (api, verifier)."""
    verifier = AwsVerifier()
    plugwire_api.route("*", "/{path:path}", handler=verifier)
    return plugwire_api, verifier


@pytest.fixture
def make_connection(sigv4, plugwire_connections):
    """Create an aws_sigv4 connection; keyword arguments override the settings."""

    def make(**overrides):
        settings = {"access_key_id": KEY_ID, "secret_access_key": SECRET, "region": "eu-west-1", "service": "execute-api"}
        settings.update(overrides)
        return plugwire_connections.create("aws_sigv4", settings)

    make.factory = plugwire_connections  # for .client(conn) and .get(name)
    return make
