"""Datapills: the syntax, filling values in at run time, and checks against datatrees."""

import pytest

from plugwire.core.datapills import MissingValue, check_pill, find_pills, render
from plugwire.core.datatree import infer
from plugwire.core.errors import UserInputError

CONTEXT = {
    "trigger": {"payload": {"venue": {"name": "Blue Hall", "capacity": 300, "tags": ["a", "b"], "open": True, "odd key": 1}}},
    "steps": {"create": {"response": {"status": 200, "headers": {}, "body": {"id": "v1", "items": [{"x": 1}, {"x": 2}]}}}},
}


def test_a_lone_pill_keeps_its_json_type():
    out = render(
        {"cap": "{{trigger.payload.venue.capacity}}", "tags": "{{ trigger.payload.venue.tags }}",
         "open": "{{trigger.payload.venue.open}}", "venue": "{{trigger.payload.venue}}"},
        CONTEXT,
    )
    assert out["cap"] == 300 and out["tags"] == ["a", "b"] and out["open"] is True
    assert out["venue"]["name"] == "Blue Hall"


def test_embedded_pills_become_text_and_escapes_stay_literal():
    out = render("Venue {{trigger.payload.venue.name}} ({{trigger.payload.venue.capacity}}) {{trigger.payload.venue.tags}} \\{{not a pill}}", CONTEXT)
    assert out == 'Venue Blue Hall (300) ["a","b"] {{not a pill}}'


def test_indexes_and_quoted_keys():
    assert render("{{steps.create.response.body.items[1].x}}", CONTEXT) == 2
    assert render("{{steps.create.response.body.items.0.x}}", CONTEXT) == 1
    assert render('{{trigger.payload.venue["odd key"]}}', CONTEXT) == 1


def test_a_missing_value_names_the_place_and_the_field():
    with pytest.raises(MissingValue) as info:
        render({"body": {"zip": "{{trigger.payload.venue.address.zip}}"}}, CONTEXT)
    assert "body.zip" in str(info.value)
    assert info.value.field == "trigger.payload.venue.address"


@pytest.mark.parametrize(
    "text",
    ["{{ __import__('os').system('true') }}", "{{trigger.payload | upper}}", "{{payload.x}}", "{{steps}}",
     "{{trigger[x]}}", "{{trigger..a}}", "{{trigger.a + 1}}"],
)
def test_anything_but_a_path_is_refused(text):
    with pytest.raises(UserInputError) as info:
        list(find_pills({"body": {"v": text}}))
    assert info.value.field == "body.v"


def test_find_pills_reports_each_location():
    found = [(where, p.dotted) for where, p in find_pills({"url": "https://x/{{trigger.payload.id}}", "body": ["{{steps.a.response.body.id}}"]})]
    assert found == [("url", "trigger.payload.id"), ("body[0]", "steps.a.response.body.id")]


def test_check_against_a_datatree():
    tree = infer({"payload": {"venue": {"name": "x"}, "items": [{"id": 1}]}, "headers": {}})
    (_, pill), = find_pills("{{trigger.payload.venue.name}}")
    assert check_pill(pill, pill.path[1:], tree) is None
    (_, bad), = find_pills("{{trigger.payload.venue.nmae}}")
    assert check_pill(bad, bad.path[1:], tree) == "payload.venue.nmae"
    (_, item), = find_pills("{{trigger.payload.items[3].id}}")
    assert check_pill(item, item.path[1:], tree) is None
    (_, header), = find_pills("{{trigger.headers.x-request-id}}")
    assert check_pill(header, header.path[1:], tree) == "headers.x-request-id"
    assert check_pill(header, header.path[1:], tree, open_paths=["headers"]) is None
