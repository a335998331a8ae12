"""`plugwire suggest` as a newcomer types it (issue 14, items 6 and 17): a missing or
made-up method and a URL without a scheme, a mistyped known host, and a learned
suggestion on an unnamed host; and what the command imports before it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.wizard.suggest import request_line
from plugwire.knowledge.user import learn

URL = "https://api.github.com/repos/a/b"


def test_a_url_in_the_methods_place_is_named_with_the_fix(run_cli):
    code, out, err = run_cli("suggest", URL)
    assert code == 2
    assert "method is missing" in err and f"plugwire suggest GET {URL}" in err


def test_a_made_up_method_is_refused_naming_the_methods(run_cli):
    code, out, err = run_cli("suggest", "FETCH", URL)
    assert code == 2 and not out
    assert "'FETCH' is not an HTTP method" in err and "GET, POST, PUT, PATCH, DELETE" in err


def test_method_and_url_swapped_says_so():
    with pytest.raises(UserInputError) as info:
        request_line(URL, "get")
    assert info.value.field == "method" and f"`plugwire suggest GET {URL}`" in info.value.fix


@pytest.mark.parametrize(
    ("url", "field", "words"),
    [("ftp://api.github.com/x", "url", "scheme 'ftp'"), ("/repos/a/b", "url", "no host"), ("http:///x", "url", "no host"), (None, "url", "URL is missing")],
)
def test_bad_urls_are_refused_naming_the_url(url, field, words):
    with pytest.raises(UserInputError) as info:
        request_line("GET", url)
    assert info.value.field == field and words in str(info.value) and info.value.fix


def test_a_url_without_a_scheme_is_read_as_https_and_said_plainly(run_cli):
    code, out, err = run_cli("suggest", "get", "api.github.com/repos/a/b")
    assert code == 0
    assert "https:// was assumed (https://api.github.com/repos/a/b)" in err
    assert f"Sample request: GET {URL}" in out
    code, out, _ = run_cli("suggest", "GET", "api.github.com/repos/a/b", "--json")
    data = json.loads(out)
    assert data["url"] == URL and any("https:// was assumed" in n for n in data["notes"])


def test_a_mistyped_known_host_is_corrected_in_the_sample_and_said(run_cli):
    code, out, err = run_cli("suggest", "GET", "https://api.githib.com/repos/a/b", "--json")
    assert code == 0
    best = json.loads(out)["suggestions"][0]
    assert best["provider"] == "github" and best["request"]["url"] == URL
    assert "api.githib.com is not listed; it looks like a typo of api.github.com" in best["reason"]
    code, out, err = run_cli("suggest", "GET", "https://api.githib.com/repos/a/b")
    assert f"Sample request: GET {URL}" in out


def test_an_address_is_not_corrected_into_another_address(home):
    from plugwire.knowledge.suggestions import suggest_from_catalogue

    learn(home, provider=None, host="10.0.0.1", method="GET", path_template="/items", headers={}, query={}, body=None,
          body_format="none", content_type=None)
    found = suggest_from_catalogue("GET", "http://10.0.0.2:8080/items")
    assert all(s.request.url.startswith("http://10.0.0.2:8080/") for s in found)


def test_a_learned_suggestion_on_an_unnamed_host_reads_plainly_and_sends_no_empty_parameter(home, run_cli):
    # as learned before empty parameters were left out: `page: ''` in learned.yaml
    learn(home, provider=None, host="127.0.0.1", method="GET", path_template="/v1/items", headers={"X-Client": "docs"},
          query={"page": "", "per_page": "20"}, body=None, body_format="none", content_type=None)
    code, out, err = run_cli("suggest", "GET", "http://127.0.0.1:8123/v1/items", "--json")
    assert code == 0
    best = json.loads(out)["suggestions"][0]
    assert best["learned"] and best["request"]["query"] == {"per_page": "20"}
    assert best["reason"] == "Learned from your earlier request to 127.0.0.1:8123; the path fits the learned template /v1/items."
    # what the user typed is theirs, even empty
    code, out, err = run_cli("suggest", "GET", "http://127.0.0.1:8123/v1/items?page=", "--json")
    assert json.loads(out)["suggestions"][0]["request"]["query"] == {"page": "", "per_page": "20"}


def test_the_suggest_command_module_imports_nothing_heavy_until_it_runs():
    """`plugwire suggest` loads the engine when it runs, not when the CLI attaches it."""
    code = (
        "import sys, typer\n"
        "from plugwire.core.cli import knowledge\n"
        "knowledge.attach(typer.Typer())\n"
        "heavy = ('plugwire.knowledge', 'plugwire.core.wizard', 'yaml', 'rich.progress', 'rich.table', 'rapidfuzz')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def _modules_after(code: str, env: dict) -> list[str]:
    import os

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **env})
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_suggestion_from_the_cached_index_loads_no_yaml_reader_models_or_fuzzy_matcher(home, tmp_path):
    env = {"PLUGWIRE_HOME": str(home.path), "PLUGWIRE_CACHE_DIR": str(tmp_path / "cache")}
    code = (
        "import json, sys\n"
        "from plugwire.core.plugincore.manager import suggesters\n"
        "suggesters.items()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('plugwire.knowledge'))\n"
        "from plugwire.core.wizard.suggest import suggest\n"
        f"assert suggest('GET', {URL!r}).best.endpoint == 'GET /repos/{{owner}}/{{repo}}'\n"
        "print(json.dumps(loaded + sorted(m for m in sys.modules if m.startswith(('plugwire.knowledge.loader', "
        "'plugwire.knowledge.models', 'rapidfuzz')))))\n"
    )
    _modules_after(code, env)  # builds the cache
    # loading the plugins loads no knowledge base; a suggestion read from the cache needs
    # neither the YAML reader, the format's models nor rapidfuzz (an exact template matched)
    assert _modules_after(code, env) == []
