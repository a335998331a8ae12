"""Which files of a folder are catalogue files (shared by the loader and the sources,
without the YAML reader or the format's models)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CATALOGUE_SUFFIXES", "catalogue_files_in"]

CATALOGUE_SUFFIXES = (".yaml", ".yml", ".json")


def catalogue_files_in(folder: Path | str) -> list[Path]:
    """Return the catalogue files directly in ``folder`` (sorted; none if it is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CATALOGUE_SUFFIXES and not p.name.startswith("."))
