"""Client TLS certificates against a real server on 127.0.0.1 that demands one
(uvicorn with ssl_cert_reqs=CERT_REQUIRED, certificates from trustme)."""

from __future__ import annotations

import json
import ssl

import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.connections.tls import tls_context
from plugwire.core.http.client import client_for
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.testconn import test_connection
from tls_pki import Pki, hello_app

KEY_PASSWORD = "kp-planted-3c9e51"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def mtls(live_server, pki):
    """An https server on 127.0.0.1 that admits only client certificates of our CA."""
    return live_server(hello_app(), ssl_options=pki.server_options())


def _cert(pki, files=None, **extra):
    files = files or pki.client
    return {"certificate": files.cert_pem, "private_key": files.key_pem, "ca_bundle": pki.ca_pem, **extra}


def _add(connections, server, name="mtls", **options):
    return connections.create(
        {"name": name, "auth_type": "none", "test_url": server.url + "/ping", "timeout": 5, **options}
    )


def _key_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM key: any of them in clear text is a leak."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_the_client_certificate_gets_in(mtls, pki, connections):
    conn = _add(connections, mtls, client_certificate=_cert(pki))
    result = test_connection(conn, connections)
    assert result.outcome is Outcome.OK, result.message
    assert result.status == 200 and result.elapsed_ms is not None
    with client_for(conn, connections) as client:
        assert client.get(mtls.url + "/data").json() == {"hello": "mtls", "path": "/data"}


def test_without_a_client_certificate_the_user_is_told_the_server_demands_one(mtls, pki, connections):
    # The CA bundle alone: the server's certificate verifies, but no client certificate goes.
    conn = _add(connections, mtls, client_certificate={"ca_bundle": pki.ca_pem})
    result = test_connection(conn, connections)
    assert result.outcome is Outcome.TLS_ERROR
    assert not result.ok
    assert "demands a client certificate" in result.message
    assert "client_certificate" in result.message


def test_a_certificate_from_another_ca_is_refused_plainly(mtls, pki, connections, tmp_path):
    import trustme

    stranger = Pki(tmp_path / "other").issue_client("stranger", authority=trustme.CA())
    conn = _add(connections, mtls, client_certificate=_cert(pki, stranger))
    result = test_connection(conn, connections)
    assert result.outcome is Outcome.TLS_ERROR
    assert "did not accept it" in result.message


def test_server_certificate_verification_is_on_by_default(mtls, connections):
    conn = _add(connections, mtls)
    assert conn.options.verify_tls is True
    ctx = tls_context(conn)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    result = test_connection(conn, connections)
    assert result.outcome is Outcome.TLS_ERROR
    assert "not trusted" in result.message and "ca_bundle" in result.message
    # Still on after a reload from the store.
    assert connections.get("mtls").options.verify_tls is True


def test_verification_can_be_switched_off_explicitly(live_server, pki, connections):
    server = live_server(hello_app(), ssl_options=pki.server_options(require_client_cert=False))
    conn = _add(connections, server, verify_tls=False)
    assert test_connection(conn, connections).outcome is Outcome.OK


def test_tls_contexts_are_shared_only_between_identical_settings(pki, connections):
    mine = connections.create({"name": "a", "auth_type": "none", "client_certificate": _cert(pki)})
    twin = connections.create({"name": "b", "auth_type": "none", "client_certificate": _cert(pki)})
    other = connections.create({"name": "c", "auth_type": "none", "client_certificate": _cert(pki, pki.issue_client("c"))})
    ca_only = connections.create({"name": "d", "auth_type": "none", "client_certificate": {"ca_bundle": pki.ca_pem}})
    unverified = connections.create({"name": "e", "auth_type": "none", "client_certificate": _cert(pki), "verify_tls": False})
    assert tls_context(mine) is tls_context(twin) is tls_context(connections.get("a"))
    contexts = [tls_context(c) for c in (mine, other, ca_only, unverified)]
    assert len({id(c) for c in contexts}) == 4
    assert tls_context(unverified).verify_mode == ssl.CERT_NONE and tls_context(mine).verify_mode == ssl.CERT_REQUIRED


def test_an_encrypted_key_works_with_its_password(mtls, pki, connections):
    encrypted = pki.encrypted_key(pki.client, KEY_PASSWORD).read_text()
    assert "ENCRYPTED" in encrypted
    conn = _add(connections, mtls, client_certificate=_cert(pki, private_key=encrypted, key_password=KEY_PASSWORD))
    assert test_connection(connections.get("mtls"), connections).outcome is Outcome.OK
    assert KEY_PASSWORD not in json.dumps(conn.public())


