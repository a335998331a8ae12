"""plugwire's pytest plugin for plugin authors (``plugwire.core.testing.plugin``):
its fixtures used directly, and in inner pytest runs (pytester) where a test fails
and its plugin must still be gone afterwards."""

from __future__ import annotations

import base64
import textwrap

import httpx2
import pytest
from pydantic import BaseModel

from plugwire import hookimpl
from plugwire.core.base.errors import PluginError, UserInputError
from plugwire.core.plugincore import manager as plugins
from plugwire.core.plugincore.auth import AuthType
from plugwire.core.plugincore.suggesters import SampleRequest, Suggester, Suggestion
from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.testing import Reply
from plugwire.core.wizard.suggest import suggest

pytest_plugins = ["pytester"]


class _TokenSettings(BaseModel):
    token: str


class _TokenAuth(httpx2.Auth):
    def __init__(self, token: str):
        self.token = token

    def auth_flow(self, request):
        request.headers["X-Kit-Token"] = self.token
        yield request


class _TokenAuthType(AuthType):
    name = "kit_token"
    title = "Kit token"
    Settings = _TokenSettings

    def build_auth(self, settings, context):
        return _TokenAuth(settings.token)


class _TickConfig(BaseModel):
    label: str = "tick"


class _TickTrigger(TriggerType):
    name = "kit_tick"
    title = "Kit tick"
    Config = _TickConfig

    def sample_event(self, config):
        return {"label": config.label}


class _EchoSuggester(Suggester):
    name = "kit_echo"

    def suggest(self, method, url, connection=None, *, limit=5):
        if "kit-echo" not in url:
            return []
        return [Suggestion(suggester=self.name, score=0.9, reason="the URL says kit-echo",
                           request=SampleRequest(method=method, url=url, body={"echo": True}, body_format="json"))]


class KitPlugin:
    """One in-test plugin implementing every hook."""

    def __init__(self, catalogue_path=None):
        self.catalogue_path = catalogue_path

    @hookimpl
    def register_auth_types(self, register):
        register(_TokenAuthType())

    @hookimpl
    def register_triggers(self, register):
        register(_TickTrigger())

    @hookimpl
    def register_suggesters(self, register):
        register(_EchoSuggester())

    @hookimpl
    def register_catalogue_sources(self, register):
        if self.catalogue_path is not None:
            register(self.catalogue_path)


CATALOGUE = """\
format: 1
provider: kitapi
name: Kit API
hosts: [api.kit.example]
auth:
  - type: header
    headers: [X-Kit-Token]
endpoints:
  - method: POST
    path: /v1/widgets
    summary: Create a widget
    request:
      body_format: json
      body: {widget: {name: Sprocket, size: 3}}
"""


@pytest.mark.hook("register_auth_types")
def test_registered_auth_type_signs_requests_to_the_programmed_api(plugwire_plugin, plugwire_api, plugwire_connections):
    plugwire_plugin(KitPlugin())
    assert plugins.auth_types.get("kit_token") is not None
    plugwire_api.route("GET", "/v1/me", json={"id": 7})
    conn = plugwire_connections.create("kit_token", {"token": "tok-123"})
    with plugwire_connections.client(conn) as client:
        response = client.get(f"{plugwire_api.url}/v1/me")
    assert response.json() == {"id": 7}
    (seen,) = plugwire_api.requests_to("GET", "/v1/me")
    assert seen.headers["x-kit-token"] == "tok-123"


@pytest.mark.hook("register_triggers")
def test_registered_trigger_is_listed_with_its_sample(plugwire_plugin):
    plugwire_plugin(KitPlugin())
    trigger = plugins.triggers.get("kit_tick")
    assert trigger.sample_event(trigger.Config(label="x")) == {"label": "x"}


@pytest.mark.hook("register_suggesters")
def test_registered_suggester_is_merged_with_the_knowledge_base(plugwire_plugin, plugwire_home):
    plugwire_plugin(KitPlugin())
    result = suggest("POST", "https://api.kit-echo.example/v1/anything")
    assert [s.suggester for s in result.suggestions][0] == "kit_echo"
    assert "kit_echo" in plugins.suggesters.names() and "knowledge" in plugins.suggesters.names()


@pytest.mark.hook("register_catalogue_sources")
def test_registered_catalogue_file_is_suggested(plugwire_plugin, plugwire_home, tmp_path):
    path = tmp_path / "kitapi.yaml"
    path.write_text(CATALOGUE)
    plugwire_plugin(KitPlugin(catalogue_path=path))
    best = suggest("POST", "https://api.kit.example/v1/widgets").best
    assert best.provider == "kitapi" and best.request.body == {"widget": {"name": "Sprocket", "size": 3}}


def test_a_refused_registration_fails_loudly_and_leaves_nothing_registered(plugwire_plugin):
    class Garbage:
        @hookimpl
        def register_auth_types(self, register):
            register("not an auth type")

    garbage = Garbage()
    with pytest.raises(PluginError, match="it is not a AuthType"):
        plugwire_plugin(garbage, name="garbage")
    assert not plugwire_plugin.pm.is_registered(garbage)
    plugwire_plugin(garbage, name="garbage", check=False)  # kept, to look at the refusal
    assert any("it is not a AuthType" in p for p in plugwire_plugin.problems("garbage"))


