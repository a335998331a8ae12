"""Catalogue files and sources: schema errors with their path, the conflict rule,
plugin-provided catalogues, the user's catalogue, caching and the published schema."""

from __future__ import annotations

import json
import types

import yaml

from knowledge_helpers import TOY, ep, kb_over, provider_doc, write_docs
from plugwire import hookimpl
from plugwire.knowledge.base import get_knowledge, load_catalogue
from plugwire.knowledge.loader import read_catalogue, validate_files
from plugwire.knowledge.schemafile import SCHEMA_PATH, render_schema
from plugwire.knowledge.sources import Source, default_sources, user_catalogue_dir
from plugwire.knowledge.suggestions import suggest_from_index


def test_schema_error_names_file_line_and_path(tmp_path):
    bad = dict(TOY, endpoints=[*TOY["endpoints"][:3], dict(TOY["endpoints"][3], request={"body_format": "jsonn"})])
    bad["auth"] = [{"type": "header", "header": ["X-Key"]}]
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    providers, problems = read_catalogue(path)
    assert providers == []
    text = [str(p) for p in problems]
    assert any(t.startswith("toy.yaml:") and "endpoints[3].request.body_format: Input should be" in t for t in text), text
    assert any("auth[0].header: Extra inputs are not permitted" in t for t in text), text
    assert any("auth[0].headers: Field required" in t for t in text), text
    line = next(p for p in problems if p.loc == "endpoints[3].request.body_format").line
    assert "body_format: jsonn" in path.read_text().splitlines()[line - 1]


def test_syntax_error_and_missing_file_are_reported(tmp_path):
    (tmp_path / "broken.yaml").write_text("format: 1\nprovider: x\n  oops: [\n")
    count, problems = validate_files([tmp_path / "broken.yaml", tmp_path / "nope.yaml"])
    assert count == 0
    assert "not valid YAML" in str(problems[0]) and str(problems[0]).startswith(str(tmp_path / "broken.yaml") + ":")
    assert "no such file" in str(problems[1])


def test_duplicate_endpoint_and_bad_host_are_errors(tmp_path):
    doc = provider_doc("dup", ["API.Dup.test"], [ep("GET", "/a"), ep("get", "/a"), ep("GET", "a/{x}/{x}")])
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(doc))
    _, problems = read_catalogue(tmp_path / "dup.yaml")
    text = " | ".join(str(p) for p in problems)
    assert "hosts[0]: 'API.Dup.test' must be lower-case" in text
    assert "endpoints[2].path: Value error, must start with '/'" in text or "endpoints[2].path: must start with '/'" in text


def test_a_bad_file_does_not_prevent_loading_the_rest(tmp_path):
    folder = write_docs(tmp_path / "cat", toy=TOY)
    (folder / "zzz.yaml").write_text("format: 2\nprovider: Bad Id\n")
    cat = kb_over(Source("contrib", folder)).catalogue()
    assert [p.provider for p in cat.index.providers] == ["toy"]
    assert {p.loc for p in cat.problems} >= {"format", "provider", "name", "hosts", "endpoints"}


def test_conflict_rule_user_over_plugin_over_contrib_over_builtin(tmp_path):
    base = write_docs(tmp_path / "builtin", toy=TOY)
    contrib_doc = provider_doc("toy", ["api.toy.test"], [ep("GET", "/v2/widgets", "Contrib list"), ep("GET", "/v2/gadgets", "Gadgets")], name="Toy (contrib)")
    contrib = write_docs(tmp_path / "contrib", toy=contrib_doc)
    user_doc = provider_doc("toy", ["toy.internal"], [ep("GET", "/v2/widgets", "User list")], name="Toy (mine)")
    user = write_docs(tmp_path / "user", toy=user_doc)
    cat = kb_over(Source("user", user), Source("builtin", base), Source("contrib", contrib)).catalogue()
    idx = cat.index
    prov = idx.providers[idx.by_id["toy"]]
    assert prov.name == "Toy (mine)"
    assert prov.hosts[0] == "toy.internal" and "api.toy.test" in prov.hosts and "{tenant}.toy.example" in prov.hosts
    summaries = {(idx.ep_method[e], idx.ep_path[e]): idx.ep_summary[e] for e in range(prov.start, prov.end)}
    assert summaries[("GET", "/v2/widgets")] == "User list"
    assert summaries[("GET", "/v2/gadgets")] == "Gadgets"  # added by contrib
    assert summaries[("GET", "/v2/users/me")] == "The caller"  # kept from built-in
    what = {(c.what, c.winner.split("/")[-2]) for c in cat.conflicts}
    assert ("GET /v2/widgets", "user") in what and ("GET /v2/widgets", "contrib") in what and ("provider", "user") in what
    s = suggest_from_index(idx, "GET", "https://toy.internal/v2/widgets")[0]
    assert s.summary == "User list" and s.score == 1.0


