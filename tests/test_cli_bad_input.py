"""Bad input at the command line: a plain error naming the field or position, exit
code 2, never a traceback (issue 13, item 6). ``run_cli`` fails a test on any
traceback, and an exception escaping ``main`` fails it too."""

from __future__ import annotations

import json

import pytest

from test_actions_cli import api, evb  # noqa: F401 (fixtures: the venue API and a connection to it)


@pytest.fixture
def run_cli(run_cli):
    """conftest's ``run_cli``; with ``--json``, a failure is the JSON document
    ``{"error", "field", "fix"}`` on stdout (issue 14, item 13): it is checked and
    handed back as the text stderr shows without ``--json``, so that every test here
    reads the message, the field and the fix alike."""

    def run(*args: str) -> tuple[int, str, str]:
        code, out, err = run_cli(*args)
        if code == 0 or "--json" not in args:
            return code, out, err
        try:
            doc = json.loads(out)
        except ValueError:
            return code, out, err
        if not (isinstance(doc, dict) and "error" in doc):
            return code, out, err  # a command's own document (an attempt that failed)
        assert set(doc) == {"error", "field", "fix"} and err == "", (out, err)
        fix = f" Fix: {doc['fix']}" if doc["fix"] else ""
        return code, "", f"Error: {doc['error']}{fix} (field: {doc['field']})"

    return run


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


def test_a_crlf_header_value_is_refused_before_anything_is_sent(run_cli, api, evb):  # noqa: F811
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
def test_user_input_errors_exit_2_other_failures_exit_1(run_cli, api, evb):  # noqa: F811
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


# -- knowledge import ----------------------------------------------------------------------
def _doc(**top) -> dict:
    doc = {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
           "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    doc.update(top)
    return doc


def _import(run_cli, tmp_path, text: str, name: str = "spec.json"):
    spec = tmp_path / name
    spec.write_text(text)
    return run_cli("knowledge", "import", str(spec), "-o", str(tmp_path / "out.yaml"), "--json")


@pytest.mark.parametrize(
    ("top", "named"),
    [
        ({"paths": None}, "paths"),
        ({"paths": []}, "paths"),
        ({"paths": {"/x": []}}, "/x"),
        ({"paths": {"/x": None}}, "/x"),
        ({"paths": {"/x": {"get": None}}}, "/x"),
        ({"paths": {"/x": {"parameters": None, "get": {"parameters": "p", "responses": None}}}}, None),
        ({"servers": None}, "host"),
        ({"servers": "https://api.example.com"}, "host"),
        ({"info": None}, None),
        ({"components": None}, None),
        ({"components": []}, None),
        ({"components": {"securitySchemes": None}}, None),
        ({"components": {"securitySchemes": {"k": None}}}, None),
        ({"security": None}, None),
        ({"security": "k"}, None),
        ({"security": [None, {"k": None}, "x"]}, None),
        ({"tags": None, "externalDocs": None}, None),
    ],
)
def test_import_of_nulls_and_wrong_types_is_a_plain_error_or_a_report(run_cli, home, tmp_path, top, named):
    code, out, err = _import(run_cli, tmp_path, json.dumps(_doc(**top)))
    if named is None:  # the operation is still fine: imported, the odd value reported or ignored
        assert code == 0, err
        assert json.loads(out)["imported"] == 1
    else:
        assert code == 2, out + err
        assert named in err and "Fix:" in err


def test_import_of_a_document_nested_100k_deep(run_cli, home, tmp_path):
    deep = '{"openapi": "3.0.0", "paths": ' + "[" * 100_000 + "]" * 100_000 + "}"
    code, _, err = _import(run_cli, tmp_path, deep)
    assert code == 2 and "nested" in err and "Fix:" in err
    # Deep enough to parse, too deep for the importer's walks.
    deep = json.dumps(_doc(**{"x-deep": json.loads("[" * 900 + "]" * 900)}))
    code, _, err = _import(run_cli, tmp_path, deep)
    assert code == 2 and "nested" in err
    deep_yaml = "openapi: 3.0.0\npaths:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600)) + "  " * 601 + "v: 1\n"
    code, _, err = _import(run_cli, tmp_path, deep_yaml, "deep.yaml")
    assert code == 2 and "nested" in err


def test_import_refuses_a_yaml_alias_bomb(run_cli, home, tmp_path):
    lines = ["openapi: 3.0.0", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["paths:", "  /x:", "    get:", "      responses: {'200': {description: ok}}", "      x-bomb: *a9"]
    code, _, err = _import(run_cli, tmp_path, "\n".join(lines) + "\n", "bomb.yaml")
    assert code == 2 and "alias" in err and "Fix:" in err
    code, _, err = _import(run_cli, tmp_path, "openapi: 3.0.0\npaths: &p\n  /x: *p\n", "loop.yaml")
    assert code == 2 and "itself" in err


def test_catalogue_validate_reports_deep_and_recursive_files(run_cli, tmp_path):
    (tmp_path / "deep.json").write_text('{"format": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "loop.yaml").write_text("format: 1\nx: &x [*x]\n")
    code, out, err = run_cli("knowledge", "validate", str(tmp_path))
    assert code == 1 and "deep.json" in out + err and "nested" in out + err
    assert "loop.yaml" in out + err and "itself" in out + err


_BOMB = "\n".join(['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
                  + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "\nname: x\n"


@pytest.mark.parametrize("command", [("recipes", "add"), ("connections", "add", "c", "--from-file")])
def test_files_given_to_the_cli_are_read_within_bounds(run_cli, tmp_path, command):
    for name, data, said in (
        ("latin1.yaml", "name: caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("bomb.yaml", _BOMB.encode(), "alias"),
        ("loop.yaml", b"name: &n [*n]\n", "itself"),
        ("deep.json", b"[" * 5000 + b"]" * 5000, "nest"),
    ):
        (tmp_path / name).write_bytes(data)
        code, _, err = run_cli(*command, str(tmp_path / name))
        assert code == 2 and said in err and name in err and "Fix:" in err, err
