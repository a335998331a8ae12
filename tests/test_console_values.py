"""Values as the console shows them (issue 14, items 18d and 12): a datatree's
examples are JSON (``true``, ``false``, ``null``), not Python's ``True``/``None``, and
a masked value shows its bullets, not ``\\u2022`` escapes."""

from __future__ import annotations

import re

from plugwire.core.base.secrets import MASK
from recipes_support import plugwire_server, save_action
from test_web_console import Browser


def examples(page: str) -> dict[str, str]:
    """Each datatree field's name and the example shown beside it."""
    found = re.findall(r'<code>([^<]+)</code> <span class="type">[^<]*</span>\s*<span class="example">([^<]*)</span>', page)
    return dict(found)


def test_datatree_examples_are_json(home):
    save_action(home, "flags", method="GET", url="https://api.example.com/flags",
                sample={"active": True, "archived": False, "owner": None, "count": 3, "tags": ["a"], "name": "x"})
    with plugwire_server(home) as (_, url):
        page = Browser(url).get("/console/actions/flags").text
    shown = examples(page)
    assert shown["active"] == "true" and shown["archived"] == "false" and shown["owner"] == "null"
    assert shown["count"] == "3" and shown["name"] == "x"
    assert "True" not in page and "None" not in page and "False" not in page


def test_masked_settings_show_bullets_not_escapes(home, connections):
    connections.create({"name": "keyed", "auth_type": "header", "settings": {"headers": {"X-Api-Key": "key-Value-7d3k2j1h"}}})
    with plugwire_server(home) as (_, url):
        page = Browser(url).get("/console/connections/keyed").text
    row = re.search(r"<tr><th>headers</th><td>(.*?)</td></tr>", page).group(1)
    assert MASK in row and "\\u2022" not in page and "key-Value-7d3k2j1h" not in page
