"""The dashboard's page: `GET /` serves one HTML shell; its JS modules (`static/js/`) read only the public API
(`/api/v1/...`) with the bearer token they got from `POST /api/v1/auth/token`, kept in memory."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.web.assets import STATIC_DIR

# The shell loads only same-origin files; inline styles are allowed because plotly.js sets them on its SVG.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard() -> FileResponse:
    """The dashboard's HTML shell (the pages are drawn by `static/js/main.js` from the URL's `#/page?…`)."""
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
    )
