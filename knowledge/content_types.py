"""The content type a catalogue request gets when its file names only the body format.

Kept apart from :mod:`plugwire.knowledge.models` so that building a suggestion from
the cached index does not load the catalogue format's pydantic models.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CONTENT_TYPES"]

#: The content type a request gets when the file names only its body format.
DEFAULT_CONTENT_TYPES: dict[str, str | None] = {
    "none": None,
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data",
    "xml": "application/xml",
    "text": "text/plain",
    "binary": "application/octet-stream",
}
