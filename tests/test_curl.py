"""cURL import of commands as vendors' docs and browsers print them, export, and the
round trip (through the parser, and through the real curl binary to a real server)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.curl.parse import action_to_curl, parse_curl, split_command, to_curl
from plugwire.core.http.exchange import FilePart, RequestSpec
from plugwire.core.http.send import send
from plugwire.core.wizard.steps import Wizard
from venue_api import serve

CHROME = r"""curl 'https://www.eventbriteapi.com/v3/organizations/1234567/venues/?expand=address' \
  -H 'authority: www.eventbriteapi.com' \
  -H 'accept: application/json, text/plain, */*' \
  -H 'accept-language: en-GB,en;q=0.9' \
  -H 'content-type: application/json;charset=UTF-8' \
  -H 'cookie: csrftoken=abc123; mgref=typeins' \
  -H 'origin: https://www.eventbrite.com' \
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \
  --data-raw $'{"venue":{"name":"Caf\u00e9 \'Central\'","address":{"country":"US"}}}' \
  --compressed"""

STRIPE = """curl https://api.stripe.com/v1/customers \\
  -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: \\
  -d name="Jenny Rosen" \\
  --data-urlencode email="jenny.rosen@example.com" \\
  -d "metadata[order_id]"=6735"""

GITHUB = """curl -L \\
  -X POST \\
  -H "Accept: application/vnd.github+json" \\
  -H "Authorization: Bearer <YOUR-TOKEN>" \\
  -H "X-GitHub-Api-Version: 2022-11-28" \\
  https://api.github.com/repos/OWNER/REPO/issues \\
  -d '{"title":"Found a bug","body":"I'\\''m having a problem with this.","labels":["bug"]}'"""

TWILIO = """curl -X POST "https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Messages.json" \\
--data-urlencode "Body=Hi there & welcome" \\
--data-urlencode "From=+15557122661" \\
--data-urlencode "To=+15558675310" \\
-u $TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN"""

JIRA = """curl --request GET \\
  --url 'https://your-domain.atlassian.net/rest/api/2/project?expand=lead' \\
  --user 'email@example.com:<api_token>' \\
  --header 'Accept: application/json'"""


def test_chrome_copy_as_curl_with_ansi_c_quoting():
    got = parse_curl(CHROME)
    r = got.request
    assert r.method == "POST"
    assert r.url == "https://www.eventbriteapi.com/v3/organizations/1234567/venues/"
    assert r.query == {"expand": "address"}
    assert r.body_format == "json" and r.body == {"venue": {"name": "Café 'Central'", "address": {"country": "US"}}}
    assert r.content_type == "application/json;charset=UTF-8"
    assert "content-type" not in {k.lower() for k in r.headers}
    assert r.headers["cookie"] == "csrftoken=abc123; mgref=typeins"
    assert r.headers["user-agent"].startswith("Mozilla/5.0")


def test_stripe_basic_user_and_form_fields():
    got = parse_curl(STRIPE)
    r = got.request
    assert r.method == "POST" and r.url == "https://api.stripe.com/v1/customers"
    assert r.body_format == "form"
    assert r.body == {"name": "Jenny Rosen", "email": "jenny.rosen@example.com", "metadata[order_id]": "6735"}
    assert got.username == "sk_test_4eC39HqLyjWDarjtT1zdp7dc" and got.password.get_secret_value() == ""
    assert "Authorization" not in r.headers  # credentials stay out of the request
    assert got.basic_header()["Authorization"].startswith("Basic ")


def test_github_json_sent_with_d_and_a_bearer_header():
    got = parse_curl(GITHUB)
    r = got.request
    assert r.method == "POST" and r.url == "https://api.github.com/repos/OWNER/REPO/issues"
    assert r.body_format == "json" and r.body["labels"] == ["bug"] and r.body["body"] == "I'm having a problem with this."
    assert r.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert any("sent as application/json" in n for n in got.notes)


