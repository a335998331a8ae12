"""Survivors of the mutation run over core/base/redact.py (issue 17, bench/README.md):
each secret is masked in every form text can spell it in, and exactly there.

The log and job-scrub tests use secrets made of letters and digits, which every
form spells the same way; so breaking the JSON, HTML or short-value forms, or the
longest-first order, passed them all.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

import pytest

from plugwire.core.base.redact import MASK, redact_deep, redact_text, secret_forms


@pytest.mark.parametrize("short", ["", "ab", "a/b", 'a"b', "a<b"])
def test_a_value_shorter_than_four_characters_is_never_masked_in_any_form(short):
    """Even where a form of it is longer (``a/b`` percent-encoded is ``a%2Fb``), a
    short value is left alone: masking it would garble ordinary text."""
    assert secret_forms(short) == ()
    text = f"{short} {quote(short, safe='')} {json.dumps(short)} {html.escape(short)}"
    assert redact_text(text, [short]) == text
    assert redact_text("plain text", [short, "abcdef"]) == "plain text"


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_a_secret_is_masked_whole_in_json_written_either_way(ensure_ascii):
    """``json.dumps`` escapes the quote (and, with ``ensure_ascii``, the ``ä``): both
    spellings are forms of the secret, masked whole, not one character short."""
    secret = 'pä"sswort'
    text = json.dumps({"password": secret, "url": "https://x.test/a/b"}, ensure_ascii=ensure_ascii)
    assert redact_text(text, [secret]) == f'{{"password": "{MASK}", "url": "https://x.test/a/b"}}'
    assert redact_text(json.dumps('ab"cd'), ['ab"cd']) == f'"{MASK}"'


@pytest.mark.parametrize("text", [
    "<password>a&lt;b&amp;'cd</password>",          # XML text: quotes left as they are
    '<input value="a&lt;b&amp;&#x27;cd">',           # an HTML attribute: quotes escaped
])
def test_a_secret_is_masked_in_xml_and_html_escaped_text(text):
    masked = redact_text(text, ["a<b&'cd"])
    assert "a&lt;b" not in masked and MASK in masked and masked.count(MASK) == 1


def test_the_longer_of_two_overlapping_secrets_is_masked_whole():
    """A secret that starts with another one is masked whole, not cut after the shorter."""
    assert redact_text("key abcdefgh end", ["abcd", "abcdefgh"]) == f"key {MASK} end"
    assert redact_deep({"k": "abcdefgh"}, ["abcdefgh", "abcd"]) == {"k": MASK}


def test_secret_forms_come_longest_first():
    forms = secret_forms("pä/ss wört")
    assert len(forms) > 3 and [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)


def test_redact_deep_with_nothing_to_mask_returns_the_value_itself():
    """No secret long enough to mask (a job whose connection has none): the record is
    stored as it is, not lost."""
    record = {"request": {"url": "https://x.test/?q=1", "headers": [["accept", "*/*"]]}, "status": 200}
    assert redact_deep(record, []) == record
    assert redact_deep(record, ["ab"]) == record
