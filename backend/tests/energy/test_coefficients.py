"""The shipped coefficients file, its checks, and `GET /energy/coefficients`."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import httpx
import pytest

from app.energy.coefficients import COEFFICIENTS_RESOURCE, CoefficientsError, default_coefficients, parse_coefficients
from app.pricing.catalog import default_catalog
from tests.api.problems import assert_problem

API = "/api/v1"


def shipped() -> dict[str, Any]:
    return json.loads(resources.files("app").joinpath(COEFFICIENTS_RESOURCE).read_text(encoding="utf-8"))


def test_every_shipped_figure_has_a_source_and_a_date() -> None:
    document = shipped()
    entries = [*document["gpus"], *document["pue"], *document["grid"], *document["defaults"].values()]
    assert all(e["source"].startswith("https://") and e["source_date"] for e in entries)


def test_the_shipped_figures_are_ccfs() -> None:
    c = default_coefficients()
    assert {p: c.pues[p].pue_milli for p in c.pues} == {"aws": 1_135, "gcp": 1_100, "azure": 1_185}
    assert (c.gpus["T4"].idle_mw, c.gpus["T4"].full_mw) == (8_000, 71_000)
    assert (c.gpus["P4"].idle_mw, c.gpus["P4"].full_mw) == (9_000, 76_500)
    assert c.grids[("aws", "us-east-1")].mg_per_kwh == 379_069
    assert c.grids[("gcp", "europe-north1")].mg_per_kwh == 133_000
    assert c.grids[("azure", "westeurope")].mg_per_kwh == 328_400


def test_every_priced_gpu_type_has_its_own_watts() -> None:
    # A GPU the price catalog knows should not fall back on the default GPU.
    assert {p.gpu_type for p in default_catalog().prices} <= set(default_coefficients().gpus)


def test_the_default_is_used_only_for_what_is_unknown() -> None:
    c = default_coefficients()
    known = c.for_job("aws", "H100", "us-west-2")
    assert not (known.gpu_default or known.pue_default or known.region_default)
    assert (known.full_mw, known.pue_milli, known.mg_per_kwh) == (700_000, 1_135, 322_167)
    no_region = c.for_job("aws", "H100", None)
    assert (no_region.region_default, no_region.mg_per_kwh) == (True, 480_000)
    onprem = c.for_job(None, None, None)
    assert (onprem.gpu_default, onprem.pue_default, onprem.region_default) == (True, True, True)


@pytest.mark.parametrize(("path", "value", "message"), [
    (("gpus", 0, "idle_watts"), "500", "idle_watts must not exceed full_watts"),
    (("gpus", 0, "full_watts"), 407, "full_watts must be a decimal string"),
    (("gpus", 0, "full_watts"), "407.0001", "more than 3 decimal places"),
    (("pue", 0, "pue"), "0.9", "pue must be between 1 and 10"),
    (("grid", 0, "g_co2e_per_kwh"), "-1", "between 0 and 10000"),
    (("defaults", "grid", "g_co2e_per_kwh"), "NaN", "between 0 and 10000"),
])
def test_a_malformed_figure_is_refused_naming_its_entry(path: tuple[Any, ...], value: Any, message: str) -> None:
    document = copy.deepcopy(shipped())
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(CoefficientsError, match=message) as refused:
        parse_coefficients(document)
    assert str(refused.value).startswith(path[0] if path[0] == "defaults" else f"{path[0]}[0]")


def test_a_figure_listed_twice_is_refused() -> None:
    document = shipped()
    document["grid"].append(dict(document["grid"][0], region=document["grid"][0]["region"].upper()))
    with pytest.raises(CoefficientsError, match="listed twice"):
        parse_coefficients(document)


async def test_any_signed_in_user_reads_the_coefficients(client: httpx.AsyncClient,
                                                         member_headers: dict[str, str]) -> None:
    response = await client.get(f"{API}/energy/coefficients", headers=member_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    a100 = next(g for g in body["gpus"] if g["gpu_type"] == "A100-80GB")
    assert (a100["idle_watts"], a100["full_watts"]) == ("46.000", "407.000")
    assert {p["provider"]: p["pue"] for p in body["pue"]} == {"aws": "1.135", "azure": "1.185", "gcp": "1.100"}
    assert body["defaults"]["pue"]["pue"] == "1.580"
    assert body["defaults"]["grid"]["g_co2e_per_kwh"] == "480.000"
    assert body["defaults"]["gpu_utilization"] == "0.5000"
    assert [g["gpu_type"] for g in body["gpus"]] == sorted(g["gpu_type"] for g in body["gpus"])
    assert_problem(await client.get(f"{API}/energy/coefficients"), 401)
