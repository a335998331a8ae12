"""The knowledge suggester through the hook, merged with other suggesters; learning
proven configurations; connection defaults from auth hints; the CLI."""

from __future__ import annotations

import json
import types

import pytest
import yaml

from knowledge_helpers import TOY, write_docs
from plugwire import hookimpl
from plugwire.core.base.errors import StorageError, UserInputError
from plugwire.core.cli import main
from plugwire.core.plugincore.manager import suggesters
from plugwire.core.plugincore.suggesters import SampleRequest, Suggester, Suggestion
from plugwire.core.wizard.suggest import suggest
from plugwire.knowledge.loader import read_catalogue
from plugwire.knowledge.prefill import connection_defaults
from plugwire.knowledge.sources import user_catalogue_dir
from plugwire.knowledge.user import learn, learned_path


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


class EchoSuggester(Suggester):
    name = "in-test"

    def suggest(self, method, url, connection=None, *, limit=5):
        if "eventbriteapi" not in url:
            return []
        return [Suggestion(suggester=self.name, score=0.9, reason="in-test rule", request=SampleRequest(method=method, url=url),
                           endpoint=f"{method} /from-test")]


def test_knowledge_suggester_is_a_builtin_plugin():
    assert isinstance(suggesters.get("knowledge"), Suggester)
    assert suggesters.owners()["knowledge"] == "suggest_knowledge"


def test_plugin_suggestions_merge_with_the_knowledge_base(home, register_plugin):
    register_plugin(types.SimpleNamespace(register_suggesters=hookimpl(lambda register: register(EchoSuggester()))), name="echo")
    result = suggest("POST", "https://www.eventbriteapi.com/v3/venues/")
    names = [s.suggester for s in result.suggestions]
    assert names[0] == "in-test" and "knowledge" in names  # ranked by score across suggesters
    kb = next(s for s in result.suggestions if s.suggester == "knowledge")
    assert kb.endpoint == "POST /v3/organizations/{organization_id}/venues/"
    assert result.problems == []


def test_no_suggestion_says_so(home):
    result = suggest("GET", "https://intranet.example/api/users")
    assert result.suggestions == [] and "No suggestion" in result.message


def test_learn_round_trip(home):
    write_docs(user_catalogue_dir(home), toy=TOY)
    for body in ({"widget": {"name": ""}}, {"widget": {"name": "", "colour": ""}}):
        path = learn(home, provider="toy", host="API.toy.test:8443", method="post", path_template="/v2/widgets",
                     headers={"Accept": "application/json"}, query={"dry": "1"}, body=body, body_format="json",
                     content_type="application/json", response_sample={"status": 201, "body": {"id": ""}})
    learn(home, provider=None, host="intranet.example", method="GET", path_template="/internal/reports/{report_id}",
          headers={}, query={}, body=None, body_format="none", content_type=None, response_sample=[{"id": ""}])
    assert path == learned_path(home)
    providers, problems = read_catalogue(path)
    assert problems == []
    assert [p.provider for p in providers] == ["toy", "learned-intranet-example"]
    assert len(providers[0].endpoints) == 1  # the second learn replaced the first
    assert providers[0].hosts == ["api.toy.test"] and providers[0].name == "Toy"  # the catalogue's name
    s = suggest("POST", "https://api.toy.test/v2/widgets").best
    assert s.learned and s.proven and s.request.body == {"widget": {"name": "", "colour": ""}}
    assert s.request.query == {"dry": "1"} and s.sample_response["status"] == 201
    assert "learned from a request that succeeded" in s.reason
    other = suggest("GET", "https://intranet.example/internal/reports/77").best
    assert other.provider == "learned-intranet-example" and other.request.url == "https://intranet.example/internal/reports/77"
    assert other.score == 1.0 and other.proven


def test_learn_refuses_bad_values_and_broken_files(home):
    with pytest.raises(UserInputError) as exc:
        learn(home, provider="toy", host="api.toy.test", method="GET", path_template="no-slash", headers={}, query={},
              body=None, body_format="none", content_type=None)
    assert exc.value.field == "path_template"
    learned_path(home).write_text("format: [\n")
    with pytest.raises(StorageError) as exc:
        learn(home, provider="toy", host="api.toy.test", method="GET", path_template="/a", headers={}, query={},
              body=None, body_format="none", content_type=None)
    assert "learned.yaml" in str(exc.value) and "validate" in str(exc.value)


def test_connection_defaults_from_auth_hints(home):
    eb = connection_defaults("eventbrite")
    assert eb["auth_type"] == "oauth2" and eb["provider"] == "eventbrite"
    assert eb["settings"]["authorize_url"].startswith("https://www.eventbrite.com/oauth/authorize")
    assert eb["settings"]["token_url"] == "https://www.eventbrite.com/oauth/token"
    assert eb["secret_fields"] == ["client_secret"] and eb["user_fields"] == ["client_id"]
    jira = connection_defaults("https://acme.atlassian.net/rest/api/2/project")
    assert jira["provider"] == "jira" and jira["auth_type"] == "basic" and jira["secret_fields"] == ["password"]
    assert jira["base_url"] == "https://acme.atlassian.net"
    write_docs(user_catalogue_dir(home), toy=dict(TOY, auth=[{"type": "header", "headers": ["X-Toy-Key"], "format": "{key}"},
                                                          {"type": "query", "params": ["key"]}]))
    toy = connection_defaults("toy")
    assert toy["auth_type"] == "header" and toy["secret_fields"] == ["headers.X-Toy-Key"] and toy["settings"] == {}
    with pytest.raises(UserInputError) as exc:
        connection_defaults("no-such-api")
    assert exc.value.field == "provider" and "plugwire knowledge list" in str(exc.value)


