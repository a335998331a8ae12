"""Survivors of the mutation run over plugins/auth/oauth2_tokens.py (issue 17,
bench/README.md): what ``normalise_token`` stores of a token endpoint's answer.

The OAuth2 tests' provider always sends ``expires_in``, and authlib turns it into
``expires_at`` before plugwire sees the token; so the lifetime plugwire computes
itself, and a token with no lifetime at all, were never exercised.
"""

from __future__ import annotations

import time

from plugwire.plugins.auth.oauth2_tokens import normalise_token

GRANT = ("client_credentials", {"scope": "read"})


def test_a_token_without_a_lifetime_is_stored_without_one():
    """``expires_in`` is only RECOMMENDED (RFC 6749, 5.1): without it the token has no
    ``expires_at`` (only a 401 then says it is stale), and storing it does not fail."""
    token = normalise_token({"access_token": "at-1", "token_type": "Bearer"}, None, GRANT)
    assert "expires_at" not in token and token["access_token"] == "at-1"


def test_expires_at_is_computed_from_expires_in_when_the_answer_has_none():
    before = int(time.time())
    token = normalise_token({"access_token": "at-1", "expires_in": 3600}, None, GRANT)
    assert before + 3600 <= token["expires_at"] <= int(time.time()) + 3600


def test_an_expires_at_the_answer_gives_is_kept():
    """A provider's own ``expires_at`` (authlib's, or one the provider sent) is not
    replaced by one computed again from ``expires_in``."""
    token = normalise_token({"access_token": "at-1", "expires_in": 3600, "expires_at": 1_700_000_000}, None, GRANT)
    assert token["expires_at"] == 1_700_000_000
