"""Suggestions as plain data (issue 14: `plugwire suggest` imports no pydantic).

The built-in suggester answers in the JSON form of the Suggestion model; what it
builds must be exactly what the model would give back, for every endpoint of the
catalogue, and :func:`data_problem` must never vouch for data the model would change
or refuse. A third-party suggester's data is checked by the model whenever
``data_problem`` finds fault with it."""

from __future__ import annotations

import copy
import json
import math
import re

import pytest

from plugwire.core.plugincore.manager import get_plugin_manager
from plugwire.core.plugincore.suggesters import (
    CONSTRAINT_FIELDS,
    REQUEST_FIELDS,
    SUGGESTION_FIELDS,
    FieldConstraint,
    SampleRequest,
    Suggester,
    Suggestion,
    data_problem,
)
from plugwire.core.wizard.suggest import suggest, suggest_data
from plugwire.knowledge.base import load_catalogue
from plugwire.knowledge.sources import default_sources
from plugwire.knowledge.suggestions import suggest_data_from_index, suggest_from_index
from plugwire import hookimpl


@pytest.mark.parametrize(
    ("table", "model"), [(SUGGESTION_FIELDS, Suggestion), (REQUEST_FIELDS, SampleRequest), (CONSTRAINT_FIELDS, FieldConstraint)]
)
def test_the_field_tables_are_the_models_fields_in_order_with_their_defaults(table, model):
    assert list(table) == list(model.model_fields)
    for name, info in model.model_fields.items():
        if info.is_required():
            assert table[name] is ..., name
        else:
            assert table[name] == info.get_default(call_default_factory=True), name


def _concrete(path: str) -> str:
    return re.sub(r"\{[^{}/]*\}", "x1", path)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return load_catalogue(default_sources(tmp_path_factory.mktemp("home"), plugins=False), use_cache=False).index


def test_every_catalogue_endpoint_is_suggested_in_exactly_the_models_json_form(index):
    checked = 0
    for eid in range(len(index.ep_path)):
        host = index.providers[index.ep_provider[eid]].hosts[0] if index.providers[index.ep_provider[eid]].hosts else "api.example.com"
        url = f"https://{host}{_concrete(index.ep_path[eid])}?q=1"
        data = suggest_data_from_index(index, index.ep_method[eid], url, limit=5)
        for d in data:
            assert data_problem(d) is None, (url, data_problem(d))
            assert _exact(Suggestion.model_validate(d).model_dump(mode="json")) == _exact(d)
        models = suggest_from_index(index, index.ep_method[eid], url, limit=5)
        assert _exact([m.model_dump(mode="json") for m in models]) == _exact(data)
        checked += len(data)
    assert checked > len(index.ep_path)  # every endpoint answered, most with neighbours


def _valid(index) -> dict:
    """A suggestion with constraints and a sample response, from the catalogue."""
    for eid in range(len(index.ep_path)):
        provider = index.providers[index.ep_provider[eid]]
        if not provider.hosts:
            continue
        url = f"https://{provider.hosts[0]}{_concrete(index.ep_path[eid])}"
        for d in suggest_data_from_index(index, index.ep_method[eid], url, limit=1):
            if d["constraints"] and d["sample_response"] is not None:
                return d
    raise AssertionError("the catalogue has no endpoint with constraints and a sample response")


