"""Where the browser assets live on disk, and the URL prefixes they are served under.

- `/assets/app/`: the dashboard's own HTML, JS modules and CSS (`app/web/static/`).
- `/assets/docs/`: Swagger UI and ReDoc as vendored by the `fastapi-offline` package (its `static/` folder).
- `/assets/vendor/`: `plotly.min.js` from the `plotly` package (its `package_data/`), the dashboard's charts.

Each is a `StaticFiles` mount (ETag and Last-Modified, so a browser revalidates with a 304 instead of fetching
again) wrapped in gzip, since the vendored bundles are megabytes of text. The vendor folders serve only the files
named here, not the rest of the package's data.
"""

from __future__ import annotations

import os
from pathlib import Path

import fastapi_offline
import plotly
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

APP_ASSETS = "/assets/app"
DOCS_ASSETS = "/assets/docs"
VENDOR_ASSETS = "/assets/vendor"

STATIC_DIR = Path(__file__).resolve().parent / "static"
DOCS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
VENDOR_DIR = Path(plotly.__file__).resolve().parent / "package_data"

DOCS_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})
VENDOR_FILES = frozenset({"plotly.min.js"})


class OnlyFiles(StaticFiles):
    """`StaticFiles` limited to a fixed set of file names in its folder (a 404 for anything else)."""

    def __init__(self, *, directory: Path, names: frozenset[str]) -> None:
        missing = sorted(name for name in names if not (directory / name).is_file())
        if missing:  # a package that moved its files fails at start-up, not as a blank page
            raise FileNotFoundError(f"{directory} no longer holds {', '.join(missing)}")
        super().__init__(directory=directory)
        self.names = names

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path not in self.names:
            return "", None
        return super().lookup_path(path)


def _gzipped(files: StaticFiles) -> GZipMiddleware:
    return GZipMiddleware(files, minimum_size=1024, compresslevel=6)


def mount_assets(app: FastAPI) -> None:
    """Mount the asset folders on `app`; raises `FileNotFoundError` when a vendored file is missing."""
    app.mount(APP_ASSETS, _gzipped(StaticFiles(directory=STATIC_DIR)), name="app-assets")
    app.mount(DOCS_ASSETS, _gzipped(OnlyFiles(directory=DOCS_DIR, names=DOCS_FILES)), name="docs-assets")
    app.mount(VENDOR_ASSETS, _gzipped(OnlyFiles(directory=VENDOR_DIR, names=VENDOR_FILES)), name="vendor-assets")
