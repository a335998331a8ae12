"""The request's rules, kept by its model at every door, and the JSON API refusing
what does not fit them with 422 naming the field (never a 500, never an action that
fails its job later with an internal error)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugwire.core.http.exchange import FilePart, RequestSpec

URL = "https://api.example.com/v1/items"


def _refusal(**fields) -> tuple[str, str]:
    """Return ``(field, message)`` of the first error RequestSpec raises for ``fields``."""
    with pytest.raises(ValidationError) as info:
        RequestSpec.model_validate({"url": URL, **fields})
    err = info.value.errors(include_input=False)[0]
    return ".".join(str(p) for p in err["loc"]), err["msg"]


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "caf\u00e9"])
def test_a_header_value_that_would_break_the_line_is_refused_naming_the_header(value):
    field, message = _refusal(headers={"X-Trace": value})
    assert field == "headers.X-Trace"
    assert ("line break" in message) if ("\r" in value or "\n" in value) else ("character" in message)


@pytest.mark.parametrize("name", ["X Trace", "T\u00e9st", "X:Trace", "", "a\r\nb"])
def test_a_header_name_that_is_not_a_token_is_refused(name):
    field, message = _refusal(headers={name: "1"})
    assert field.startswith("headers.") and "is not a header name" in message


def test_the_content_type_and_a_file_part_type_are_header_values_too():
    assert _refusal(content_type="text/plain\r\nX-Evil: 1")[0] == "content_type"
    with pytest.raises(ValidationError, match="line break"):
        FilePart(field="f", content_base64="", content_type="image/png\r\nX-Evil: 1")


@pytest.mark.parametrize("url", ["/v1/items", "ftp://files.example.com/x", "https://", "https://api.example.com:99999/", "not a url"])
def test_a_url_that_is_not_an_absolute_http_url_is_refused(url):
    field, message = _refusal(url=url)
    assert field == "url" and url.strip() in message


@pytest.mark.parametrize(("fmt", "body", "words"), [
    ("binary", [1, 2], "list"),
    ("binary", "not base64!", "base64"),
    ("text", {"a": 1}, "mapping"),
    ("xml", ["<a/>"], "list"),
    ("form", ["a"], "mapping of field to value"),
    ("multipart", "a=1", "mapping of field to value"),
    ("json", "{not json", "does not parse"),
])
def test_a_body_that_does_not_fit_its_format_is_refused_naming_the_body(fmt, body, words):
    field, message = _refusal(method="POST", body=body, body_format=fmt)
    assert field == "body" and words in message and fmt in message


def test_query_values_are_text_numbers_or_lists_of_them():
    assert _refusal(query={"filter": {"a": 1}})[0] == "query.filter"
    assert _refusal(query={"tag": ["a", ["b"]]})[0] == "query.tag"
    spec = RequestSpec(url=URL, query={"page": 2, "tag": ["a", "b"], "all": True, "empty": None})
    assert spec.query["tag"] == ["a", "b"]


def test_inline_file_content_must_be_base64():
    assert _refusal(body_format="multipart", files=[{"field": "f", "content_base64": "!!"}])[0] == "files.0.content_base64"


def test_what_fits_is_kept_and_pills_are_checked_when_filled_in():
    # Values holding a datapill are checked when the pill is filled in, at run time.
    for fmt, body in [("json", '{"id": {{trigger.payload.id}}}'), ("binary", "{{trigger.payload.file}}"),
                      ("binary", "aGVsbG8=\n"), ("form", "a=1&b=2"), ("form", {"a": ["1", "2"]}), ("text", "hi"),
                      ("json", [1, {"a": None}]), ("none", None)]:
        RequestSpec(method="POST", url=URL, body=body, body_format=fmt)
    assert RequestSpec().url == ""  # the wizard's blank request, before step 1
