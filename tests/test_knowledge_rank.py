"""Two providers on one host (issue 16 item 6): the import says which one answers a
URL both fit equally well and offers both choices (merge them, or rank them); a rank
set at import or afterwards (`plugwire knowledge rank`) decides that tie, and the
answer is the same in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

HOST = "api.shop.example"
URL = f"https://{HOST}/v1/items/42"


def _spec(folder: Path, name: str, title: str) -> Path:
    # Both documents describe GET /v1/items/{item_id}: the same template, so the same score.
    doc = {"openapi": "3.0.3", "info": {"title": title, "version": "1"}, "servers": [{"url": f"https://{HOST}/v1"}],
           "paths": {"/items/{item_id}": {"get": {"summary": f"{title}: get an item", "parameters": [
               {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
               "responses": {"200": {"description": "ok"}}}}}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def _first(run_cli) -> tuple[str, float]:
    code, out, err = run_cli("suggest", "GET", URL, "--json")
    assert code == 0, err
    best = json.loads(out)["suggestions"][0]
    return best["provider"], best["score"]


def _two_imported(run_cli, tmp_path) -> dict:
    assert run_cli("knowledge", "import", str(_spec(tmp_path, "shop.json", "Shop")))[0] == 0
    code, out, err = run_cli("knowledge", "import", str(_spec(tmp_path, "shop-admin.json", "Shop admin")), "--json")
    assert code == 0, err
    return json.loads(out)


def test_without_a_rank_the_answer_is_stated_and_both_choices_are_offered(run_cli, home, tmp_path):
    summary = _two_imported(run_cli, tmp_path)
    [tie] = summary["shared_hosts"]
    assert tie["host"] == HOST and tie["provider"] == "shop" and tie["answers_first"] == "shop"
    assert "provider id first in order" in tie["why"]
    assert _first(run_cli)[0] == "shop"

    code, out, err = run_cli("knowledge", "import", str(tmp_path / "shop-admin.json"), "--replace")
    assert code == 0, err
    assert f"host {HOST} is also listed by provider 'shop'" in out and "'shop' answers, because" in out
    assert "--merge-into shop --replace" in out  # choice one: make them one provider
    assert "plugwire knowledge rank shop-admin N" in out and "--rank N" in out  # choice two: rank them


def test_a_rank_set_afterwards_wins_the_tie_and_is_written_into_the_users_file(run_cli, home, tmp_path):
    _two_imported(run_cli, tmp_path)
    target = home.path / "catalogue" / "shop-admin.yaml"
    header = target.read_text().splitlines()[0]
    assert _first(run_cli)[0] == "shop"

    code, out, err = run_cli("knowledge", "rank", "shop-admin", "5", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["rank"] == 5 and result["files"] == [str(target)]
    assert result["shared_hosts"] == [{"host": HOST, "provider": "shop", "answers_first": "shop-admin",
                                       "why": "it is ranked higher (5 against 0)"}]
    text = target.read_text()
    assert text.splitlines()[0] == header  # the file's comment is kept: only the rank line is added
    assert yaml.safe_load(text)["rank"] == 5
    provider, score = _first(run_cli)
    assert provider == "shop-admin" and score == 1.0

    # 0 again: the tie goes back to the stated rule (the provider id first in order)
    assert run_cli("knowledge", "rank", "shop-admin", "0")[0] == 0
    assert yaml.safe_load(target.read_text())["rank"] == 0
    assert _first(run_cli)[0] == "shop"
    code, out, err = run_cli("knowledge", "show", "shop-admin", "--json")
    assert json.loads(out)["rank"] == 0


def test_a_rank_given_at_import_wins_the_tie_and_a_merge_keeps_it(run_cli, home, tmp_path):
    assert run_cli("knowledge", "import", str(_spec(tmp_path, "shop.json", "Shop")))[0] == 0
    code, out, err = run_cli("knowledge", "import", str(_spec(tmp_path, "shop-admin.json", "Shop admin")), "--rank", "3", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rank"] == 3 and summary["shared_hosts"][0]["answers_first"] == "shop-admin"
    assert _first(run_cli)[0] == "shop-admin"
    # importing the same document again with --merge keeps the rank the file has
    assert run_cli("knowledge", "import", str(tmp_path / "shop-admin.json"), "--merge")[0] == 0
    assert yaml.safe_load((home.path / "catalogue" / "shop-admin.yaml").read_text())["rank"] == 3
    # a negative rank puts a provider below the unranked one
    assert run_cli("knowledge", "rank", "shop-admin", "-1")[0] == 0
    assert _first(run_cli)[0] == "shop"


def test_bad_ranks_and_unknown_providers_are_refused_with_the_field_and_the_fix(run_cli, home, tmp_path):
    _two_imported(run_cli, tmp_path)
    before = (home.path / "catalogue" / "shop-admin.yaml").read_text()

    code, out, err = run_cli("knowledge", "rank", "nosuch", "5")
    assert code != 0 and "provider 'nosuch' is not in the catalogue" in out + err and "knowledge list" in out + err

    code, out, err = run_cli("knowledge", "rank", "shop-admin", "101")
    assert code != 0 and "rank 101 is out of range" in out + err and "-100 to 100" in out + err
    code, out, err = run_cli("knowledge", "import", str(tmp_path / "shop-admin.json"), "--replace", "--rank", "-500")
    assert code != 0 and "rank -500 is out of range" in out + err

    # a built-in provider has no file of the user's to hold a rank: the fix says what to do instead
    code, out, err = run_cli("knowledge", "rank", "eventbrite", "5")
    assert code != 0 and "has no file in your catalogue" in out + err and "negative rank" in out + err
    assert (home.path / "catalogue" / "shop-admin.yaml").read_text() == before  # nothing was written
    assert not list((home.path / "catalogue").glob(".*.tmp"))


def test_a_rank_in_a_json_catalogue_file_and_the_schema_bounds(home, tmp_path):
    from plugwire.knowledge.models import CatalogueFile
    from plugwire.knowledge.ranking import set_rank
    from pydantic import ValidationError

    folder = home.path / "catalogue"
    folder.mkdir(parents=True)
    doc = {"format": 1, "provider": "tools", "name": "Tools", "hosts": [HOST],
           "endpoints": [{"method": "GET", "path": "/v1/items/{item_id}", "summary": "Get an item"}]}
    (folder / "tools.json").write_text(json.dumps(doc))
    assert set_rank(home, "tools", -7) == [folder / "tools.json"]
    assert json.loads((folder / "tools.json").read_text())["rank"] == -7
    try:
        CatalogueFile.model_validate({**doc, "rank": 1000})
    except ValidationError as exc:
        assert exc.errors()[0]["loc"] == ("rank",)
    else:
        raise AssertionError("a rank of 1000 was accepted")


CODE = """
import json, sys
from plugwire.core.wizard.suggest import suggest
print(json.dumps([(s.provider, s.endpoint, s.score) for s in suggest("GET", {url!r}).suggestions]))
"""


def test_the_ranked_answer_is_the_same_under_any_hash_seed(run_cli, home, tmp_path):
    _two_imported(run_cli, tmp_path)
    assert run_cli("knowledge", "rank", "shop-admin", "2")[0] == 0
    answers = {}
    for seed in ("0", "1", "7", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PLUGWIRE_TESTING": "1", "PLUGWIRE_HOME": str(home.path)}
        done = subprocess.run([sys.executable, "-c", CODE.format(url=URL)], capture_output=True, text=True, env=env, check=True)
        answers[seed] = json.loads(done.stdout)
    assert answers["0"][0][0] == "shop-admin"
    assert all(a == answers["0"] for a in answers.values()), answers
