"""Recipes: saving (every pill checked), secrets sealed, start and stop, and the CLI."""

import json

import pytest

from plugwire.core.base.errors import AlreadyExistsError, NotFoundError, UserInputError
from plugwire.core.recipes.model import Recipes
from recipes_support import save_action

WEBHOOK = {"type": "webhook", "config": {"sample_payload": {"venue": {"name": "Hall", "tags": ["a"]}}}}


@pytest.fixture
def actions(home):
    save_action(home, "create_venue", method="POST", url="https://api.example.com/venues", body_format="json",
                body={"venue": {"name": "x"}}, sample={"id": "1", "venue": {"name": "x"}, "items": [{"sku": "a"}]})
    save_action(home, "tag_venue", method="PUT", url="https://api.example.com/venues/1/tags", body_format="json", body={}, sample={"ok": True})
    return home


def _recipe(steps, trigger=WEBHOOK, name="r"):
    return {"name": name, "trigger": trigger, "steps": steps}


def test_pills_to_the_trigger_and_earlier_steps_are_accepted(actions):
    recipe = Recipes(actions).create(_recipe([
        {"action": "create_venue", "name": "create", "body": {"venue": {"name": "{{trigger.payload.venue.name}}"}},
         "headers": {"X-Request": "{{trigger.headers.x-request-id}}"}},
        {"action": "tag_venue", "url": "https://api.example.com/venues/{{steps.create.response.body.id}}/tags",
         "body": {"tags": "{{trigger.payload.venue.tags}}", "sku": "{{steps.create.response.body.items[0].sku}}",
                  "status": "{{steps.create.response.status}}", "etag": "{{steps.create.response.headers.etag}}"}},
    ]))
    assert [s.name for s in recipe.steps] == ["create", "tag_venue"] and recipe.status == "stopped"


@pytest.mark.parametrize(
    "steps, field, words",
    [
        ([{"action": "create_venue", "body": {"venue": {"name": "{{trigger.payload.venue.nmae}}"}}}],
         "steps.create_venue.body.venue.name", ["create_venue", "payload.venue.nmae", "payload.venue.name"]),
        ([{"action": "create_venue"}, {"action": "tag_venue", "body": {"id": "{{steps.create_venue.response.body.uuid}}"}}],
         "steps.tag_venue.body.id", ["tag_venue", "'uuid'", "create_venue"]),
        ([{"action": "tag_venue", "body": {"id": "{{steps.create_venue.response.body.id}}"}}, {"action": "create_venue"}],
         "steps.tag_venue.body.id", ["does not run before it"]),
        ([{"action": "create_venue", "body": "{{steps.ghost.response.body.id}}"}], "steps.create_venue.body", ["does not exist"]),
        ([{"action": "create_venue", "url": "{{steps.create_venue.response.body.id}}"}], "steps.create_venue.url", ["does not run before it"]),
        ([{"action": "create_venue", "body": "{{trigger.payload.venue.name.first}}"}], "steps.create_venue.body", ["venue.name.first"]),
        ([{"action": "create_venue"}, {"action": "tag_venue", "body": "{{steps.create_venue.body.id}}"}], "steps.tag_venue.body", ["response"]),
    ],
)
def test_a_pill_that_points_nowhere_is_refused_at_save(actions, steps, field, words):
    with pytest.raises(UserInputError) as info:
        Recipes(actions).create(_recipe(steps))
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)
    assert Recipes(actions).list() == []


def test_other_mistakes_name_the_field(actions):
    recipes = Recipes(actions)
    cases = [
        (_recipe([{"action": "nope"}]), "steps[0].action"),
        (_recipe([], trigger={"type": "carrier-pigeon"}), "trigger.type"),
        (_recipe([], trigger={"type": "scheduler", "config": {"cron": "soon"}}), "trigger.config"),
        (_recipe([{"action": "create_venue"}, {"action": "create_venue"}]), "steps[1].name"),
        (_recipe([{"action": "create_venue", "body": "{{ trigger.payload | shell }}"}]), "body"),
    ]
    for data, field in cases:
        with pytest.raises(UserInputError) as info:
            recipes.create(data)
        assert info.value.field == field, str(info.value)


def test_trigger_secrets_are_sealed_and_masked(actions):
    recipes = Recipes(actions)
    trigger = {"type": "webhook", "config": {"signature": {"scheme": "hmac-sha256", "secret": "planted-recipe-secret"}}}
    recipe = recipes.create(_recipe([], trigger=trigger))
    assert "planted-recipe-secret" not in (actions.path / "plugwire.json").read_text()
    assert recipe.public()["trigger"]["config"]["signature"]["secret"] == "••••••"
    again = recipes.get("r")
    assert again.trigger_config().signature.secret.get_secret_value() == "planted-recipe-secret"
    assert again.token == recipe.token and len(recipe.token) >= 32


def test_start_stop_remove(actions):
    recipes = Recipes(actions)
    recipes.create(_recipe([{"action": "create_venue"}]))
    with pytest.raises(AlreadyExistsError):
        recipes.create(_recipe([]))
    started = recipes.start("r")
    assert started.status == "started" and started.started_at
    assert recipes.stop("r").status == "stopped"
    recipes.remove("r")
    with pytest.raises(NotFoundError):
        recipes.get("r")


@pytest.fixture
def cli(actions, run_cli):
    """conftest's ``run_cli``, on a data folder with the recipes' actions saved."""
    return run_cli


def test_cli_add_list_show_start_stop_remove(cli, tmp_path, monkeypatch):
    spec = tmp_path / "recipe.yaml"
    spec.write_text(
        "name: venues\n"
        "trigger:\n  type: webhook\n  config:\n    sample_payload: {venue: {name: Hall}}\n"
        "    signature: {scheme: hmac-sha256, header: X-Sig}\n"
        "steps:\n  - action: create_venue\n    body: {venue: {name: '{{trigger.payload.venue.name}}'}}\n"
    )
    monkeypatch.setenv("HOOK_SECRET", "cli-planted-secret")
    code, out, err = cli("recipes", "add", str(spec), "--secret", "signature.secret=env:HOOK_SECRET", "--start", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["status"] == "started" and added["webhook_url"].startswith("http://127.0.0.1:8000/hooks/")
    code, out, _ = cli("recipes", "list")
    assert code == 0 and "venues" in out and "started" in out
    code, out, _ = cli("recipes", "show", "venues")
    assert code == 0 and "create_venue" in out and "cli-planted-secret" not in out
    assert cli("recipes", "stop", "venues")[0] == 0
    code, out, err = cli("recipes", "add", str(spec), "--secret", "signature.secret=cli-planted-secret")
    assert code == 2 and "command line" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.read_text().replace("name: venues", "name: bad").replace("venue.name}}", "venue.title}}"))
    code, out, err = cli("recipes", "add", str(bad), "--secret", "signature.secret=env:HOOK_SECRET")
    assert code == 2 and "payload.venue.title" in err and "create_venue" in err
    assert cli("recipes", "remove", "venues")[0] == 0
    code, out, err = cli("recipes", "show", "venues")
    assert code == 1 and "No recipe named 'venues'" in err
