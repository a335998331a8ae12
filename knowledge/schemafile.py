"""The published JSON Schema of the catalogue format, generated from the models.

``plugwire knowledge schema`` writes it to ``knowledge/schema/catalogue.schema.json``;
a test keeps the committed file equal to what the models generate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plugwire.knowledge.models import CatalogueFile

__all__ = ["SCHEMA_PATH", "generate_schema", "render_schema", "write_schema"]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "catalogue.schema.json"


def generate_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of one catalogue file."""
    schema = CatalogueFile.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://plugwire.dev/schema/catalogue.schema.json",
        "title": "plugwire catalogue file",
        "description": (
            "One provider of the plugwire endpoint catalogue: hosts, auth hints and endpoints "
            "with sample requests. Generated from plugwire.knowledge.models; do not edit by hand."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def render_schema() -> str:
    """Return the schema as the text committed to the repository."""
    return json.dumps(generate_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path | str = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default: the published file); return the path.

    Raises ``OSError`` when the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema(), encoding="utf-8")
    return path
