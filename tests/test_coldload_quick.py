"""The cold load's shortcuts answer as the full way does (issue 16, cold load of
100,000 endpoints): the JSON reader's schema, whose endpoint method and path are
first tried by pydantic-core alone, accepts exactly what CatalogueFile accepts and
builds the same objects; the Index, whose paths' tokens are computed once per
distinct path, is the same whichever way its providers share paths; and merge's
shortcut for a provider's first file gives the endpoints and conflicts of the
endpoint-by-endpoint rule."""

from __future__ import annotations

import json
import random

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError
from pydantic_core import SchemaValidator, core_schema

from plugwire.knowledge import loader
from plugwire.knowledge.index import Index
from plugwire.knowledge.models import CatalogueFile
from plugwire.knowledge.normalize import template_tokens
from plugwire.knowledge.sources import BUILTIN_DIR, Conflict, MergedProvider, ProviderRecord, merge

# Characters around the edges of both checks: spaces to str.isspace but not to every
# regex engine (\x1c-\x1f), other Unicode spaces, what a path may not hold, braces,
# letters outside ASCII, and the ordinary ones.
_PLAIN = ["users", "a", "Z", "0", "_", "-", ".", "~", "%2F", "{id}", "{user_id}", "v2", "x.json"]
_PIECES = [*_PLAIN, "é", "ß", " ", "\t", "\n", "\x1c", "\x1f", "\x85", "\xa0",
           "\u2028", "\u3000", ":", "?", "#", "//", "{", "}", "{id}", "{user_id}", "{id}", "{1x}", "{a.b-c}", "{}",
           "{x/y}", "{{z}}", "@", "+", "'", "*", "=", "$"]
_METHODS = ["GET", "get", "Post", "PATCH", "delete", "FETCH", "", 5, None, "GET ", "ＧＥＴ"]


def _path(rng: random.Random) -> str:
    def piece() -> str:
        return rng.choice(_PLAIN if rng.random() < 0.8 else _PIECES)

    segs = ["".join(piece() for _ in range(rng.randint(0, 3))) for _ in range(rng.randint(0, 4))]
    path = "/" + "/".join(segs)
    return path if rng.random() < 0.95 else path.lstrip("/")


def _answer(validate, text: str):
    try:
        return [p.model_dump() for p in validate(text)]
    except ValidationError:
        return "refused"


def test_the_readers_schema_takes_both_shortcuts():
    found: set[str] = set()
    loader._quick_schema(CatalogueFile.__pydantic_core_schema__, found)
    assert found == {"method", "path"}, "pydantic builds Endpoint's schema differently: cold loads call Python per endpoint again"
    assert loader._json_fast_path() is not None


def test_the_quick_schema_accepts_what_the_full_one_accepts_and_builds_the_same():
    quick = loader._json_fast_path()
    full = TypeAdapter(list[CatalogueFile])
    rng = random.Random(16)
    accepted = refused = 0
    for _ in range(3000):
        endpoints = [{"method": rng.choice(_METHODS), "path": _path(rng), "summary": "s"} for _ in range(rng.randint(1, 3))]
        text = json.dumps([{"format": 1, "provider": "p", "name": "P", "hosts": ["api.p.example"], "endpoints": endpoints}])
        want = _answer(full.validate_json, text)
        assert _answer(quick.validate_json, text) == want, text
        accepted += want != "refused"
        refused += want == "refused"
    assert accepted > 300 and refused > 300  # both sides of every check were met


def test_ordinary_paths_take_the_shortcut():
    # what the shortcut is for: nearly every path of the shipped catalogue passes
    # pydantic-core's pattern (ASCII, at most one placeholder), so no Python runs for it
    # (pydantic-core's regex engine, whose $ is the end of the text: Python's is not)
    pattern = SchemaValidator(core_schema.str_schema(pattern=loader._QUICK_PATH))

    def taken(path: str) -> bool:
        try:
            pattern.validate_python(path)
        except ValidationError:
            return False
        return True

    paths = [ep["path"] for f in sorted(BUILTIN_DIR.glob("*.yaml")) for ep in yaml.safe_load(f.read_text())["endpoints"]]
    assert len(paths) > 300 and sum(map(taken, paths)) > 0.8 * len(paths)
    for bad in ("/a b", "/a\x1cb", "/a/{x}/{x}", "/a/{x}/{y}", "/a:b", "a/b", "", "/a/{1x}", "/a?b", "/a\n", "/a\u2028"):
        assert not taken(bad), bad


