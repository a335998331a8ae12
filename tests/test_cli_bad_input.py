"""Bad input at the command line: a plain error naming the field or position, exit
code 2, never a traceback (issue 13, item 6). ``run_cli`` fails a test on any
traceback, and an exception escaping ``main`` fails it too."""

from __future__ import annotations

import json

import pytest

from test_actions_cli import api, evb  # noqa: F401 (fixtures: the venue API and a connection to it)


def _curl(run_cli, command: str, *extra: str):
    return run_cli("actions", "new", "--name", "x", "--curl", command, "--yes", "--json", *extra)


# -- cURL import -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("curl ¨", "url"),  # not a host name
        ("curl -X https://api.example.com/x :", "-X"),  # the URL taken as the method
        ("curl 'http://[::1'", "url"),  # an unclosed IPv6 host
        ("curl http://api.example.com:99999/x", "url"),  # a port out of range
        ("curl -H 'Tést: 1' https://api.example.com/x", "Tést"),
        ("curl -H 'X A: 1' https://api.example.com/x", "X A"),
        ("curl -H $'X-A: b\\r\\nX-Injected: 1' https://api.example.com/x", "X-A"),
        ("curl -A $'agent\\n' https://api.example.com/x", "User-Agent"),
        ("curl", "URL"),
    ],
)
def test_a_bad_curl_command_is_a_plain_error_with_exit_code_2(run_cli, command, named):
    code, out, err = _curl(run_cli, command)
    assert code == 2, out + err
    assert named in err and "Error:" in err and "Fix:" in err


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("Tést:1", "Tést"),  # not ASCII
        ("X(A):1", "X(A)"),  # not a token
        ("X-A:é\x7f", "X-A"),  # a control character in the value
    ],
)
def test_a_bad_header_flag_names_the_header(run_cli, header, named):
    code, out, err = run_cli("actions", "new", "--name", "x", "--method", "GET", "--url", "https://api.example.com/x",
                             "--no-suggestion", "-H", header, "--yes", "--json")
    assert code == 2, out + err
    assert named in err and "header" in err


def test_a_crlf_header_value_is_refused_before_anything_is_sent(run_cli, api, evb):
    for args in (
        ("--method", "GET", "--url", f"{api.url}/xml/venues", "-H", "X-A: b\r\nX-Injected: 1"),
        ("--curl", f"curl {api.url}/xml/venues -H $'X-A: b\\r\\nX-Injected: 1'"),
        ("--method", "GET", "--url", f"{api.url}/xml/venues", "--set", "headers.X-A=b\nX-Injected: 1"),
    ):
        code, out, err = run_cli("actions", "new", "--name", "x", "--connection", "evb", *args, "--yes", "--json")
        assert code == 2, out + err
        assert "X-A" in err and "line break" in err and "network" not in (out + err).lower()
        assert out == ""  # nothing was sent, so there is no attempt to print
    assert api.received == []


# -- exit codes ----------------------------------------------------------------------------
def test_user_input_errors_exit_2_other_failures_exit_1(run_cli, api, evb):
    code, _, err = run_cli("actions", "new", "--name", "x", "--method", "GET", "--yes")
    assert code == 2 and "url is missing" in err
    code, _, err = run_cli("actions", "new", "--name", "x", "--method", "GET", "--url", "/relative", "--yes")
    assert code == 2 and "relative" in err
    code, _, err = run_cli("actions", "show", "nope")  # a name that does not exist: not bad input
    assert code == 1 and "No action named 'nope'" in err
    code, _, err = run_cli("actions", "new", "--bogus")  # click's own usage error
    assert code == 2 and "No such option" in err
    code, out, _ = run_cli("actions", "new", "--name", "Create venue", "--connection", "evb", "--method", "POST",
                           "--url", f"{api.url}/v3/organizations/1/venues/", "--set", "venue.address.country=USA",
                           "--yes", "--json")
    assert code == 1 and json.loads(out)["applied"] is False  # the API said no: not the user's typing
