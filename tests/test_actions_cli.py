"""``plugwire actions``: the wizard unattended with flags (and driven at a prompt),
list, show, remove and curl, against a real local API."""

from __future__ import annotations

import io
import json
import sys

import pytest

from plugwire.core.base.secrets import MASK
from venue_api import bearer_connection, serve

TOKEN = "evb-cli-token-31337"


@pytest.fixture
def api(live_server):
    return serve(live_server, token=TOKEN)


@pytest.fixture
def evb(connections):
    return bearer_connection(connections, TOKEN)


def _new(api, *extra):
    return ("actions", "new", "--name", "Create venue", "--connection", "evb", "--method", "POST",
            "--url", f"{api.url}/v3/organizations/1234567/venues/", *extra)


def test_new_unattended_json_applies_after_a_2xx(run_cli, home, api, evb):
    code, out, err = run_cli(*_new(api, "--set", "venue.name=CLI Hall", "--set", "venue.capacity:=250",
                                   "--header", "X-Client:plugwire-cli", "--query", "expand=venue", "--yes", "--json"))
    assert code == 0, err
    data = json.loads(out)
    assert data["applied"] is True and data["chosen"] == 1
    assert data["suggestions"][0]["endpoint"] == "POST /v3/organizations/{organization_id}/venues/"
    action = data["action"]
    assert action["name"] == "Create venue" and action["connection"] == "evb"
    assert action["body"]["venue"]["name"] == "CLI Hall" and action["body"]["venue"]["capacity"] == 250
    assert action["headers"]["X-Client"] == "plugwire-cli" and action["query"] == {"expand": "venue"}
    assert action["sample_response"]["status"] == 200
    assert action["sample_request"]["headers"]["Authorization"] == f"Bearer {MASK}"
    assert "address.localized_address_display" in {f["path"] for f in _walk(action["datatree"]["root"])}
    assert data["learned"]["learned"] is True
    assert api.received[-1]["query"] == [("expand", "venue")] and api.received[-1]["headers"]["x-client"] == "plugwire-cli"
    assert TOKEN not in out + err and TOKEN not in home.store.path.read_text()


def _walk(node):
    yield node
    for child in node.get("children", []):
        yield from _walk(child)
    if node.get("item"):
        yield from _walk(node["item"])


def test_new_refuses_to_apply_after_a_400_and_says_why(run_cli, home, api, evb):
    code, out, err = run_cli(*_new(api, "--set", "venue.address.country=USA", "--yes", "--json"))
    assert code == 1
    data = json.loads(out)
    assert data["applied"] is False
    assert "answered 400" in data["reason"] and "two-letter ISO 3166-1 code" in data["reason"]
    attempt = data["attempts"][0]
    assert attempt["exchange"]["response"]["status"] == 400
    assert attempt["exchange"]["response"]["body"]["error"] == "INVALID"
    assert "venue.address.country" in {v["path"] for v in attempt["violations"]}
    code, out, err = run_cli("actions", "list", "--json")
    assert json.loads(out) == []


def test_new_text_output_shows_the_exchange_in_full(run_cli, api, evb):
    code, out, err = run_cli(*_new(api, "--set", "venue.address.country=USA", "--yes"))
    assert code == 1
    assert "400 Bad Request" in out and '"error_description": "venue.address.country: country must be a two-letter' in out
    assert 'Field at fault: venue.address.country: "USA" does not match ^[A-Z]{2}$' in out
    assert "Apply refused" not in err and "answered 400" in err
    code, out, err = run_cli(*_new(api, "--yes"))
    assert code == 0, err
    assert "200 OK" in out and "Saved action Create venue." in out and "Output fields" in out