def _tokens_per_run(providers: list[MergedProvider]) -> list[tuple[str, ...]]:
    return [template_tokens(path) for mp in providers for (_method, path) in sorted(mp.endpoints, key=lambda k: (k[1], k[0]))]


@pytest.mark.parametrize("shared", [0.0, 0.5, 1.0])
def test_the_index_is_the_same_whichever_paths_providers_share(shared):
    rng = random.Random(7)
    words = ["users", "orders", "v1", "v2", "{}", "items", "a.json", "{}.csv", "Tags", "x_y"]
    common = ["/" + "/".join(rng.choice(words).replace("{}", "{id}") for _ in range(rng.randint(1, 4))) for _ in range(30)]
    providers = []
    for i in range(12):
        eps = {}
        for j in range(40):
            path = rng.choice(common) if rng.random() < shared else f"/p{i}/w{j}/" + rng.choice(words).replace("{}", "{n}")
            eps[(rng.choice(["GET", "POST"]), path)] = (f"s{j}", b"{}", f"f{i}", False)
        providers.append(MergedProvider(f"p{i:02}", f"P{i}", None, None, [f"api.p{i}.example"], (), [f"f{i}"], ["plugin"], 0, eps))
    index = Index(providers)
    # every endpoint's tokens are its own path's, and each token list is shared only by equal paths
    assert [tuple(t) for t in index.ep_tokens] == _tokens_per_run(providers)
    by_id: dict[int, str] = {}
    for eid, tokens in enumerate(index.ep_tokens):
        assert by_id.setdefault(id(tokens), index.ep_path[eid]).lower() == index.ep_path[eid].lower()
    # postings: every literal word of a path lists the endpoint, once, in id order
    for tok, ids in index.postings.items():
        assert list(ids) == sorted(set(ids))
        assert all(tok in index.ep_tokens[e] for e in ids)
    for eid, tokens in enumerate(index.ep_tokens):
        for tok in tokens:
            if tok in index.postings:
                assert eid in index.postings[tok]
    for pi, p in enumerate(index.providers):
        counted = {t for e in range(p.start, p.end) for t in index.ep_tokens[e] if t in index.postings}
        for tok in counted:
            assert index.provider_freq[tok] >= 1
    assert sum(index.provider_freq.values()) == sum(
        len({t for e in range(p.start, p.end) for t in index.ep_tokens[e] if t in index.postings}) for p in index.providers
    )


def _loop_merge(records: list[tuple[ProviderRecord, int]]) -> tuple[list, list]:
    """The conflict rule endpoint by endpoint, as merge() applied it to every record
    before its first-file shortcut: the reference for the shortcut."""
    merged: dict[str, dict] = {}
    conflicts = []
    for _, (rec, _prio) in sorted(enumerate(records), key=lambda item: (item[1][1], item[0])):
        eps = merged.setdefault(rec.provider, {})
        for method, path, summary, blob in rec.endpoints:
            old = eps.get((method, path))
            if old is not None:
                conflicts.append(Conflict(rec.provider, f"{method} {path}", rec.file, old[2]))
            eps[(method, path)] = (summary, blob, rec.file, False)
    return [list(merged[k].items()) for k in sorted(merged)], conflicts


def test_merge_gives_every_endpoint_and_conflict_as_the_endpoint_loop_does():
    rng = random.Random(3)
    records = []
    for i in range(60):
        provider = f"p{rng.randrange(8)}"
        eps = [(rng.choice(["GET", "POST"]), f"/v1/{rng.choice(['a', 'b', 'c', 'd'])}/{rng.randrange(6)}", f"s{i}.{j}", b"{}")
               for j in range(rng.randint(1, 12))]  # sometimes a key twice within one record
        records.append((ProviderRecord(provider, provider.upper(), None, None, (f"{provider}.example",), "", (), eps,
                                       f"f{i}.yaml", "plugin"), rng.choice([0, 2])))
    providers, conflicts = merge(records)
    want_endpoints, want_conflicts = _loop_merge(records)
    assert [list(p.endpoints.items()) for p in providers] == want_endpoints
    assert [c for c in conflicts if c.what != "provider"] == want_conflicts
    assert any(len({e[:2] for e in r.endpoints}) < len(r.endpoints) for r, _ in records)  # a key repeated in a record was met
