"""``mask`` (core/base/secrets.py), what a connection's and a recipe's public view
shows: every secret, at any depth, is the mask; everything else is kept as it is.

The mutation run (issue 17, bench/README.md) first ran ``mask`` against the action
secrets and job scrub tests, which never call it: each of its four returns made
``None`` survived. These tests kill all four.
"""

from __future__ import annotations

from pydantic import SecretBytes, SecretStr

from plugwire.core.base.secrets import MASK, mask


def test_mask_replaces_every_secret_at_any_depth_and_keeps_the_rest():
    value = {
        "token": SecretStr("planted-1"),
        "empty": SecretStr(""),  # nothing to hide: shown empty, not as a secret that is set
        "raw": SecretBytes(b"planted-2"),
        "nested": {"list": [SecretStr("planted-3"), "plain", 3], "tuple": (SecretBytes(b"planted-4"), None, True)},
        "name": "alice",
        "port": 8080,
        "none": None,
    }
    assert mask(value) == {
        "token": MASK,
        "empty": "",
        "raw": MASK,
        "nested": {"list": [MASK, "plain", 3], "tuple": [MASK, None, True]},
        "name": "alice",
        "port": 8080,
        "none": None,
    }


def test_a_connections_public_view_masks_its_secrets_and_shows_its_other_settings(connections):
    conn = connections.create({"name": "c", "auth_type": "custom", "settings": {
        "headers": {"X-Api-Key": "planted-header-secret"}, "username": "alice", "password": "planted-password"}})
    settings = conn.public()["settings"]
    assert settings["headers"] == {"X-Api-Key": MASK}
    assert settings["username"] == "alice" and settings["password"] == MASK
    assert "planted" not in repr(conn.public())