def test_list_show_curl_remove(run_cli, api, evb):
    assert run_cli(*_new(api, "--yes", "--json"))[0] == 0
    code, out, _ = run_cli("actions", "list")
    assert code == 0 and "Create venue" in out and "POST" in out and "200" in out
    code, out, _ = run_cli("actions", "show", "Create venue")
    assert code == 0 and "Sample response: 200 OK" in out and "localized_address_display" in out
    code, out, _ = run_cli("actions", "show", "Create venue", "--json")
    assert json.loads(out)["datatree"]["source"] == "json"
    code, out, err = run_cli("actions", "curl", "Create venue")
    assert code == 0 and out.startswith("curl ") and f"Authorization: Bearer {MASK}" in out and TOKEN not in out
    code, out, err = run_cli("actions", "curl", "Create venue", "--show-secrets")
    assert f"Authorization: Bearer {TOKEN}" in out and "clear text" in err
    code, out, _ = run_cli("actions", "remove", "Create venue", "--json")
    assert code == 0 and json.loads(out) == {"removed": "Create venue"}
    code, out, err = run_cli("actions", "show", "Create venue")
    assert code == 1 and "No action named 'Create venue'" in err


def test_new_from_curl_and_a_body_file(run_cli, api, evb, tmp_path):
    body = tmp_path / "booking.json"
    body.write_text(json.dumps({"guest": {"email": "ana@example.com"}}))
    command = f"curl -X POST {api.url}/api/v2/rooms/5/bookings -H 'X-Client: from-curl' -d 'ignored=1'"
    code, out, err = run_cli("actions", "new", "--name", "Book", "--connection", "evb", "--curl", command,
                             "--body-file", str(body), "--yes", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["action"]["headers"] == {"X-Client": "from-curl"}
    assert data["action"]["body"] == {"guest": {"email": "ana@example.com"}} and data["action"]["body_format"] == "json"
    assert data["attempts"][-1]["exchange"]["response"]["status"] == 201


def test_mistakes_are_one_line_errors(run_cli, api, evb):
    code, _, err = run_cli("actions", "new", "--name", "x", "--method", "GET", "--yes")
    assert code == 2 and "url is missing" in err
    code, _, err = run_cli("actions", "new", "--name", "x", "--method", "GET", "--url", "/rest/api/2/project", "--yes")
    assert code == 2 and "relative" in err
    code, _, err = run_cli("actions", "new", "--method", "GET", "--url", f"{api.url}/xml/venues", "--yes")
    assert code == 2 and "name is missing" in err
    code, _, err = run_cli(*_new(api, "--body", "{oops", "--body-format", "json", "--yes"))
    assert code == 2 and "not valid JSON" in err
    code, _, err = run_cli(*_new(api, "--set", "novalue", "--yes"))
    assert code == 2 and "PATH=VALUE" in err
    code, _, err = run_cli("actions", "new", "--name", "y", "--connection", "nope", "--method", "GET", "--url", f"{api.url}/xml/venues", "--yes")
    assert code == 1 and "No connection named 'nope'" in err


def test_without_yes_and_without_a_terminal_it_only_tries(run_cli, api):
    code, out, err = run_cli("actions", "new", "--name", "XML", "--method", "GET", "--url", f"{api.url}/xml/venues", "--no-suggestion")
    assert code == 0 and "200 OK" in out and "Pass --yes" in err
    assert json.loads(run_cli("actions", "list", "--json")[1]) == []


def test_interactive_wizard_at_a_prompt(home, api, evb, monkeypatch, capsys):
    """Drive the prompts: pick the venue endpoint, break the country, send, read the
    400, fix it, send, review, name and apply."""
    from plugwire.core.cli import actions as cli_actions
    from plugwire.core.cli import main

    answers = "\n".join([
        "POST", f"{api.url}/v3/organizations/99/venues/",   # step 1
        "e", "venue.address.country", "USA",                 # edit a field
        "s",                                                 # send: 400
        "r",                                                 # review: refused, back to step 2
        "e", "venue.address.country", "US",
        "s",                                                 # 200
        "r", "Prompted venue", "y",                          # review, name, apply
    ]) + "\n"
    monkeypatch.setattr(cli_actions, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as done:
        main(["actions", "new", "--connection", "evb"])
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    assert "400 Bad Request" in out and "Field at fault: venue.address.country" in out
    assert "Only a request that succeeded" in out
    assert "Saved action Prompted venue." in out
    from plugwire.core.wizard.actions import Actions

    assert Actions(home).get("Prompted venue").body["venue"]["address"]["country"] == "US"