def test_twilio_urlencode_and_shell_variables():
    got = parse_curl(TWILIO)
    r = got.request
    assert r.url == "https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Messages.json"
    assert r.body == {"Body": "Hi there & welcome", "From": "+15557122661", "To": "+15558675310"}
    assert got.username == "$TWILIO_ACCOUNT_SID" and got.password.get_secret_value() == "$TWILIO_AUTH_TOKEN"
    assert any("TWILIO_ACCOUNT_SID" in n and "not expanded" in n for n in got.notes)


def test_jira_long_options_and_url_flag():
    got = parse_curl(JIRA)
    assert got.request.method == "GET" and got.request.url == "https://your-domain.atlassian.net/rest/api/2/project"
    assert got.request.query == {"expand": "lead"} and got.request.headers == {"Accept": "application/json"}
    assert got.username == "email@example.com" and got.password.get_secret_value() == "<api_token>"


def test_json_flag_get_flag_forms_files_and_combined_short_options(tmp_path):
    j = parse_curl("curl --json '{\"tool\": \"curl\"}' https://example.com/api")
    assert j.request.method == "POST" and j.request.body == {"tool": "curl"} and j.request.headers["Accept"] == "application/json"
    g = parse_curl('curl -G https://api.example.com/search --data-urlencode "q=venues in lisbon" -d limit=10 -d limit=20')
    assert g.request.method == "GET" and g.request.body is None
    assert g.request.query == {"q": "venues in lisbon", "limit": ["10", "20"]}
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG....")
    f = parse_curl(f'curl -F "file=@{photo};type=image/png" -F "title=My photo" -F tag=a -F tag=b https://up.example.com/u')
    assert f.request.body_format == "multipart" and f.request.body == {"title": "My photo", "tag": ["a", "b"]}
    assert f.request.files == [FilePart(field="file", path=str(photo), content_type="image/png")]
    body = tmp_path / "body.xml"
    body.write_text("<a>\n<b>1</b>\n</a>")
    x = parse_curl(f"curl -sSL -XPUT -H'Content-Type: text/xml' --data-binary @{body} -m 12 -o out.txt https://x.example.com/doc")
    assert x.request.method == "PUT" and x.request.body_format == "xml" and x.request.body == "<a>\n<b>1</b>\n</a>"
    assert x.request.content_type == "text/xml" and x.timeout == 12.0
    assert any("-o was ignored" in n for n in x.notes)
    d = parse_curl(f"curl -d @{body} -H 'Content-Type: application/xml' https://x.example.com/doc")
    assert d.request.body == "<a><b>1</b></a>"  # -d @file drops newlines, as curl does
    raw = parse_curl("curl -d 'hello world' -H 'Content-Type: text/plain' https://x.example.com/t")
    assert raw.request.body_format == "text" and raw.request.body == "hello world"
    win = parse_curl('curl "https://x.example.com/a" ^\n  -H "Accept: text/csv"')
    assert win.request.headers == {"Accept": "text/csv"}


def test_refusals_name_the_problem():
    with pytest.raises(UserInputError, match="not a cURL command"):
        parse_curl("wget https://example.com")
    with pytest.raises(UserInputError, match="no URL"):
        parse_curl("curl -H 'Accept: x'")
    with pytest.raises(UserInputError, match="unterminated single quote"):
        parse_curl("curl 'https://example.com")
    with pytest.raises(UserInputError, match="needs a value"):
        parse_curl("curl https://example.com -H")
    with pytest.raises(UserInputError, match="cannot read the file"):
        parse_curl("curl -d @/nonexistent/body.json https://example.com")


def test_split_command_quoting():
    assert split_command("""a 'b c' "d \\"e\\" $f" g\\ h $'i\\tj\\x41' \\\n k""") == ["a", "b c", 'd "e" $f', "g h", "i\tjA", "k"]


