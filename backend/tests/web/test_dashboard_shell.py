"""The dashboard's shell at `/`: one HTML page whose scripts, styles and chart library are all served by the app
(nothing from another origin), under a Content-Security-Policy that allows no other origin either."""

from __future__ import annotations

import re

import pytest

from app.web.assets import STATIC_DIR, VENDOR_DIR

ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#]+)["']""", re.IGNORECASE)
IMPORT = re.compile(r"""^import .* from "\./([\w.]+)";$""", re.MULTILINE)
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9-]+\.[a-z]""", re.IGNORECASE)


SOURCES = {path.name: path.read_text() for path in sorted((STATIC_DIR / "js").glob("*.js"))}
PLOTLY = (VENDOR_DIR / "plotly.min.js").read_bytes()


async def test_the_shell_is_served_at_the_root_with_a_strict_policy(bare_client) -> None:
    response = await bare_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-cache"  # a new release's shell is picked up at once


async def test_every_asset_the_shell_names_is_local_and_served(bare_client) -> None:
    html = (await bare_client.get("/")).text
    assert not EXTERNAL.search(html)
    urls = ATTRIBUTE.findall(html)
    assert set(urls) >= {"assets/app/app.css", "assets/app/js/main.js", "assets/app/favicon.svg"}, urls
    for url in urls:
        if url == "docs":  # the <noscript> link to the API docs
            continue
        response = await bare_client.get("/" + url)
        assert response.status_code == 200, url
        assert response.content, url


@pytest.mark.parametrize("module", sorted(SOURCES))
async def test_each_module_is_served_as_javascript_and_imports_only_served_modules(bare_client, module: str) -> None:
    response = await bare_client.get(f"/assets/app/js/{module}")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]  # module scripts are refused under another type
    source = SOURCES[module]
    assert response.text == source
    for imported in IMPORT.findall(source):
        assert (STATIC_DIR / "js" / imported).is_file(), f"{module} imports a missing {imported}"
    assert not EXTERNAL.search(source), f"{module} names another origin"
    # The token stays in memory: nothing is written where other scripts (or a later visitor) could read it.
    assert not re.search(r"\b(?:localStorage|sessionStorage|indexedDB)\s*[.\[]|document\.cookie", source)


async def test_the_chart_library_comes_from_the_plotly_package_gzipped(bare_client) -> None:
    response = await bare_client.get("/assets/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == PLOTLY
    assert "javascript" in response.headers["content-type"]
    # Only the named file: the package's other data (datasets, widget bundle) is not served.
    assert (await bare_client.get("/assets/vendor/widgetbundle.js")).status_code == 404
    assert (await bare_client.get("/assets/vendor/datasets/iris.csv.gz")).status_code == 404


def test_the_charts_load_their_library_from_the_served_path() -> None:
    charts = SOURCES["charts.js"]
    assert 'script.src = "assets/vendor/plotly.min.js"' in charts