def test_oauth2_authorize_params_are_merged_into_the_url(home):
    doc = dict(TOY, auth=[{"type": "oauth2", "authorize_url": "https://toy.test/auth?a=1", "authorize_params": {"audience": "api"},
                           "token_url": "https://toy.test/token", "scopes": ["read", "write"], "pkce": True}])
    write_docs(user_catalogue_dir(home), toy=doc)
    d = connection_defaults("toy")
    assert d["settings"] == {"authorize_url": "https://toy.test/auth?a=1&audience=api", "token_url": "https://toy.test/token",
                             "scope": "read write", "use_pkce": True}


def test_cli_suggest_table_and_json(home, capsys):
    code, out, _ = run_cli(capsys, "suggest", "POST", "https://www.eventbriteapi.com/v3/venues/")
    assert code == 0 and "Create a venue" in out and "Why:" in out and '"address_1"' in out
    code, out, _ = run_cli(capsys, "suggest", "POST", "https://www.eventbriteapi.com/v3/venues/", "--json", "--limit", "1")
    data = json.loads(out)
    assert code == 0 and len(data["suggestions"]) == 1
    assert data["suggestions"][0]["endpoint"] == "POST /v3/organizations/{organization_id}/venues/"
    code, out, _ = run_cli(capsys, "suggest", "GET", "https://intranet.example/api/users")
    assert code == 0 and "No suggestion" in out
    code, _, err = run_cli(capsys, "suggest", "GET", "not a url")
    assert code == 2 and "url" in err and "Traceback" not in err


def test_cli_knowledge_list_show_validate_schema(home, capsys, tmp_path):
    write_docs(user_catalogue_dir(home), eventbrite={"format": 1, "provider": "eventbrite", "name": "Eventbrite (mine)",
                                                      "hosts": ["www.eventbriteapi.com"],
                                                      "endpoints": [{"method": "GET", "path": "/v3/users/me/", "summary": "Me, mine"}]})
    code, out, _ = run_cli(capsys, "knowledge", "list", "--json")
    data = json.loads(out)
    eb = next(p for p in data["providers"] if p["provider"] == "eventbrite")
    assert code == 0 and eb["sources"] == ["builtin", "user"] and eb["name"] == "Eventbrite (mine)"
    assert any("overridden by" in line for line in eb["overridden"])
    code, out, _ = run_cli(capsys, "knowledge", "list")
    assert code == 0 and "Overridden" in out and "eventbrite" in out
    code, out, _ = run_cli(capsys, "knowledge", "show", "eventbrite")
    assert code == 0 and "Me, mine" in out and "oauth2" in out
    code, _, err = run_cli(capsys, "knowledge", "show", "nope")
    assert code == 1 and "plugwire knowledge list" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"format": 1, "provider": "b", "name": "B", "hosts": ["b.test"],
                                   "endpoints": [{"method": "GET", "path": "/x", "summary": "x", "request": {"body_format": "jsn"}}]}))
    code, out, _ = run_cli(capsys, "knowledge", "validate", str(bad))
    assert code == 1 and "bad.yaml:" in out and "endpoints[0].request.body_format" in out
    code, out, _ = run_cli(capsys, "knowledge", "validate", str(user_catalogue_dir(home) / "eventbrite.yaml"))
    assert code == 0 and "1 valid provider" in out
    target = tmp_path / "schema.json"
    code, out, _ = run_cli(capsys, "knowledge", "schema", "--output", str(target))
    assert code == 0 and json.loads(target.read_text())["title"] == "plugwire catalogue file"
    code, out, _ = run_cli(capsys, "knowledge", "schema", "--check")
    assert code == 0 and "up to date" in out


def test_connections_add_with_provider_prefills_and_asks_for_credentials(home, capsys, monkeypatch):
    code, _, err = run_cli(capsys, "connections", "add", "eb", "--provider", "eventbrite")
    assert code == 2 and "settings.client_id" in err and "--set client_id=VALUE" in err
    code, _, err = run_cli(capsys, "connections", "add", "eb", "--provider", "eventbrite", "--set", "client_id=abc")
    assert code == 2 and "settings.client_secret" in err and "--secret client_secret=env:VAR" in err
    monkeypatch.setenv("EB_SECRET", "s3cret-value")
    code, out, err = run_cli(capsys, "connections", "add", "eb", "--provider", "eventbrite", "--set", "client_id=abc",
                             "--secret", "client_secret=env:EB_SECRET", "--json")
    assert code == 0, err
    conn = json.loads(out)
    assert conn["auth_type"] == "oauth2" and conn["provider"] == "eventbrite"
    assert conn["settings"]["token_url"] == "https://www.eventbrite.com/oauth/token"
    assert conn["settings"]["authorize_url"].startswith("https://www.eventbrite.com/oauth/authorize")
    assert "s3cret-value" not in out
    code, _, err = run_cli(capsys, "connections", "add", "jira", "--provider", "https://acme.atlassian.net/", "--set", "username=me@example.com")
    assert code == 2 and "settings.password" in err and "API token" in err


def test_connection_provider_stands_in_for_an_unknown_host(home, connections):
    conn = connections.create({"name": "jira-onprem", "auth_type": "none", "provider": "jira"})
    without = suggest("GET", "https://jira.intranet.example/rest/api/2/project/ABC").best
    with_conn = suggest("GET", "https://jira.intranet.example/rest/api/2/project/ABC", conn).best
    assert with_conn.provider == "jira" and with_conn.endpoint == "GET /rest/api/2/project/{projectIdOrKey}"
    assert "The connection is for Jira" in with_conn.reason
    assert with_conn.request.url == "https://jira.intranet.example/rest/api/2/project/ABC"
    assert without is None or with_conn.score > without.score