MUTATIONS = {
    "score as an int": lambda d: d.update(score=1),
    "score above 1": lambda d: d.update(score=1.5),
    "score NaN": lambda d: d.update(score=math.nan),
    "a missing field": lambda d: d.pop("summary"),
    "an extra field": lambda d: d.update(extra=1),
    "fields out of order": lambda d: d.update({"reason": d.pop("reason")}),
    "a tuple in the body": lambda d: d["request"].update(body=(1, 2)),
    "NaN in the sample response": lambda d: d.update(sample_response={"x": math.nan}),
    "a number as a header value": lambda d: d["request"]["headers"].update(X=1),
    "an unknown body format": lambda d: d["request"].update(body_format="yaml"),
    "a bool as min_length": lambda d: d["constraints"][0].update(min_length=True),
    "an int minimum": lambda d: d["constraints"][0].update(minimum=3),
    "a constraint without its defaults": lambda d: d["constraints"][0].pop("format"),
    "a non-string key in the query": lambda d: d["request"]["query"].update({1: "a"}),
    "a str subclass as reason": lambda d: d.update(reason=type("S", (str,), {})("why")),
    "a set as pagination": lambda d: d.update(pagination={"a": {1}}),
    "the request not a dict": lambda d: d.update(request=[]),
    "learned as 1": lambda d: d.update(learned=1),
}
#: Changes the model keeps as they are: data_problem vouches for them.
KEPT = {
    "another summary": lambda d: d.update(summary="Something else"),
    "a nested body": lambda d: d["request"].update(body={"a": [1, 2.5, None, {"b": True}]}),
    "no constraints": lambda d: d.update(constraints=[]),
}


def _exact(d) -> str:
    return json.dumps(d)  # 1 and 1.0 differ here, not in ==


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_data_problem_finds_fault_with_what_the_model_would_change_or_refuse(index, name):
    changed = copy.deepcopy(_valid(index))
    MUTATIONS[name](changed)
    assert data_problem(changed) is not None, name


@pytest.mark.parametrize("name", sorted(KEPT))
def test_data_problem_vouches_only_for_what_the_model_gives_back_unchanged(index, name):
    changed = copy.deepcopy(_valid(index))
    KEPT[name](changed)
    assert data_problem(changed) is None
    assert _exact(Suggestion.model_validate(changed).model_dump(mode="json")) == _exact(changed)


class _DataSuggester(Suggester):
    description = "answers in data"

    def __init__(self, name: str, answers: list):
        self.name = name
        self._answers = answers

    def suggest(self, method, url, connection=None, *, limit=5):
        raise AssertionError("asked for data only")

    def suggest_data(self, method, url, connection=None, *, limit=5):
        return copy.deepcopy(self._answers)


class _ModelSuggester(Suggester):
    name = "modelsonly"

    def suggest(self, method, url, connection=None, *, limit=5):
        return [{"not": "a model"}]


def _register(*suggesters_):
    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            for s in suggesters_:
                register(s)

    plugin = Plugin()
    get_plugin_manager().register(plugin, name="test-data-suggesters")
    return plugin


def test_a_third_party_suggesters_data_is_taken_checked_or_refused_by_the_model(index):
    good = _valid(index) | {"suggester": "gooddata", "score": 0.99}
    loose = good | {"suggester": "loosedata", "score": 1, "endpoint": "GET /loose"}
    bad = good | {"suggester": "baddata", "score": 2.0}
    plugin = _register(_DataSuggester("gooddata", [good]), _DataSuggester("loosedata", [loose]),
                       _DataSuggester("baddata", [bad, "text"]), _ModelSuggester())
    try:
        url = good["request"]["url"]
        result = suggest_data(good["request"]["method"].lower(), url, limit=10)
        by_name = {s["suggester"]: s for s in result["suggestions"]}
        assert by_name["gooddata"] == good
        assert by_name["loosedata"]["score"] == 1.0 and isinstance(by_name["loosedata"]["score"], float)
        assert "baddata" not in by_name
        problems = " | ".join(result["problems"])
        assert "suggester 'baddata' returned a suggestion that does not fit: score:" in problems
        assert problems.count("'baddata'") == 2  # the text too
        assert "suggester 'modelsonly' returned dict, not a Suggestion" in problems
        # the model's view is the same answer
        model = suggest(good["request"]["method"], url, limit=10)
        assert model.model_dump(mode="json") == result
    finally:
        get_plugin_manager().unregister(plugin)
