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

# Same-origin only, so nothing leaks out (or waits on a network that is not there): ReDoc's side menu shows
# "API docs by Redocly" with a logo from cdn.redoc.ly, which this blocks and the page's style hides.
_POLICY = ("default-src 'self'; script-src 'self'{inline}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
           "frame-ancestors 'none'")
SWAGGER_POLICY = _POLICY.format(inline=" 'unsafe-inline'")  # FastAPI's page starts Swagger UI in an inline script
REDOC_POLICY = _POLICY.format(inline="")
HIDE_REMOTE_IMAGES = "img[src^='http:'], img[src^='https:'] { display: none; }\n    </style>"

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for this app's OpenAPI schema; every asset from `/assets/docs/`."""
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} — API docs",
        swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
        init_oauth=request.app.swagger_ui_init_oauth,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    page.headers["Content-Security-Policy"] = SWAGGER_POLICY
    return page


@router.get(OAUTH2_REDIRECT_PATH, response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    """The page Swagger UI's OAuth2 flows return to (inline script only)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_PATH, response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc for this app's OpenAPI schema, without Google Fonts; its script from `/assets/docs/`."""
    root = _root(request)
    page = get_redoc_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} — API reference",
        redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    html = bytes(page.body).decode().replace("</style>", HIDE_REMOTE_IMAGES, 1)
    return HTMLResponse(html, headers={"Content-Security-Policy": REDOC_POLICY})
