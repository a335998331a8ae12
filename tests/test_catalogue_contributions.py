"""Every catalogue file in the repository validates with `plugwire knowledge validate`
(built-in, contrib/catalogue/ and the catalogues example plugins ship), and the
contrib files are actually used by the knowledge base."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugwire.core.wizard.suggest import suggest
from plugwire.knowledge.loader import CATALOGUE_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent
PLUGWIRE = str(Path(sys.executable).with_name("plugwire"))
FOLDERS = [ROOT / "knowledge" / "catalogue", ROOT / "contrib" / "catalogue",
           *sorted((ROOT / "contrib").glob("plugwire-*/src/*/catalogue"))]
FILES = sorted(f for folder in FOLDERS for f in folder.iterdir() if f.suffix in CATALOGUE_SUFFIXES)


def validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PLUGWIRE, "knowledge", "validate", *map(str, paths)],
                          capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_every_catalogue_file_in_the_repository_validates():
    assert len(FILES) >= 30 and any("contrib" in str(f) for f in FILES)
    done = validate(*FILES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(FILES)} valid provider(s); ok." in done.stdout


def test_the_validator_names_file_line_and_path_of_a_fault(tmp_path):
    broken = tmp_path / "pushover.yaml"
    text = (ROOT / "contrib" / "catalogue" / "pushover.yaml").read_text()
    broken.write_text(text.replace("    summary: List the notification sounds\n", ""))
    done = validate(broken)
    assert done.returncode == 1
    line = text[: text.index("    path: /1/sounds.json")].count("\n")
    assert f"{broken}:{line}: endpoints[1].summary: Field required" in done.stdout


@pytest.mark.parametrize("path", [f for f in FILES if "contrib" in str(f)], ids=lambda p: p.name)
def test_a_contrib_file_alone_suggests_its_endpoints(path, plugwire_catalogue):
    (provider,) = plugwire_catalogue.load(path)
    for endpoint in provider.endpoints:
        filled = endpoint.path
        for name, param in endpoint.path_params.items():
            filled = filled.replace("{" + name + "}", param.example or "x1")
        host = provider.hosts[0].replace("{", "").replace("}", "")
        url = f"https://{host}{provider.base_path}{filled}"
        best = plugwire_catalogue.best(path, endpoint.method, url)
        assert best is not None and best.endpoint == f"{endpoint.method} {endpoint.path}", (url, best)


def test_contrib_files_are_part_of_the_knowledge_base(home):
    best = suggest("POST", "https://api.pushover.net/1/messages.json").best
    assert best.provider == "pushover" and best.request.body_format == "form"
    assert best.request.body["message"]
