"""Datatree inference from JSON values and XML documents."""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

import pytest

from plugwire.core.base.secrets import MASK
from plugwire.core.http.body import xml_to_data
from plugwire.core.wizard.datatree import infer, infer_xml


def test_nested_objects_and_scalar_types():
    tree = infer({"id": 7, "price": 9.5, "name": "Hall", "live": True, "parent": None, "address": {"city": "Lisbon", "geo": {"lat": 38.7}}})
    types = {f.path: f.type for f in tree.fields()}
    assert types == {
        "id": "integer", "price": "number", "name": "string", "live": "boolean", "parent": "null",
        "address": "object", "address.city": "string", "address.geo": "object", "address.geo.lat": "number",
    }
    assert tree.find("address.city").example == "Lisbon"
    assert tree.find("parent").nullable


def test_arrays_of_objects_are_merged():
    tree = infer({"items": [{"id": 1, "tag": None}, {"id": 2.5, "tag": "x", "extra": {"a": 1}}, {"id": 3, "tag": "y"}]})
    items = tree.find("items")
    assert items.type == "array" and items.item.type == "object"
    assert tree.find("items[].id").type == "number"  # integer and number merge to number
    tag = tree.find("items[].tag")
    assert tag.type == "string" and tag.nullable and not tag.optional
    extra = tree.find("items[].extra")
    assert extra.optional and tree.find("items[].extra.a").type == "integer"


def test_top_level_array_mixed_types_and_empty_arrays():
    tree = infer([{"v": 1}, {"v": "one"}])
    assert tree.root.type == "array" and tree.find("[].v").type == "any"
    empty = infer({"list": []})
    assert empty.find("list").type == "array" and empty.find("list").item is None
    scalars = infer({"tags": ["a", "b"]})
    assert scalars.find("tags[]").type == "string"


def test_secret_looking_examples_are_masked_and_long_ones_shortened():
    tree = infer({"access_token": "abc123def456", "bio": "x" * 500})
    assert tree.find("access_token").example == MASK
    assert len(tree.find("bio").example) == 80


def test_xml_attributes_text_namespaces_and_repeats():
    xml = """<ns:order xmlns:ns="urn:x" id="5"><ns:line sku="A">2</ns:line><ns:line sku="B">1</ns:line>
             <note lang="en">fragile</note><total>12.50</total><empty/></ns:order>"""
    data = xml_to_data(xml)
    assert data == {
        "order": {
            "@id": "5",
            "line": [{"@sku": "A", "#text": "2"}, {"@sku": "B", "#text": "1"}],
            "note": {"@lang": "en", "#text": "fragile"},
            "total": "12.50",
            "empty": "",
        }
    }
    tree = infer_xml(xml)
    assert tree.source == "xml"
    assert {"order.@id", "order.line", "order.line[].@sku", "order.line[].#text", "order.note.@lang", "order.total"} <= set(tree.paths())


def test_malformed_xml_raises():
    with pytest.raises(ParseError):
        infer_xml("<a><b></a>")
