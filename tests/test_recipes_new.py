"""``plugwire recipes new`` (flags, and the questions at a terminal) and ``plugwire
triggers`` (issue 14, item 7): a recipe made without writing a file, its datapills
offered from the datatrees and checked at save, naming the step and the field."""

from __future__ import annotations

import io
import json
import sys

import pytest

from plugwire.core.recipes.model import Recipes
from plugwire.core.storage.served import record_served
from recipes_support import save_action

SAMPLE = {"venue": {"name": "Hall", "city": "Paris"}}


@pytest.fixture
def venue_action(home):
    return save_action(home, "create venue", method="POST", url="https://api.example.com/venues", body_format="json",
                       body={"venue": {"name": "x", "city": "y"}}, sample={"id": "52", "name": "Hall"})


def test_flags_make_a_recipe_with_pills_in_the_actions_body(home, venue_action, run_cli):
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=True)
    code, out, err = run_cli(
        "recipes", "new", "new venue", "--trigger", "webhook", "--set", f"sample_payload={json.dumps(SAMPLE)}",
        "--step", "create venue:create", "--map", "create.body.venue.name=trigger.payload.venue.name",
        "--map", "create.headers.X-City=in {{trigger.payload.venue.city}}", "--yes", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["webhook_url"].startswith("http://127.0.0.1:8700/hooks/")  # the server's recorded URL
    step = Recipes(home).get("new venue").steps[0]
    assert step.name == "create" and step.action == "create venue"
    assert step.body == {"venue": {"name": "{{trigger.payload.venue.name}}", "city": "y"}}  # the rest kept from the action
    assert step.headers == {"X-City": "in {{trigger.payload.venue.city}}"}


def test_a_pill_pointing_at_nothing_is_refused_at_save_naming_step_and_field(home, venue_action, run_cli):
    code, _, err = run_cli(
        "recipes", "new", "r", "--trigger", "webhook", "--set", 'sample_payload={"venue": {"name": "Hall"}}',
        "--step", "create venue:create", "--step", "create venue:again",
        "--map", "again.query.id=steps.create.response.body.nope", "--yes")
    assert code == 2 and "Step 'again', query.id" in err and "'nope'" in err and "Fix:" in err
    assert Recipes(home).list() == []


def test_bad_flags_name_the_flag_and_the_fix(home, venue_action, run_cli):
    code, _, err = run_cli("recipes", "new", "t", "--trigger", "scheduler", "--set", "every=5", "--yes")
    assert code == 2 and "no setting 'every'" in err and "interval_seconds" in err
    code, _, err = run_cli("recipes", "new", "t", "--trigger", "webhook", "--set", "signature.secret=s3cret", "--yes")
    assert code == 2 and "--secret signature.secret=env:VAR" in err
    code, _, err = run_cli("recipes", "new", "t", "--trigger", "webhook", "--step", "create venue", "--map", "nostep.url=x", "--yes")
    assert code == 2 and "there is no step 'nostep'" in err
    code, _, err = run_cli("recipes", "new", "t", "--yes")
    assert code == 2 and "--trigger TYPE" in err
    code, _, err = run_cli("recipes", "new", "t", "--trigger", "webhook", "--set", "signature=hmac-sha256",
                           "--secret", "signature.secret=env:HOOK_SECRET_FOR_TEST", "--yes")
    assert code == 2 and "HOOK_SECRET_FOR_TEST is not set" in err


def test_a_secret_setting_comes_from_its_source_and_is_never_shown(home, run_cli, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET_FOR_TEST", "hook-secret-7f3a1c")
    code, out, err = run_cli("recipes", "new", "signed", "--trigger", "webhook", "--set", "signature=hmac-sha256",
                             "--set", "signature.prefix=sha256=", "--secret", "signature.secret=env:HOOK_SECRET_FOR_TEST", "--yes")
    assert code == 0, err
    assert "hook-secret-7f3a1c" not in out + err
    config = Recipes(home).get("signed").trigger_config()
    assert config.signature.secret.get_secret_value() == "hook-secret-7f3a1c" and config.signature.prefix == "sha256="


def test_at_a_terminal_it_asks_and_offers_the_datapills(home, venue_action, capsys, monkeypatch):
    import plugwire.core.cli.recipes_new as recipes_new

    monkeypatch.setattr(recipes_new, "stdin_is_interactive", lambda: True)
    answers = [
        "venues",  # name
        "webhook",  # trigger type, by name
        "",  # payload_format: auto
        json.dumps(SAMPLE),  # sample_payload
        "",  # signature: none
        "", "", "",  # response.status, body, content_type: defaults
        "",  # max_body_bytes
        "1",  # the first saved action
        "create",  # step name
        "body.venue.city", "trigger.payload.venue.city",
        "headers.X-Name", "",  # a number comes next: filled below
        "",  # no more fields
        "1", "again",  # a second step
        "query.venue", "",  # filled below with the first step's id
        "",
        "",  # no more steps
        "y",  # save
        "n",  # do not start
    ]
    # Pills are chosen by their number in the list offered.
    name_pill = _number_of(home, "trigger.payload.venue.name", [])
    id_pill = _number_of(home, "steps.create.response.body.id", [("create", venue_action.datatree)])
    answers[answers.index("headers.X-Name") + 1] = str(name_pill)
    answers[answers.index("query.venue") + 1] = str(id_pill)
    code, out = _run_interactive(capsys, monkeypatch, answers)
    assert code == 0, out
    assert "{{trigger.payload.venue.name}}" in out and "{{steps.create.response.body.id}}" in out  # offered
    recipe = Recipes(home).get("venues")
    assert recipe.status == "stopped" and [s.name for s in recipe.steps] == ["create", "again"]
    first, second = recipe.steps
    assert first.body == {"venue": {"name": "x", "city": "{{trigger.payload.venue.city}}"}}
    assert first.headers == {"X-Name": "{{trigger.payload.venue.name}}"}
    assert second.query == {"venue": "{{steps.create.response.body.id}}"}


def _number_of(home, pill: str, earlier) -> int:
    from plugwire.core.plugincore.manager import triggers
    from plugwire.core.recipes.pills import offered_pills

    kind = triggers.get("webhook")
    pills = offered_pills(kind, kind.Config.model_validate({"sample_payload": SAMPLE}), earlier)
    return [p["pill"] for p in pills].index(pill) + 1


def _run_interactive(capsys, monkeypatch, answers: list[str]) -> tuple[int, str]:
    """Run ``plugwire recipes new`` answering ``answers``, one a line; returns (exit code, all it printed)."""
    from plugwire.core.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(answers) + "\n"))
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["recipes", "new"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return info.value.code or 0, out + err


def test_triggers_lists_each_types_settings(run_cli):
    code, out, _ = run_cli("triggers")
    assert code == 0
    for text in ("scheduler", "interval_seconds", "cron", "timezone", "webhook", "payload_format", "signature.secret",
                 "signature.tolerance_seconds", "response.status"):
        assert text in out
    code, out, _ = run_cli("triggers", "scheduler", "--json")
    (scheduler,) = json.loads(out)
    settings = {s["name"]: s for s in scheduler["settings"]}
    assert settings["timezone"]["default"] == "UTC" and settings["timezone"]["type"] == "text"
    assert settings["run_on_start"] == {**settings["run_on_start"], "type": "boolean", "required": False, "default": True}
    code, _, err = run_cli("triggers", "nope")
    assert code == 2 and "use one of: scheduler, webhook" in err
