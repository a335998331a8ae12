"""Datapills: the syntax, filling values in at run time, and checks against datatrees."""

import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.recipes.datapills import MissingValue, check_pill, find_pills, render
from plugwire.core.wizard.datatree import infer

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


def test_a_value_of_several_pills_is_text():
    # Two pills side by side fill the whole value, yet it is not one pill: it is text.
    assert render("{{trigger.payload.venue.name}}-{{trigger.payload.venue.capacity}}", CONTEXT) == "Blue Hall-300"
    assert render("{{trigger.payload.venue.capacity}}}}", CONTEXT) == "300}}"


def test_escapes_are_undone_in_the_value_only_never_in_the_data():
    context = {"trigger": {"payload": {"raw": "a \\{{b}}"}}, "steps": {}}
    assert render("x \\{{y}} {{trigger.payload.raw}}", context) == "x {{y}} a \\{{b}}"
    assert render("{{trigger.payload.raw}}", context) == "a \\{{b}}"


def test_a_value_parsed_once_still_renders_each_event_and_each_place():
    value = {"name": "{{trigger.payload.name}}", "label": "Hall {{trigger.payload.name}}", "n": 3, "tags": ["{{trigger.payload.n}}"]}
    for n in range(3):
        context = {"trigger": {"payload": {"name": f"Hall {n}", "n": n}}, "steps": {}}
        assert render(value, context) == {"name": f"Hall {n}", "label": f"Hall Hall {n}", "n": 3, "tags": [n]}
    # The same text at another place names that place when its value is missing.
    for where in ("body.a", "body.b"):
        with pytest.raises(MissingValue) as info:
            render({where.split(".")[1]: "x {{trigger.payload.gone}}"}, {"trigger": {"payload": {}}}, where="body")
        assert f"in {where} has no value" in str(info.value) and info.value.field == "trigger.payload.gone"


def test_a_malformed_pill_is_refused_at_run_time_every_time():
    for _ in range(2):  # a refusal is not remembered as a parsed value
        with pytest.raises(UserInputError) as info:
            render({"body": {"v": "Hi {{trigger.payload | upper}}"}}, CONTEXT)
        assert info.value.field == "body.v"
