"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from the vendored files of `fastapi-offline`, so that they render on
a machine without internet. FastAPI's own pages load both from a CDN (and ReDoc's fonts from Google)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
    swagger_ui_default_parameters,
)
from fastapi.responses import HTMLResponse

from app.web.assets import DOCS_ASSETS

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_PATH = "/redoc"

# validatorUrl None: Swagger UI would otherwise send the schema to validator.swagger.io for its badge.
SWAGGER_PARAMETERS = {**swagger_ui_default_parameters, "validatorUrl": None}

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for this app's OpenAPI schema; every asset from `/assets/docs/`."""
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} — API docs",
        swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
        init_oauth=request.app.swagger_ui_init_oauth,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )


@router.get(OAUTH2_REDIRECT_PATH, response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    """The page Swagger UI's OAuth2 flows return to (inline script only)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_PATH, response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc for this app's OpenAPI schema, without Google Fonts; its script from `/assets/docs/`."""
    root = _root(request)
    return get_redoc_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} — API reference",
        redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )
