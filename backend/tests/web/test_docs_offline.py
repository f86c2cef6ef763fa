"""`/docs` and `/redoc` work without internet: their pages name no external URL, and every asset they name is
served by the app itself (known symptom: blank pages on an air-gapped cluster, since FastAPI's defaults load
Swagger UI and ReDoc from a CDN and ReDoc's fonts from Google)."""

from __future__ import annotations

import gzip
import re

import pytest

# src="…", href="…", url(…), and the bare URLs FastAPI's templates put in script text (spec-url, url: '…').
ATTRIBUTE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""\burl\s*:\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"""(?:https?:)?//[\w.-]+""", re.IGNORECASE)


def referenced(html: str) -> list[str]:
    return ATTRIBUTE.findall(html) + SCRIPT_URL.findall(html)


@pytest.mark.parametrize(("page", "expected"), [
    ("/docs", {"/assets/docs/swagger-ui-bundle.js", "/assets/docs/swagger-ui.css", "/assets/docs/favicon.png",
               "/openapi.json"}),
    ("/redoc", {"/assets/docs/redoc.standalone.js", "/assets/docs/favicon.png", "/openapi.json"}),
])
async def test_the_docs_pages_name_only_local_assets_and_each_is_served(bare_client, page, expected) -> None:
    response = await bare_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not EXTERNAL.findall(re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)), "an external URL in " + page
    assert "fonts.googleapis" not in html and "cdn" not in html.lower()
    urls = set(referenced(html))
    assert urls == expected, urls
    for url in sorted(urls):
        asset = await bare_client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    if page == "/docs":
        assert '"validatorUrl": null' in html  # no schema sent to validator.swagger.io for a badge
        assert "window.location.origin + '/docs/oauth2-redirect'" in html


@pytest.mark.parametrize(("name", "media_type", "at_least"), [
    ("swagger-ui-bundle.js", "javascript", 1_000_000),
    ("swagger-ui.css", "text/css", 100_000),
    ("redoc.standalone.js", "javascript", 800_000),
])
async def test_vendored_files_are_served_with_their_type_and_gzipped(bare_client, name, media_type,
                                                                    at_least) -> None:
    plain = await bare_client.get(f"/assets/docs/{name}")
    assert plain.status_code == 200
    assert media_type in plain.headers["content-type"]
    assert len(plain.content) >= at_least
    assert plain.headers.get("etag") and plain.headers.get("last-modified")  # revalidated, not fetched again
    raw = await bare_client.get(f"/assets/docs/{name}", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    # httpx decodes it: the decoded body is the same file, and it travelled smaller.
    assert raw.content == plain.content
    assert len(gzip.compress(plain.content)) < len(plain.content)


async def test_no_asset_outside_the_vendored_folder_is_reachable(bare_client) -> None:
    assert (await bare_client.get("/assets/docs/../core.py")).status_code == 404
    assert (await bare_client.get("/assets/docs/missing.js")).status_code == 404


async def test_oauth2_redirect_page_is_inline_only(bare_client) -> None:
    response = await bare_client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert not ATTRIBUTE.findall(response.text)
