"""``plugwire actions new`` at a terminal (issue 14, items 1 to 4 and 10): the menu's
keys shown as typed, the saved connections that fit the URL's host offered, a bad
URL or a body that is not JSON asked again, a field keeping its type, a taken name
refused before anything is sent, and the network-policy warning at apply.

The first test runs the real command in a pseudo-terminal (rich renders as it does
for a person); the others answer the prompts through stdin, in-process."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest

from venue_api import bearer_connection, serve
from wizard_term_pty import Terminal

TOKEN = "evb-term-token-2718"


@pytest.fixture
def api(live_server):
    return serve(live_server, token=TOKEN)


@pytest.fixture
def evb(connections, api):
    """A connection whose base URL has the test API's host."""
    return connections.create({"name": "evb", "auth_type": "header", "base_url": api.url,
                               "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})


def test_at_a_terminal_the_menu_keys_show_a_bad_url_is_asked_again_and_the_connection_is_offered(home, api, evb):
    term = Terminal(["actions", "new"], dict(os.environ))
    try:
        term.expect("HTTP method")
        term.send("GET")
        term.expect("Absolute URL")
        term.send("api.example.com/no scheme")
        shown = term.expect("Absolute URL")  # asked again, the wizard did not end
        assert "Error:" in shown and term.proc.poll() is None
        term.send(f"{api.url}/rest/api/2/project")
        offered = term.expect("Connection number")
        assert "evb" in offered and "none" in offered and "header" in offered
        assert "(1)" in term.expect(":")  # the only connection that fits is the default
        term.send("")
        menu = term.expect("[x] quit")
        assert "[s] send, [e] edit a field, [h] header" in menu
        term.send("x")
        term.expect("Nothing saved.")
        assert term.wait() == 0
    finally:
        term.close()


# -- in-process, answers through stdin ----------------------------------------------
@pytest.fixture
def wizard(home, monkeypatch, capsys):
    """Run ``plugwire actions new ARGS`` with ``answers`` typed at its prompts; returns
    ``(exit code, stdout, stderr)``."""
    from plugwire.core.cli import actions as cli_actions
    from plugwire.core.cli import main

    def run(args: list[str], answers: list[str]) -> tuple[int, str, str]:
        monkeypatch.setattr(cli_actions, "stdin_is_interactive", lambda: True)
        monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(answers) + "\n"))
        monkeypatch.setenv("COLUMNS", "200")
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(["actions", "new", *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return done.value.code or 0, out, err

    return run


def test_a_connection_that_fits_is_offered_and_none_can_be_picked(wizard, api, evb, connections):
    connections.create({"name": "other", "auth_type": "none", "base_url": "https://api.example.com"})
    url = f"{api.url}/v3/organizations/7/venues/"
    code, out, _ = wizard([], ["GET", url, "0", "s", "x"])  # none: sent without credentials
    assert code == 0 and "Saved connections for this host" in out and "other" not in out
    assert "401" in out and api.received[-1]["headers"].get("authorization") is None
    # Back to step 1: a bad URL is asked again, and the connections are offered again.
    code, out, _ = wizard([], ["GET", url, "0", "k", "GET", "htp:/nowhere", url, "", "s", "x"])
    assert code == 0 and "Error: url" in out and out.count("Saved connections for this host") == 2
    assert "200 OK" in out and api.received[-1]["headers"]["authorization"] == f"Bearer {TOKEN}"
    code, out, _ = wizard(["--connection", "evb"], ["GET", url, "s", "x"])  # given: not asked
    assert code == 0 and "Saved connections" not in out and "200 OK" in out


def test_unattended_without_a_connection_names_the_ones_that_fit_after_a_401(run_cli, api, evb):
    url = f"{api.url}/v3/organizations/7/venues/"
    code, out, err = run_cli("actions", "new", "--name", "Venues", "--method", "GET", "--url", url, "--yes", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["attempts"][0]["exchange"]["response"]["status"] == 401
    assert data["fitting_connections"] == ["evb"]
    assert "send it through connection 'evb'" in data["reason"] and "--connection evb" in data["reason"]
    code, out, err = run_cli("actions", "new", "--name", "Venues", "--method", "GET", "--url", url, "--yes")
    assert code == 1 and "--connection evb" in err


def test_invalid_json_body_is_refused_with_line_and_column_and_asked_again(wizard, api, evb):
    url = f"{api.url}/echo"
    code, out, _ = wizard(["--connection", "evb", "--no-suggestion"],
                          ["POST", url, "b", "{", '  "a": 1,', '  "b": }', ".", '{"a": 1}', ".", "s", "x"])
    assert code == 0
    assert "The body is not valid JSON: Expecting value at line 3, column 8." in out
    sent = api.received[-1]
    assert sent["headers"]["content-type"] == "application/json" and json.loads(sent["body"]) == {"a": 1}
    assert sum(1 for r in api.received if r["path"] == "/echo") == 1  # the broken body never went out


def test_invalid_json_body_unattended_is_bad_input_before_anything_is_sent(run_cli, api, evb):
    code, out, err = run_cli("actions", "new", "--name", "Echo", "--connection", "evb", "--method", "POST",
                             "--url", f"{api.url}/echo", "--no-suggestion", "--body", '{"a": 1,\n "b": tru}', "--yes")
    assert code == 2 and "body is not valid JSON" in err and "line 2, column 7" in err
    code, out, err = run_cli("actions", "new", "--name", "Echo", "--connection", "evb", "--method", "POST",
                             "--url", f"{api.url}/echo", "--no-suggestion", "--body", "[1, 2", "--yes", "--json")
    assert code == 2 and "line 1, column 6" in out + err
    assert api.received == []


def test_a_typed_field_keeps_its_type_and_json_sets_any(run_cli, wizard, api, evb):
    body = '{"owner": {"id": 1, "active": true, "name": "Ana"}, "tags": []}'
    args = ["--connection", "evb", "--method", "POST", "--url", f"{api.url}/echo", "--no-suggestion", "--body", body]
    code, out, err = run_cli("actions", "new", "--name", "Typed", *args, "--set", "owner.id=9", "--set", "owner.active=false",
                             "--set", "owner.name=42", "--set", 'tags:=["a"]', "--set", "owner.ref:=null", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["action"]["body"] == {"owner": {"id": 9, "active": False, "name": "42", "ref": None}, "tags": ["a"]}
    code, out, err = run_cli("actions", "new", "--name", "Typed 2", *args, "--set", "owner.id=nine", "--yes")
    assert code == 2 and "owner.id is a number field; 'nine' is not a number" in err and 'owner.id:="text"' in err
    code, out, err = run_cli("actions", "new", "--name", "Typed 2", *args, "--set", "tags:=[1,", "--yes")
    assert code == 2 and "line 1, column 4" in err
    # At the prompt: PATH=VALUE, PATH:=JSON, or the path alone and then the value.
    code, out, _ = wizard(args, ["e", "owner.id=12", "e", "tags:=[\"x\", 2]", "e", "owner.active", "true", "v", "x"])
    assert code == 0 and "PATH:=JSON" in out
    shown = out[out.rindex("Request: POST"):]
    assert '"id": 12' in shown and '"x",' in shown and '"active": true' in shown


def test_a_taken_name_is_refused_before_the_request_is_sent(run_cli, wizard, api, evb):
    args = ["--connection", "evb", "--method", "GET", "--url", f"{api.url}/rest/api/2/project", "--no-suggestion"]
    assert run_cli("actions", "new", "--name", "Projects", *args, "--yes")[0] != 2
    sent = len(api.received)
    code, out, err = run_cli("actions", "new", "--name", "Projects", *args, "--yes", "--json")
    assert code == 2 and "An action named 'Projects' already exists." in out + err
    assert len(api.received) == sent
    # At the prompt, a taken --name is asked again before the menu (nothing sent yet).
    code, out, _ = wizard(["--name", "Projects", *args], ["Projects 2", "x"])
    assert code == 0 and "An action named 'Projects' already exists." in out and len(api.received) == sent


def test_apply_warns_when_serve_would_refuse_the_host(run_cli, home, api, evb):
    from plugwire.core.storage.served import record_served

    args = ["--connection", "evb", "--method", "GET", "--url", f"{api.url}/rest/api/2/project", "--no-suggestion", "--yes"]
    code, out, err = run_cli("actions", "new", "--name", "Local 1", *args)
    assert code == 0 and "Saved action Local 1." in out
    assert "network policy would refuse" in err and "plugwire serve --allow-host 127.0.0.1" in err
    code, out, err = run_cli("actions", "new", "--name", "Local 2", *args, "--json")
    data = json.loads(out)
    assert data["applied"] is True and len(data["warnings"]) == 1 and "--no-network-policy" in data["warnings"][0]
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=True, allow=["127.0.0.1"])
    code, out, err = run_cli("actions", "new", "--name", "Local 3", *args, "--json")
    assert code == 0 and json.loads(out)["warnings"] == []
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=False)
    code, out, err = run_cli("actions", "new", "--name", "Local 4", *args)
    assert code == 0 and "network policy" not in out + err
