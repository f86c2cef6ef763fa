"""The layering rules of DESIGN.md, checked on the source: a file's path says what it may import.

- `core/` imports nothing of the app; `db/` imports only `core/`.
- A router (`*/router.py`) speaks HTTP: never SQLAlchemy.
- A service (`*/service.py`) never imports FastAPI or Starlette: it can be called from the CLI and tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(pattern: str) -> list[Path]:
    found = sorted(APP.glob(pattern))
    assert found, f"no files match {pattern}: the rule would check nothing"
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(APP.parent))


@pytest.mark.parametrize("path", _files("core/*.py"), ids=_rel)
def test_core_imports_nothing_of_the_app(path: Path) -> None:
    assert not {m for m in _imports(path) if m == "app" or m.startswith("app.")}


@pytest.mark.parametrize("path", _files("db/**/*.py"), ids=_rel)
def test_db_imports_only_core_and_itself(path: Path) -> None:
    app_imports = {m for m in _imports(path) if m.startswith("app.")}
    assert all(m.startswith(("app.core", "app.db")) for m in app_imports), app_imports


@pytest.mark.parametrize("path", _files("*/router.py"), ids=_rel)
def test_routers_never_import_sqlalchemy(path: Path) -> None:
    assert not {m for m in _imports(path) if m.split(".")[0] == "sqlalchemy"}


@pytest.mark.parametrize("path", _files("*/service.py"), ids=_rel)
def test_services_never_import_the_web_framework(path: Path) -> None:
    assert not {m for m in _imports(path) if m.split(".")[0] in {"fastapi", "starlette"}}
