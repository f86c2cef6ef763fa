"""Where the browser assets live on disk, and the URL prefixes they are served under.

- `/assets/docs/`: Swagger UI and ReDoc as vendored by the `fastapi-offline` package (its `static/` folder).

It is a `StaticFiles` mount (ETag and Last-Modified, so a browser revalidates with a 304 instead of fetching
again) wrapped in gzip, since the vendored bundles are megabytes of text.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

DOCS_ASSETS = "/assets/docs"

DOCS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

# name served under DOCS_ASSETS → file in DOCS_DIR; checked at start-up so a package that moved its files fails
# loudly instead of serving blank pages.
DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def _gzipped(directory: Path) -> GZipMiddleware:
    return GZipMiddleware(StaticFiles(directory=directory), minimum_size=1024, compresslevel=6)


def mount_assets(app: FastAPI) -> None:
    """Mount the asset folders on `app`; raises `FileNotFoundError` when a vendored file is missing."""
    missing = [name for name in DOCS_FILES if not (DOCS_DIR / name).is_file()]
    if missing:
        raise FileNotFoundError(f"fastapi-offline no longer ships {', '.join(missing)} in {DOCS_DIR}")
    app.mount(DOCS_ASSETS, _gzipped(DOCS_DIR), name="docs-assets")