def test_an_incompatible_plugin_api_is_refused_by_the_registrar(plugwire_plugin):
    class Future(KitPlugin):
        PLUGWIRE_PLUGIN_API = ">=99"

    with pytest.raises(PluginError, match="needs plugin API >=99"):
        plugwire_plugin(Future(), name="future")
    assert plugins.auth_types.get("kit_token") is None


def test_programmable_api_routes_replies_handlers_and_records(plugwire_api):
    plugwire_api.route("GET", "/items/{item_id}", handler=lambda req: {"id": req.path_params["item_id"], "q": req.query})
    plugwire_api.route("POST", "/seq", replies=[Reply(201, json={"n": 1}), Reply(409, body="taken")])
    with httpx2.Client(base_url=plugwire_api.url) as client:
        got = client.get("/items/a%20b", params=[("x", "1"), ("x", "2")])
        first, second, third = (client.post("/seq", json={"k": i}) for i in range(3))
        missing = client.delete("/nowhere")
    assert got.json() == {"id": "a b", "q": {"x": "2"}}
    assert (first.status_code, second.status_code, third.status_code) == (201, 409, 409)
    assert second.text == "taken"
    assert missing.status_code == 404 and "GET /items/{item_id}" in missing.json()["routes"]
    item = plugwire_api.requests[0]
    assert item.raw_path == "/items/a%20b" and item.query_list == [("x", "1"), ("x", "2")]
    assert [r.json() for r in plugwire_api.requests_to("POST", "/seq")] == [{"k": 0}, {"k": 1}, {"k": 2}]


def test_connection_factory_makes_builtin_auth_types_and_names_bad_fields(plugwire_api, plugwire_connections):
    plugwire_api.route("GET", "/me", json={"ok": True})
    conn = plugwire_connections.create("basic", {"username": "ann", "password": "s3cret-pw"}, test_url=f"{plugwire_api.url}/me")
    with plugwire_connections.client(conn.name) as client:
        assert client.get(conn.options.test_url).json() == {"ok": True}
    expected = "Basic " + base64.b64encode(b"ann:s3cret-pw").decode()
    assert plugwire_api.requests[0].headers["authorization"] == expected
    assert "s3cret-pw" not in str(plugwire_connections.get(conn.name).public())
    with pytest.raises(UserInputError, match="settings.password"):
        plugwire_connections.create("basic", {"username": "ann"})


def test_cli_runs_in_process_with_the_registered_plugin(plugwire_plugin, plugwire_cli):
    plugwire_plugin(KitPlugin())
    code, out, err = plugwire_cli("connections", "types", "--json")
    assert code == 0 and "kit_token" in out
    code, out, err = plugwire_cli("connections", "show", "nope")
    assert code == 1 and "No connection named 'nope'" in out + err


def test_catalogue_loader_validates_and_suggests_from_one_file(plugwire_catalogue, tmp_path):
    good = tmp_path / "kitapi.yaml"
    good.write_text(CATALOGUE)
    (provider,) = plugwire_catalogue.load(good)
    assert provider.provider == "kitapi"
    best = plugwire_catalogue.best(good, "post", "https://api.kit.example/v1/widgets/")
    assert best.endpoint == "POST /v1/widgets" and best.suggester == "knowledge"
    # Only this file is consulted: a built-in provider's URL gets nothing.
    assert plugwire_catalogue.suggest(good, "GET", "https://api.github.com/user") == []
    bad = tmp_path / "bad.yaml"
    bad.write_text(CATALOGUE.replace("method: POST", "method: FETCH"))
    problems = plugwire_catalogue.problems(bad)
    assert problems and "endpoints[0].method" in problems[0] and str(bad) in problems[0]
    with pytest.raises(AssertionError, match="endpoints\\[0\\].method"):
        plugwire_catalogue.load(bad)


def test_plugin_is_unregistered_after_a_failing_test(pytester):
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest
            from plugwire import hookimpl
            from plugwire.core.plugincore import manager as plugins
            from plugwire.core.plugincore.suggesters import Suggester

            class Leaky(Suggester):
                name = "leaky"
                def suggest(self, method, url, connection=None, *, limit=5):
                    return []

            class Plugin:
                @hookimpl
                def register_suggesters(self, register):
                    register(Leaky())

            def test_fails_while_registered(plugwire_plugin):
                plugwire_plugin(Plugin(), name="leaky-plugin")
                assert "leaky" in plugins.suggesters.names()
                raise RuntimeError("the test fails with its plugin registered")

            def test_then_it_is_gone():
                assert "leaky" not in plugins.suggesters.names()
                assert plugins.get_plugin_manager().get_plugin("leaky-plugin") is None
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)


def test_fixtures_are_prefixed_and_installed_plugins_are_kept_out(pytester, monkeypatch):
    monkeypatch.delenv("PLUGWIRE_TESTING")
    pytester.makepyfile(
        """
        import os

        def test_isolated(plugwire_home, plugwire_api):
            assert os.environ["PLUGWIRE_TESTING"] == "1"
            assert os.environ["PLUGWIRE_HOME"] == str(plugwire_home)
            assert plugwire_api.url.startswith("http://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("--fixtures")
    text = result.stdout.str()
    block = text.split("fixtures defined from plugwire.core.testing.plugin", 1)[1].split("\n", 1)[1]
    block = block.split("\n---", 1)[0].split("\n===", 1)[0]
    names = {line.split()[0] for line in block.splitlines() if line.strip() and not line.startswith(" ")}
    assert names == {"plugwire_home", "plugwire_plugin", "plugwire_api", "plugwire_connections", "plugwire_catalogue",
                     "plugwire_cli"}
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