@pytest.mark.parametrize(
    "spec",
    [
        RequestSpec(method="POST", url="https://api.example.com/v3/venues/", headers={"Accept": "application/json"}, query={"expand": "address", "tag": ["a", "b"]}, body={"venue": {"name": "O'Hara & Sons", "capacity": 300, "open": True}}, body_format="json"),
        RequestSpec(method="PUT", url="https://api.example.com/form", body={"name": "Jenny Rosen", "note": "a&b=c", "tag": ["x", "y"]}, body_format="form"),
        RequestSpec(method="POST", url="https://api.example.com/up", body={"title": "@not-a-file", "kind": "photo"}, body_format="multipart", files=[FilePart(field="file", path="/tmp/photo.png", content_type="image/png")]),
        RequestSpec(method="POST", url="https://api.example.com/xml", body="<venue>\n  <name>Hall</name>\n</venue>", body_format="xml"),
        RequestSpec(method="PATCH", url="https://api.example.com/raw", body="line one\nline 'two'", body_format="text", content_type="text/csv"),
        RequestSpec(method="DELETE", url="https://api.example.com/v3/venues/42/", headers={"X-Request-Id": "r-1"}),
        RequestSpec(method="GET", url="https://api.example.com/list", query={"page": "2"}),
    ],
    ids=["json", "form", "multipart", "xml", "text", "delete", "get"],
)
def test_export_then_import_gives_the_same_request(spec):
    assert parse_curl(to_curl(spec)).request == spec


def test_export_masks_credentials_unless_asked():
    spec = RequestSpec(method="GET", url="https://api.example.com/me", headers={"X-Api-Key": "k-123456789"}, query={"api_key": "q-987654321", "page": "1"})
    masked = to_curl(spec)
    assert "k-123456789" not in masked and "q-987654321" not in masked and MASK in masked and "page=1" in masked
    clear = to_curl(spec, show_secrets=True)
    assert "k-123456789" in clear and "q-987654321" in clear


@pytest.fixture
def api(live_server):
    return serve(live_server, token="evb-secret-1234")


def test_action_export_with_the_connections_auth(home, connections, api):
    connections.create({"name": "evb", "auth_type": "header", "settings": {"headers": {"Authorization": "Bearer evb-secret-1234"}}})
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", f"{api.url}/v3/organizations/77/venues/", "evb")
    wiz.blank()
    wiz.edit(body={"venue": {"name": "Hall", "address": {"country": "PT"}}}, body_format="json")
    assert wiz.send().exchange.ok
    action = wiz.apply("venue", learn=False).action
    masked = action_to_curl(action, connections)
    assert "evb-secret-1234" not in masked and f"Authorization: Bearer {MASK}" in masked
    clear = action_to_curl(action, connections, show_secrets=True)
    assert "Authorization: Bearer evb-secret-1234" in clear


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl binary is not installed")
@pytest.mark.parametrize("fmt", ["json", "form", "xml", "multipart"])
def test_exported_command_run_by_real_curl_sends_the_same_bytes(api, fmt, tmp_path):
    photo = tmp_path / "p.bin"
    photo.write_bytes(b"\x00\x01binary\xff")
    bodies = {
        "json": dict(body={"venue": {"name": "Café 'Central'", "n": 3}}, body_format="json"),
        "form": dict(body={"name": "Jenny Rosen", "note": "a&b=c"}, body_format="form"),
        "xml": dict(body="<venue>\n  <name>Hall</name>\n</venue>", body_format="xml"),
        "multipart": dict(body={"title": "x"}, body_format="multipart", files=[FilePart(field="f", path=str(photo), content_type="application/x-test")]),
    }
    spec = RequestSpec(method="POST", url=f"{api.url}/echo", query={"q": "1"}, headers={"X-Trace": "t-1"}, **bodies[fmt])
    assert send(spec).ok
    ours = api.received[-1]
    subprocess.run(["bash", "-c", to_curl(spec) + " -s -o /dev/null"], check=True, timeout=30)
    theirs = api.received[-1]
    assert theirs["query"] == ours["query"] and theirs["headers"]["x-trace"] == "t-1"
    if fmt == "multipart":  # boundaries differ; the parts must not
        assert theirs["form"] == ours["form"]
        assert [(f["field"], f["content_type"], f["data"]) for f in theirs["files"]] == [(f["field"], f["content_type"], f["data"]) for f in ours["files"]]
    else:
        assert theirs["body"] == ours["body"] and theirs["content_type"] == ours["content_type"]