def test_plugin_provided_catalogue_source(tmp_path, register_plugin, home):
    folder = write_docs(tmp_path / "plugin-cat", gizmo=provider_doc("gizmo", ["api.gizmo.test"], [ep("POST", "/v1/gizmos", "Make a gizmo")]))

    plugin = types.SimpleNamespace(register_catalogue_sources=hookimpl(lambda register: register(folder)))
    register_plugin(plugin, name="gizmo-catalogue")
    sources = default_sources(home)
    assert any(s.kind == "plugin" and s.owner == "gizmo-catalogue" for s in sources)
    kb = get_knowledge(home)
    s = suggest_from_index(kb.catalogue().index, "POST", "https://api.gizmo.test/v1/gizmos")[0]
    assert s.provider == "gizmo" and s.summary == "Make a gizmo"
    prov = kb.catalogue().index.providers[kb.catalogue().index.by_id["gizmo"]]
    assert prov.kinds == ["plugin"]


def test_user_catalogue_is_reloaded_when_it_changes(home):
    kb = get_knowledge(home)
    assert "toy" not in kb.catalogue().index.by_id
    write_docs(user_catalogue_dir(home), toy=TOY)
    assert "toy" in kb.catalogue().index.by_id
    first = kb.catalogue()
    assert kb.catalogue() is first  # unchanged files: the same loaded catalogue


def test_index_is_cached_on_disk_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGWIRE_CACHE_DIR", str(tmp_path / "cache"))
    folder = write_docs(tmp_path / "cat", toy=TOY)
    cold = load_catalogue([Source("contrib", folder)])
    warm = load_catalogue([Source("contrib", folder)])
    assert not cold.from_cache and warm.from_cache
    assert warm.index.endpoint_count == cold.index.endpoint_count == len(TOY["endpoints"])
    assert suggest_from_index(warm.index, "GET", "https://api.toy.test/v2/widgets/1")[0].score == 1.0
    (folder / "toy.yaml").write_text(yaml.safe_dump(dict(TOY, name="Renamed")))
    again = load_catalogue([Source("contrib", folder)])
    assert not again.from_cache and again.index.providers[0].name == "Renamed"
    assert len(list((tmp_path / "cache").glob("index-*.pickle"))) == 1


def test_published_schema_equals_the_generated_one():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), "run `plugwire knowledge schema`"
    schema = json.loads(render_schema())
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"format", "provider", "name", "hosts", "endpoints"}


def test_every_builtin_file_is_valid():
    from plugwire.knowledge.sources import BUILTIN_DIR

    count, problems = validate_files([BUILTIN_DIR])
    assert problems == [] and count >= 2


def test_two_sets_of_sources_keep_their_own_cached_index(tmp_path, monkeypatch):
    """Two data folders used in turn (each with its own user catalogue) each read their
    index from the cache, instead of throwing the other's away and rebuilding."""
    monkeypatch.setenv("PLUGWIRE_CACHE_DIR", str(tmp_path / "cache"))
    first = [Source("contrib", write_docs(tmp_path / "a", toy=TOY))]
    second = [Source("contrib", write_docs(tmp_path / "b", toy=dict(TOY, name="Other")))]
    assert not load_catalogue(first).from_cache and not load_catalogue(second).from_cache
    assert load_catalogue(first).from_cache and load_catalogue(second).from_cache
    assert len(list((tmp_path / "cache").glob("index-*.pickle"))) == 2
