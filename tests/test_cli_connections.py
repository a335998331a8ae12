"""`plugwire connections ...` end to end: every command with --json, secrets from
env/file/stdin (never from the command line), edits that keep secrets, the
deprecated restricted-ip field, and errors that name the field without a traceback."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from api_server import make_api
from plugwire.core.cli import main
from plugwire.core.connections.model import Connections, PlugwireDeprecationWarning

PW = "PW-planted-9d2f71e0"
TOKEN = "TOKEN-planted-a61c44"
KEY2 = "KEY2-planted-77be10"
PLANTED = (PW, TOKEN, KEY2)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(home, capsys, monkeypatch):
    """Run ``plugwire ARGS`` in-process; ``stdin`` feeds `-` secrets."""
    monkeypatch.setenv("COLUMNS", "200")  # keep rich tables from wrapping
    monkeypatch.delenv("CI", raising=False)

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return Result(info.value.code, out, err)

    return run


@pytest.fixture
def api_server(live_server):
    api = make_api(basic=("octo", PW), bearer=TOKEN, headers={"X-Two": KEY2})
    return live_server(api.app)


def test_add_list_show_remove_with_json(cli, home, monkeypatch):
    monkeypatch.setenv("MY_PW", PW)
    added = cli("connections", "add", "gh", "--auth", "basic", "--set", "username=octo", "--secret", "password=env:MY_PW",
                "--test-url", "https://api.example.com/user", "--json")
    assert added.code == 0, added.err
    assert added.json["name"] == "gh" and added.json["auth_type"] == "basic"
    assert added.json["settings"] == {"username": "octo", "password": "••••••"}
    listed = cli("connections", "list", "--json")
    assert [c["name"] for c in listed.json] == ["gh"]
    shown = cli("connections", "show", "gh", "--json")
    assert shown.json["test_url"] == "https://api.example.com/user"
    assert shown.json["settings"]["password"] == "••••••"
    plain = cli("connections", "show", "gh")
    assert "settings.password" in plain.out and "••••••" in plain.out
    assert "gh" in cli("connections", "list").out
    removed = cli("connections", "remove", "gh", "--yes", "--json")
    assert removed.json == {"removed": "gh"}
    assert cli("connections", "list", "--json").json == []
    gone = cli("connections", "show", "gh")
    assert gone.code == 1 and "No connection named 'gh'" in gone.err
    for r in (added, listed, shown, plain):
        assert PW not in r.text
    assert Connections(home).list() == []


def test_secret_sources_env_file_and_stdin(cli, home, tmp_path, monkeypatch):
    monkeypatch.setenv("TOK", TOKEN)
    secret_file = tmp_path / "key.txt"
    secret_file.write_text(KEY2 + "\n")
    r = cli("connections", "add", "multi", "--auth", "custom", "--secret", "headers.Authorization=env:TOK",
            "--secret", f"params.key=file:{secret_file}", "--secret", "headers.X-Pw=-", "--json", stdin=PW + "\n")
    assert r.code == 0, r.err
    assert r.json["settings"]["headers"] == {"Authorization": "••••••", "X-Pw": "••••••"}
    conn = Connections(home).get("multi")
    assert conn.settings.headers["Authorization"].get_secret_value() == TOKEN
    assert conn.settings.headers["X-Pw"].get_secret_value() == PW
    assert conn.settings.params["key"].get_secret_value() == KEY2  # trailing newline dropped
    for s in PLANTED:
        assert s not in r.text


@pytest.mark.parametrize(
    "args, field",
    [
        (["--auth", "basic", "--set", "username=u", "--secret", f"password={PW}"], "settings.password"),
        (["--auth", "basic", "--set", "username=u", "--set", f"password={PW}"], "settings.password"),
        (["--auth", "header", "--set", f"headers.Authorization={PW}"], "settings.headers.Authorization"),
        (["--auth", "basic", "--set", "username=u", "--secret", "password=env:NOT_SET_ANYWHERE_42"], "settings.password"),
        (["--auth", "basic", "--set", "username=u", "--secret", "password=file:/nonexistent/pw.txt"], "settings.password"),
        (["--auth", "basic", "--set", "username=u", "--secret", "password=-"], "settings.password"),
        (["--auth", "basic", "--set", "username=u"], "settings.password"),
        (["--auth", "basic", "--set", "username=u", "--secret", "password=prompt"], "settings.password"),
    ],
)
def test_secrets_are_refused_on_the_command_line_and_bad_sources_named(cli, home, args, field, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE_42", raising=False)
    r = cli("connections", "add", "c", *args)
    assert r.code == 2
    assert field in r.err
    assert PW not in r.text
    assert not home.store.path.exists() or "c" not in json.dumps(home.store.all("connections"))


def test_edit_keeps_untouched_secrets(cli, home, api_server, monkeypatch):
    monkeypatch.setenv("OLD", "Bearer old-token")
    monkeypatch.setenv("K2", KEY2)
    assert cli("connections", "add", "api", "--auth", "header", "--secret", "headers.Authorization=env:OLD",
               "--secret", "headers.X-Two=env:K2").code == 0
    edited = cli("connections", "edit", "api", "--test-url", api_server.url + "/bearer/me", "--description", "main account", "--json")
    assert edited.code == 0, edited.err
    assert edited.json["description"] == "main account"
    headers = Connections(home).get("api").settings.headers
    assert headers["Authorization"].get_secret_value() == "Bearer old-token"
    assert headers["X-Two"].get_secret_value() == KEY2
    assert cli("connections", "test", "api").code == 1  # the old token is refused
    monkeypatch.setenv("TOK", f"Bearer {TOKEN}")
    assert cli("connections", "edit", "api", "--secret", "headers.Authorization=env:TOK").code == 0
    headers = Connections(home).get("api").settings.headers
    assert headers["Authorization"].get_secret_value() == f"Bearer {TOKEN}"
    assert headers["X-Two"].get_secret_value() == KEY2  # untouched by the partial edit
    ok = cli("connections", "test", "api", "--json")
    assert ok.code == 0 and ok.json["ok"] is True and ok.json["status"] == 200
    assert cli("connections", "test", "api", "--url", api_server.url + "/header/me", "--json").json["ok"] is True
    renamed = cli("connections", "edit", "api", "--rename", "api2", "--json")
    assert renamed.json["name"] == "api2"
    assert Connections(home).get("api2").settings.headers["X-Two"].get_secret_value() == KEY2
    nothing = cli("connections", "edit", "api2")
    assert nothing.code == 2 and "Nothing to change" in nothing.err
    for r in (edited, ok, renamed):
        assert not any(s in r.text for s in PLANTED)


def test_edit_unset_removes_one_header_and_names_a_missing_one(cli, home, monkeypatch):
    monkeypatch.setenv("K2", KEY2)
    monkeypatch.setenv("TOK", TOKEN)
    assert cli("connections", "add", "two", "--auth", "header", "--secret", "headers.X-Api-Key=env:TOK",
               "--secret", "headers.X-Old=env:K2").code == 0
    r = cli("connections", "edit", "two", "--unset", "headers.X-Old", "--json")
    assert r.code == 0, r.err
    assert list(Connections(home).get("two").settings.headers) == ["X-Api-Key"]
    missing = cli("connections", "edit", "two", "--unset", "headers.X-Gone")
    assert missing.code == 2 and "settings.headers.X-Gone" in missing.err
    emptied = cli("connections", "edit", "two", "--unset", "headers.X-Api-Key")
    assert emptied.code == 2 and "settings.headers" in emptied.err  # header auth needs at least one
    assert not any(s in r.text + missing.text + emptied.text for s in PLANTED)


def test_test_command_reports_rejection_and_refusal(cli, api_server, monkeypatch, free_port_url):
    monkeypatch.setenv("BAD", "not-the-password")
    cli("connections", "add", "bad", "--auth", "basic", "--set", "username=octo", "--secret", "password=env:BAD",
        "--test-url", api_server.url + "/basic/me")
    rejected = cli("connections", "test", "bad", "--json")
    assert rejected.code == 1
    assert rejected.json["outcome"] == "credentials_rejected" and rejected.json["api_message"] == "Bad credentials"
    plain = cli("connections", "test", "bad")
    assert plain.code == 1 and "credentials_rejected" in plain.out and "Bad credentials" in plain.out
    refused = cli("connections", "test", "bad", "--url", free_port_url, "--json")
    assert refused.json["outcome"] == "connection_refused"
    cli("connections", "add", "nourl", "--auth", "none")
    missing = cli("connections", "test", "nourl")
    assert missing.code == 2 and "no test URL" in missing.err and "--test-url" in missing.err


@pytest.fixture
def free_port_url():
    from conftest import free_port

    return f"http://127.0.0.1:{free_port()}/"


def test_types_lists_auth_types_and_fields(cli):
    listed = cli("connections", "types", "--json")
    names = {t["name"] for t in listed.json}
    assert {"none", "basic", "header", "query", "custom", "digest"} <= names
    fields = {f["name"]: f for f in cli("connections", "types", "custom", "--json").json["fields"]}
    assert set(fields) == {"headers", "params", "username", "password"}
    assert fields["headers"]["secret"] and fields["params"]["secret"] and fields["password"]["secret"]
    assert not fields["username"]["secret"]
    header = cli("connections", "fields", "header", "--json").json
    assert header["fields"][0]["name"] == "headers" and header["fields"][0]["required"]
    assert "digest" in cli("connections", "types").out
    unknown = cli("connections", "types", "kerberos")
    assert unknown.code == 2 and "auth_type" in unknown.err


def test_restricted_ip_is_accepted_with_a_deprecation_warning(cli, home, tmp_path, connections):
    r = cli("connections", "add", "old", "--auth", "none", "--restricted-ip", "--json")
    assert r.code == 0
    assert "Warning:" in r.err and "restricted_ip" in r.err and "private_network" in r.err
    assert "restricted_ip" not in r.json
    spec = tmp_path / "conn.json"
    spec.write_text(json.dumps({"name": "older", "auth_type": "none", "restricted_ip": True}))
    r = cli("connections", "add", "--from-file", str(spec))
    assert r.code == 0 and "deprecated" in r.err
    edited = cli("connections", "edit", "older", "--restricted-ip")
    assert edited.code == 0 and "deprecated" in edited.err
    with pytest.warns(PlugwireDeprecationWarning, match="agent_url"):
        connections.create({"name": "py", "auth_type": "none", "restricted_ip": False})


@pytest.mark.parametrize(
    "args, field, words",
    [
        (["--auth", "none", "--test-url", "not a url"], "test_url", "spaces"),
        (["--auth", "none", "--test-url", "api.example.com/v1"], "test_url", "relative"),
        (["--auth", "none", "--test-url", "ftp://api.example.com/"], "test_url", "scheme"),
        (["--auth", "none", "--base-url", "https://"], "base_url", ""),
        (["--auth", "kerberos"], "auth_type", "unknown auth type 'kerberos'"),
        ([], "auth_type", "auth_type is missing"),
        (["--auth", "header"], "settings.headers", "required"),
        (["--auth", "digest", "--secret", "password=env:HOME"], "settings.username", "Field required"),
        (["--auth", "none", "--cert-file", "/nonexistent/client.pem"], "client_certificate.certificate", "cannot read"),
        (["--auth", "none", "--key-file", "/tmp/k.pem"], "client_certificate.certificate", "--cert-file"),
        (["--auth", "none", "--cert-file", "{binary}"], "client_certificate.certificate", "not a text PEM file"),
        (["--auth", "none", "--cert-file", "{text}"], "client_certificate.certificate", "not a PEM certificate"),
        (["--auth", "none", "--bogus-option"], "--bogus-option", "No such option"),
        (["--auth", "none", "--private-network"], "private_network", "agent_url"),
        (["--auth", "none", "--private-network", "--agent-url", "gopher://x"], "agent_url", "scheme"),
        (["--auth", "none", "--timeout", "0"], "timeout", "greater than 0"),
    ],
)
def test_bad_input_names_the_field(cli, args, field, words, tmp_path):
    (tmp_path / "binary.pem").write_bytes(b"\xff\xfe\x00\x81 not text")
    (tmp_path / "text.pem").write_text("just some text, no certificate here\n")
    args = [a.format(binary=tmp_path / "binary.pem", text=tmp_path / "text.pem") for a in args]
    r = cli("connections", "add", "bad", *args)
    assert r.code in (1, 2), r.out
    assert "Error" in r.err
    assert field in r.err and words in r.err


def test_bad_name_and_duplicate_name(cli):
    bad = cli("connections", "add", "bad name!", "--auth", "none")
    assert bad.code == 2 and "name:" in bad.err
    assert cli("connections", "add", "dup", "--auth", "none").code == 0
    dup = cli("connections", "add", "dup", "--auth", "none")
    assert dup.code == 1 and "already exists" in dup.err


def test_no_secret_reaches_output_logs_or_store(cli, home, api_server, monkeypatch, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PW", PW)
    monkeypatch.setenv("TOK", f"Bearer {TOKEN}")
    results = [
        cli("connections", "add", "b", "--auth", "basic", "--set", "username=octo", "--secret", "password=env:PW",
            "--test-url", api_server.url + "/basic/me"),
        cli("connections", "add", "h", "--auth", "header", "--secret", "headers.Authorization=env:TOK", "--json"),
        cli("connections", "add", "q", "--auth", "query", "--secret", "params.token=-", "--json", stdin=KEY2),
    ]
    for name in ("b", "h", "q"):
        for cmd in (["show", name], ["show", name, "--json"], ["test", name, "--url", api_server.url + "/basic/me"],
                    ["test", name, "--url", api_server.url + "/query/me", "--json"]):
            results.append(cli("connections", *cmd))
    results += [cli("connections", "list"), cli("connections", "list", "--json"),
                cli("connections", "edit", "b", "--secret", "password=wrong-" + PW)]
    assert all(r.code in (0, 1, 2) for r in results)
    assert results[3 + 2].code == 0  # b tested against /basic/me succeeded
    text = "".join(r.text for r in results) + caplog.text
    stored = home.store.path.read_text()
    for s in PLANTED:
        assert s not in text
        assert s not in stored
    assert "$sealed" in stored


def test_console_script_in_a_real_process(tmp_path, api_server):
    exe = shutil.which("plugwire", path=str(Path(sys.executable).parent)) or shutil.which("plugwire")
    assert exe, "the plugwire console script is not installed"
    env = {**os.environ, "PLUGWIRE_HOME": str(tmp_path / "h"), "PLUGWIRE_TESTING": "1"}
    env.pop("CI", None)
    add = subprocess.run(
        [exe, "connections", "add", "sub", "--auth", "basic", "--set", "username=octo", "--secret", "password=-",
         "--test-url", api_server.url + "/basic/me", "--json"],
        input=PW + "\n", capture_output=True, text=True, env=env, timeout=60,
    )
    assert add.returncode == 0, add.stderr
    assert json.loads(add.stdout)["settings"]["password"] == "••••••"
    test = subprocess.run([exe, "connections", "test", "sub", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert test.returncode == 0 and json.loads(test.stdout)["outcome"] == "ok"
    bad = subprocess.run([exe, "connections", "add", "x", "--auth", "basic", "--secret", f"password={PW}"],
                         capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "settings.password" in bad.stderr and "Traceback" not in bad.stderr
    assert "use --secret password=env:VAR" in bad.stderr  # the fix is written as the user types it
    for r in (add, test, bad):
        assert PW not in r.stdout + r.stderr
    assert PW not in (tmp_path / "h" / "plugwire.json").read_text()


def test_show_prints_masked_values_as_bullets_not_escapes(cli, monkeypatch):
    """Issue 14, item 12: a mapping setting is printed as JSON text with its bullets."""
    monkeypatch.setenv("TOK", f"Bearer {TOKEN}")
    assert cli("connections", "add", "h", "--auth", "header", "--secret", "headers.Authorization=env:TOK").code == 0
    shown = cli("connections", "show", "h")
    assert '{"Authorization": "••••••"}' in shown.out
    assert "\\u2022" not in shown.out and TOKEN not in shown.text


def test_list_and_types_never_cut_names_at_80_columns(cli, home, tmp_path):
    """Issue 14, item 11: connection and auth type names are whole in an 80-column terminal."""
    name = "a-rather-long-connection-name-for-the-billing-system"
    assert cli("connections", "add", name, "--auth", "none", "--test-url", "https://billing.example.com/v2/me").code == 0
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path), "COLUMNS": "80"}
    for args, whole in ((["list"], name), (["types"], "oauth2_client_credentials")):
        done = subprocess.run([sys.executable, "-m", "plugwire", "connections", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stderr
        assert whole in done.stdout and all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout


def test_a_description_with_brackets_is_printed_as_typed(cli):
    """What the user typed is not rich markup: ``[bold]`` stays visible."""
    assert cli("connections", "add", "crm", "--auth", "none", "--description", "[bold]prod[/bold] CRM").code == 0
    assert "[bold]prod[/bold] CRM" in cli("connections", "show", "crm").out


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_a_data_folder_plugwire_creates_is_ignored_by_git(cli, tmp_path, monkeypatch):
    """Issue 14, item 16: secret.key sits in the data folder; git must not offer it."""
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "app.py").write_text("print('hi')\n")
    monkeypatch.setenv("PLUGWIRE_HOME", str(repo / "data" / ".plugwire-data"))
    monkeypatch.setenv("TOK", TOKEN)
    assert cli("connections", "add", "h", "--auth", "header", "--secret", "headers.X-Key=env:TOK").code == 0
    data = repo / "data" / ".plugwire-data"
    assert (data / "secret.key").exists() and (data / ".gitignore").read_text().splitlines()[-1] == "*"
    assert _git("status", "--porcelain", "--untracked-files=all", cwd=repo).split() == ["??", "app.py"]


def test_an_existing_gitignore_in_the_data_folder_is_kept(cli, tmp_path, monkeypatch):
    from plugwire.core.storage.store import make_data_folder

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / ".gitignore").write_text("# my own\n")
    monkeypatch.setenv("PLUGWIRE_HOME", str(folder))
    assert cli("connections", "add", "n", "--auth", "none").code == 0
    assert (folder / ".gitignore").read_text() == "# my own\n"
    fresh = tmp_path / "fresh"
    make_data_folder(fresh)
    (fresh / ".gitignore").write_text("# edited\n")
    make_data_folder(fresh)  # the folder exists: nothing is rewritten
    assert (fresh / ".gitignore").read_text() == "# edited\n"


def test_the_repository_ignores_the_readmes_data_folder():
    root = Path(__file__).resolve().parent.parent
    assert ".plugwire-data/" in (root / ".gitignore").read_text().splitlines()
