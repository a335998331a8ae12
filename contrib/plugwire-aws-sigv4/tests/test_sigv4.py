"""aws_sigv4 through real plugwire connections, verified by botocore on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timezone

import httpx2
import pytest
from pydantic import SecretStr

from conftest import KEY_ID, SECRET
from plugwire import UserInputError, testing
from plugwire_aws_sigv4.signer import Credentials, SigV4Auth, canonical_query, sign

TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//session+token="


def test_get_with_an_untidy_query_is_verified_and_sent_canonical(aws_api, make_connection):
    api, _ = aws_api
    conn = make_connection()
    params = [("z", "1"), ("a", "b c"), ("a", "a"), ("plus", "1+1"), ("empty", ""), ("ü", "ö/&=")]
    with make_connection.factory.client(conn) as client:
        response = client.get(f"{api.url}/prod/items", params=params)
        bare = client.get(f"{api.url}/prod/items?flag&b=2")
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True and bare.status_code == 200
    seen, seen_bare = api.requests
    # What was sent is the canonical query itself: sorted by encoded bytes, strictly
    # encoded, a form's '+' sent as %20 and a literal plus as %2B.
    assert seen.query_string == "%C3%BC=%C3%B6%2F%26%3D&a=a&a=b%20c&empty=&plus=1%2B1&z=1"
    assert seen.query_list[1:3] == [("a", "a"), ("a", "b c")]
    assert seen_bare.query_string == "b=2&flag="


def test_post_json_body_is_hashed_and_verified(aws_api, make_connection):
    api, _ = aws_api
    conn = make_connection()
    with make_connection.factory.client(conn) as client:
        response = client.post(f"{api.url}/prod/orders", json={"item": "book", "qty": 2})
    assert response.status_code == 200, response.text
    canonical = response.json()["canonical_request"]
    assert canonical.endswith(hashlib.sha256(api.requests[0].body).hexdigest())
    assert "content-type;host;x-amz-date" in canonical


def test_a_tampered_body_is_refused(aws_api):
    api, _ = aws_api
    creds = Credentials(KEY_ID, SecretStr(SECRET))
    signed = httpx2.Request("POST", f"{api.url}/prod/orders", json={"qty": 1})
    sign(signed, creds, "eu-west-1", "execute-api")
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}
    tampered = httpx2.Request("POST", signed.url, headers=headers, content=b'{"qty": 1000}')
    with httpx2.Client() as client:
        response = client.send(tampered)
    assert response.status_code == 403
    assert "signature we calculated does not match" in response.json()["message"]


def test_a_wrong_secret_gets_403(aws_api, make_connection):
    api, _ = aws_api
    conn = make_connection(secret_access_key="not-the-secret-key")
    with make_connection.factory.client(conn) as client:
        response = client.get(f"{api.url}/prod/items")
    assert response.status_code == 403
    assert response.json()["message"].startswith("The request signature we calculated does not match")


def test_session_token_is_sent_and_signed(aws_api, make_connection):
    api, verifier = aws_api
    verifier.session_token = TOKEN
    with make_connection.factory.client(make_connection(session_token=TOKEN)) as client:
        ok = client.get(f"{api.url}/prod/items")
    with make_connection.factory.client(make_connection()) as client:
        missing = client.get(f"{api.url}/prod/items")
    assert ok.status_code == 200, ok.text
    assert "x-amz-security-token" in api.requests[0].headers["authorization"]
    assert missing.status_code == 403


def test_paths_with_spaces_unicode_and_reserved_characters(aws_api, make_connection):
    api, _ = aws_api
    with make_connection.factory.client(make_connection()) as client:
        response = client.get(f"{api.url}/prod/a b/ünï/(x)!$/~tilde/%2Fslash")
    assert response.status_code == 200, response.text
    assert api.requests[0].raw_path == "/prod/a%20b/%C3%BCn%C3%AF/%28x%29%21%24/~tilde/%2Fslash"
    # Every service but S3 signs the path encoded twice.
    assert "\n/prod/a%2520b/%25C3%25BCn%25C3%25AF/" in response.json()["canonical_request"]


def test_s3_signs_the_path_once_and_sends_the_payload_hash(aws_api, make_connection):
    api, verifier = aws_api
    verifier.service = "s3"
    body = b"hello, bucket\n" * 100
    with make_connection.factory.client(make_connection(service="s3")) as client:
        response = client.put(f"{api.url}/my-bucket/reports/2024 q1.txt", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text
    seen = api.requests[0]
    assert seen.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert "\n/my-bucket/reports/2024%20q1.txt\n" in response.json()["canonical_request"]


def test_async_clients_are_signed_too(aws_api, make_connection):
    api, _ = aws_api
    conn = make_connection()

    async def send():
        async with make_connection.factory.client(conn, asynchronous=True) as client:
            return await asyncio.gather(*(client.post(f"{api.url}/prod/n/{i}", json={"i": i}) for i in range(5)))

    assert [r.status_code for r in asyncio.run(send())] == [200] * 5


def test_aws_get_vanilla_test_vector():
    # The "get-vanilla" case of AWS's SigV4 test suite, credentials and date as published.
    clock = lambda: datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)  # noqa: E731
    auth = SigV4Auth(Credentials("AKIDEXAMPLE", SecretStr(SECRET)), "us-east-1", "service", clock=clock)
    request = httpx2.Request("GET", "https://example.amazonaws.com/")
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_canonical_query_rules():
    assert canonical_query("b=2&a=2&a=1&c") == "a=1&a=2&b=2&c="
    assert canonical_query("q=a+b%2Bc&t=%7e") == "q=a%20b%2Bc&t=~"


def test_secrets_stay_masked(aws_api, make_connection):
    api, verifier = aws_api
    verifier.session_token = TOKEN
    conn = make_connection(session_token=TOKEN)
    with make_connection.factory.client(conn) as client:
        client.get(f"{api.url}/prod/items")
        auth = client.auth
    shown = str(make_connection.factory.get(conn.name).public())
    assert SECRET not in shown and TOKEN not in shown
    assert SECRET not in repr(auth) and SECRET not in str(api.requests[0].headers)
    fields = {f["name"]: f for f in testing.auth_types.get("aws_sigv4").describe_fields()}
    assert fields["secret_access_key"]["secret"] and fields["session_token"]["secret"]
    assert not fields["access_key_id"]["secret"] and fields["region"]["required"]


def test_bad_settings_name_the_field(make_connection):
    with pytest.raises(UserInputError, match="settings.region: .*lower-case letters"):
        make_connection(region="US East 1")
    with pytest.raises(UserInputError, match="settings.access_key_id"):
        make_connection(access_key_id="AKID/with/slash")
    with pytest.raises(UserInputError, match="settings.service"):
        make_connection(service="")


def test_the_installed_entry_point_registers_the_auth_type(plugwire_plugin):
    (module,) = plugwire_plugin.from_distribution("plugwire-aws-sigv4")
    assert module.PLUGWIRE_PLUGIN_API == 1
    assert testing.auth_types.owners()["aws_sigv4"] == "aws_sigv4"
