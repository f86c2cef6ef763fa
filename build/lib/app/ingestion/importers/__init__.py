"""Importers: one module per export format, each turning a file into job records (see `base.py`).

`importer_for(name)` finds the class for `--format NAME`; the modules are imported only when asked for.
"""

from __future__ import annotations

import importlib

from app.ingestion.importers.base import Importer, ImporterConfigError, ImportOptions, MappedRow, Tally

# --format name → module; each module exposes `IMPORTERS: dict[str, type[Importer]]`, its formats by name.
_MODULES = {
    "slurm": "app.ingestion.importers.slurm",
    "focus": "app.ingestion.importers.focus",
    "k8s-pods": "app.ingestion.importers.k8s_pods",
    "csv": "app.ingestion.importers.tabular",
    "ndjson": "app.ingestion.importers.tabular",
}
FORMATS = tuple(_MODULES)


def importer_for(name: str) -> type[Importer]:
    """The importer class for `--format name`. Raises ImporterConfigError for an unknown format."""
    module = _MODULES.get(name)
    if module is None:
        raise ImporterConfigError(f"--format: unknown format {name!r}; known: {', '.join(FORMATS)}")
    found = importlib.import_module(module).IMPORTERS
    return found[name]


__all__ = ["FORMATS", "ImportOptions", "Importer", "ImporterConfigError", "MappedRow", "Tally", "importer_for"]