@pytest.mark.parametrize(
    "password, words",
    [("not-the-password", "wrong password"), (None, "no key_password was given")],
)
def test_a_wrong_or_missing_key_password_names_the_field(mtls, pki, connections, password, words):
    encrypted = pki.encrypted_key(pki.client, KEY_PASSWORD).read_text()
    extra = {"private_key": encrypted} | ({"key_password": password} if password else {})
    with pytest.raises(UserInputError) as info:
        _add(connections, mtls, client_certificate=_cert(pki, **extra))
    assert info.value.field == "client_certificate"
    assert "key_password" in str(info.value) and words in str(info.value)
    assert KEY_PASSWORD not in str(info.value) and (password or KEY_PASSWORD) not in str(info.value)


def test_a_key_of_another_certificate_is_refused(mtls, pki, connections):
    other = pki.issue_client("other")
    with pytest.raises(UserInputError) as info:
        _add(connections, mtls, client_certificate=_cert(pki, private_key=other.key_pem))
    assert info.value.field == "client_certificate"
    assert "does not match the certificate" in str(info.value)
    for line in _key_body_lines(other.key_pem):
        assert line not in str(info.value)


def test_a_combined_pem_keeps_its_key_secret_and_still_works(mtls, pki, connections, home):
    combined = pki.client.cert_pem + pki.client.key_pem
    conn = _add(connections, mtls, client_certificate={"certificate": combined, "ca_bundle": pki.ca_pem})
    assert "PRIVATE KEY" not in conn.options.client_certificate.certificate
    assert test_connection(connections.get("mtls"), connections).outcome is Outcome.OK
    stored = "".join(p.read_text(errors="replace") for p in home.path.rglob("*") if p.is_file())
    assert "PRIVATE KEY" not in stored
    for line in _key_body_lines(pki.client.key_pem):
        assert line not in stored


# -- the command line ------------------------------------------------------------------


def test_cli_add_with_certificate_files_then_test(run_cli, mtls, pki, home, monkeypatch):
    key = pki.encrypted_key(pki.client, KEY_PASSWORD)
    monkeypatch.setenv("CLIENT_KEY_PW", KEY_PASSWORD)
    code, out, err = run_cli(
        "connections", "add", "mtls", "--auth", "none", "--test-url", mtls.url + "/ping",
        "--cert-file", str(pki.client.cert), "--key-file", str(key), "--key-password", "env:CLIENT_KEY_PW",
        "--ca-file", str(pki.ca), "--json",
    )
    assert code == 0, err
    assert json.loads(out)["client_certificate"]["private_key"] not in (None, "")
    code, out, err = run_cli("connections", "test", "mtls", "--json")
    assert code == 0, out + err
    assert json.loads(out)["outcome"] == "ok"

    shown = [run_cli("connections", "show", "mtls", "--json"), run_cli("connections", "show", "mtls")]
    stored = "".join(p.read_text(errors="replace") for p in home.path.rglob("*") if p.is_file())
    for text in [s[1] for s in shown] + [stored]:
        assert "PRIVATE KEY" not in text and KEY_PASSWORD not in text
        for line in _key_body_lines(key.read_text()) + _key_body_lines(pki.client.key_pem):
            assert line not in text


def test_cli_test_without_the_certificate_fails_plainly(run_cli, mtls, pki):
    code, _, err = run_cli("connections", "add", "bare", "--auth", "none", "--test-url", mtls.url + "/")
    assert code == 0, err
    code, out, _ = run_cli("connections", "test", "bare", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["outcome"] == "tls_error" and "not trusted" in result["message"]


def test_cli_ca_file_alone_trusts_the_server_and_the_missing_client_cert_is_named(run_cli, mtls, pki):
    code, _, err = run_cli("connections", "add", "ca-only", "--auth", "none", "--test-url", mtls.url + "/", "--ca-file", str(pki.ca))
    assert code == 0, err
    code, out, _ = run_cli("connections", "test", "ca-only", "--json")
    assert code == 1
    assert "demands a client certificate" in json.loads(out)["message"]


def test_cli_key_without_certificate_names_the_certificate_field(run_cli, pki):
    code, _, err = run_cli("connections", "add", "k", "--auth", "none", "--key-file", str(pki.client.key))
    assert code == 2  # bad input
    assert "client_certificate.certificate" in err and "--cert-file" in err


@pytest.mark.parametrize("flag, field", [("--cert-file", "client_certificate.certificate"), ("--key-file", "client_certificate.private_key")])
def test_cli_unreadable_certificate_file_names_the_field(run_cli, pki, tmp_path, flag, field):
    args = {"--cert-file": str(pki.client.cert), "--key-file": str(pki.client.key)}
    args[flag] = str(tmp_path / "missing.pem")
    code, out, err = run_cli("connections", "add", "x", "--auth", "none", *[a for kv in args.items() for a in kv])
    assert code == 2  # bad input
    assert field in err and "missing.pem" in err
