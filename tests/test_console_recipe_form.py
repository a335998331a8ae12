"""The webhook form's signature fields (issue 14, item 18b): with the check 'none'
they are hidden (by the stylesheet and the script, in the browser tests) and the
server refuses a shared secret given without a check, naming the field and the fix."""

from __future__ import annotations

import pytest

from recipes_support import plugwire_server
from test_web_console import Browser


@pytest.fixture
def browser(home):
    with plugwire_server(home) as (state, url):
        yield state, Browser(url)


def test_a_secret_without_a_check_is_refused_and_the_form_kept(browser):
    state, client = browser
    refused = client.post("/console/recipes/new", {"name": "hook", "trigger": "webhook", "signature_scheme": "",
                                                   "signature_secret": "whk-Secret-5d8a", "signature_header": "X-Signature-256"})
    assert refused.status_code == 400
    assert "signature_secret is set but the signature check is &#39;none&#39;" in refused.text
    assert 'data-field="signature_scheme"' in refused.text and "choose a signature check, or clear the shared secret" in refused.text
    assert "whk-Secret-5d8a" not in refused.text
    assert state.recipes.list() == []


def test_without_a_check_the_other_signature_fields_are_ignored(browser):
    state, client = browser
    # What a browser without the script sends: the hidden fields with their defaults,
    # or with a stored check's header and prefix after switching to 'none'.
    made = client.post("/console/recipes/new", {"name": "hook", "trigger": "webhook", "signature_scheme": "",
                                                "signature_secret": "", "signature_header": "X-Sig", "signature_prefix": "sha256="})
    assert made.status_code == 303, made.text
    assert "signature" not in state.recipes.get("hook").trigger.config or state.recipes.get("hook").trigger.config["signature"] is None


def test_the_signature_fields_are_marked_for_the_checks_they_belong_to(browser):
    _, client = browser
    page = client.get("/console/recipes/new?trigger=webhook").text
    assert '<fieldset class="sig-fields" data-sig-for="hmac-sha256 standard-webhooks">' in page
    assert '<div class="row sig-fields" data-sig-for="hmac-sha256">' in page
    assert page.index('data-sig-for="hmac-sha256 standard-webhooks"') < page.index('name="signature_secret"') < page.index('name="signature_header"')
