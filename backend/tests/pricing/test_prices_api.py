"""The rate card over HTTP: `GET /prices` at an instant and with its history, the admin's changes (add, retire,
aliases) answered with the recost of the jobs they touch, and the change log; figures computed by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.api.problems import assert_problem
from tests.ingestion.conftest import ingest_ok, job

API = "/api/v1"
V100_2019 = {"provider": "onprem", "gpu_type": "V100M16", "usd_per_gpu_hour": "2.10",
             "valid_from": "2019-01-01T00:00:00Z", "note": "chargeback"}


def onprem_job(job_id: str, **fields: Any) -> dict[str, Any]:
    """A 2019 on-prem job: 2 GPUs for 10 h (20 GPU-hours), no billed cost."""
    record = {"provider": "onprem", "gpu_type": "v100m16", "gpu_count": 2, "cost": None,
              "started_at": "2019-06-01T08:00:00Z", "ended_at": "2019-06-01T18:00:00Z", **fields}
    return job(job_id, **record)


async def stored_cost(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> tuple[str | None, str]:
    body = (await client.get(f"{API}/jobs/{job_id}", headers=headers)).json()
    return body["cost"], body["cost_source"]


async def test_an_admin_prices_an_onprem_cluster_and_history_is_repriced(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [onprem_job("onprem-1"), onprem_job("billed-1", cost="5.00")])
    assert (await stored_cost(client, admin_headers, "onprem-1")) == (None, "unpriced")

    response = await client.post(f"{API}/admin/prices", json={"rates": [V100_2019]}, headers=admin_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    [added] = body["added"]
    assert (added["provider"], added["gpu_type"], added["origin"], added["usd_per_gpu_hour"]) == (
        "onprem", "V100M16", "custom", "2.100000")
    # 20 GPU-hours × $2.10 = $42.00; the billed job is not touched.
    assert body["recost"]["jobs_recosted"] == 1
    assert (body["recost"]["cost_before"], body["recost"]["cost_after"]) == ("0.000000", "42.000000")
    assert (body["recost"]["unpriced_gpu_hours_before"], body["recost"]["unpriced_gpu_hours_after"]) == (
        "20.000000", "0.000000")
    assert await stored_cost(client, admin_headers, "onprem-1") == ("42.000000", "estimated")
    assert await stored_cost(client, admin_headers, "billed-1") == ("5.000000", "billed")

    # The card in 2019 holds it; in force now too (open-ended).
    card = (await client.get(f"{API}/prices", params={"at": "2019-06-01T00:00:00Z"}, headers=admin_headers)).json()
    assert [p["id"] for p in card["prices"]] == [added["id"]]  # the catalog's rates start in 2020
    assert card["prices"][0]["state"] == "in_force"

    # Retiring it restores the figures from before, to the micro-USD.
    retired = await client.delete(f"{API}/admin/prices/{added['id']}", headers=admin_headers)
    assert retired.status_code == 200, retired.text
    assert retired.json()["recost"]["cost_after"] == "0.000000"
    assert await stored_cost(client, admin_headers, "onprem-1") == (None, "unpriced")
    assert_problem(await client.delete(f"{API}/admin/prices/{added['id']}", headers=admin_headers), 404)
    history = (await client.get(f"{API}/prices", params={"include": "history"}, headers=admin_headers)).json()
    assert {p["id"]: p["state"] for p in history["prices"]}[added["id"]] == "retired"
    now = (await client.get(f"{API}/prices", headers=admin_headers)).json()
    assert added["id"] not in {p["id"] for p in now["prices"]}

    changes = (await client.get(f"{API}/admin/prices/changes", params={"limit": 2}, headers=admin_headers)).json()
    assert [c["action"] for c in changes["changes"]] == ["retire", "add"]
    assert changes["changes"][0]["actor"] == "root@example.test"
    assert changes["has_more"] is True and changes["total"] > 2


async def test_prices_keeps_the_seed_fields_and_refuses_a_naive_instant(
        client: httpx.AsyncClient, member_headers: dict[str, str]) -> None:
    response = await client.get(f"{API}/prices", headers=member_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currency"] == "USD" and body["aliases"]["provider"]["amazon"] == "aws"
    aws_h100 = next(p for p in body["prices"] if (p["provider"], p["gpu_type"]) == ("aws", "H100"))
    assert {"provider", "gpu_type", "usd_per_gpu_hour", "valid_from", "source", "source_date"} <= set(aws_h100)
    assert (aws_h100["origin"], aws_h100["usd_per_gpu_hour"]) == ("catalog", "6.880000")
    refused = await client.get(f"{API}/prices", params={"at": "2025-01-01T00:00:00"}, headers=member_headers)
    assert_problem(refused, 422)
    assert_problem(await client.get(f"{API}/prices", params={"include": "all"}, headers=member_headers), 422)
    assert_problem(await client.get(f"{API}/prices"), 401)
    assert_problem(await client.post(f"{API}/admin/prices", json={"rates": [V100_2019]}, headers=member_headers),
                   403)


async def test_bad_rates_are_named_by_index_and_field_and_nothing_is_added(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    bad = {**V100_2019, "usd_per_gpu_hour": "-1", "valid_from": "2019-01-01T00:00:00"}
    response = await client.post(f"{API}/admin/prices", json={"rates": [V100_2019, bad]}, headers=admin_headers)
    body = assert_problem(response, 422)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "rates", 1, "usd_per_gpu_hour"),
                                                         ("body", "rates", 1, "valid_from")}
    star = await client.post(f"{API}/admin/prices", json={"rates": [{**V100_2019, "gpu_type": "*"}]},
                             headers=admin_headers)
    assert [e["loc"] for e in assert_problem(star, 422)["errors"]] == [["body", "rates", 0, "gpu_type"]]
    card = (await client.get(f"{API}/prices", params={"include": "history"}, headers=admin_headers)).json()
    assert not [p for p in card["prices"] if p["origin"] == "custom"]


async def test_overlap_409_names_the_other_rate_and_an_open_rate_is_closed(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    first = (await client.post(f"{API}/admin/prices", json={"rates": [V100_2019]}, headers=admin_headers)).json()
    first_id = first["added"][0]["id"]
    later = {**V100_2019, "usd_per_gpu_hour": "1.80", "valid_from": "2021-01-01T00:00:00Z"}
    response = await client.post(f"{API}/admin/prices", json={"rates": [later]}, headers=admin_headers)
    assert response.status_code == 201, response.text
    [closed] = response.json()["closed"]
    assert (closed["rate"]["id"], closed["rate"]["valid_to"], closed["closed_at"]) == (
        first_id, "2021-01-01T00:00:00Z", "2021-01-01T00:00:00Z")
    assert first_id in response.json()["message"]
    overlapping = {**V100_2019, "valid_from": "2018-01-01T00:00:00Z", "valid_to": "2020-01-01T00:00:00Z"}
    body = assert_problem(await client.post(f"{API}/admin/prices", json={"rates": [overlapping]},
                                            headers=admin_headers), 409, "rate-overlap")
    assert first_id in body["detail"] and body["conflicts"][0]["other"]["id"] == first_id
    catalog_id = next(p["id"] for p in (await client.get(f"{API}/prices", headers=admin_headers)).json()["prices"]
                      if p["origin"] == "catalog")
    assert_problem(await client.delete(f"{API}/admin/prices/{catalog_id}", headers=admin_headers), 409,
                   "catalog-rate")
    assert_problem(await client.delete(f"{API}/admin/prices/not-a-uuid", headers=admin_headers), 422)


async def test_a_mig_slice_costs_its_share_of_the_parent_rate(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # One 3g.40gb slice for 7 h on an A100-80GB at $1.000001: exactly 3 × the rate.
    slice_job = job("mig-1", provider="onprem", gpu_type="gres/gpu:a100_3g.40gb", gpu_count=1, cost=None,
                    started_at="2019-03-01T00:00:00Z", ended_at="2019-03-01T07:00:00Z")
    await ingest_ok(client, admin_headers, [slice_job])
    rate = {"provider": "onprem", "gpu_type": "A100-80GB", "usd_per_gpu_hour": "1.000001",
            "valid_from": "2019-01-01T00:00:00Z"}
    response = await client.post(f"{API}/admin/prices", json={"rates": [rate]}, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert await stored_cost(client, admin_headers, "mig-1") == (f"{3 * Decimal('1.000001'):.6f}", "estimated")


async def test_an_alias_is_stored_and_read_from_then_on(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(f"{API}/admin/prices/aliases", json={"gpu_type": {"V100M32": "v100-32gb"}},
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == {"gpu_type": {"v100m32": {"before": "V100M32", "after": "V100-32GB"}}}
    card = (await client.get(f"{API}/prices", headers=admin_headers)).json()
    assert card["aliases"]["gpu_type"]["v100m32"] == "V100-32GB"
    await ingest_ok(client, admin_headers, [job("aliased-1", gpu_type="v100m32", cost=None)])
    stored = (await client.get(f"{API}/jobs/aliased-1", headers=admin_headers)).json()
    assert stored["gpu_type"] == "V100-32GB" and stored["labels"]["gpu_type_sent"] == "v100m32"
    bad = await client.post(f"{API}/admin/prices/aliases", json={"gpu_type": {"x": ""}}, headers=admin_headers)
    assert [e["loc"] for e in assert_problem(bad, 422)["errors"]] == [["body", "gpu_type", "x"]]


async def test_an_alias_renames_and_reprices_the_jobs_already_stored(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await ingest_ok(client, admin_headers, [onprem_job("old-name-1")])
    rate = {**V100_2019, "gpu_type": "V100", "usd_per_gpu_hour": "1.50"}
    assert (await client.post(f"{API}/admin/prices", json={"rates": [rate]}, headers=admin_headers)).status_code == 201
    stored = (await client.get(f"{API}/jobs/old-name-1", headers=admin_headers)).json()
    assert (stored["gpu_type"], stored["cost_source"]) == ("V100M16", "unpriced")

    response = await client.post(f"{API}/admin/prices/aliases", json={"gpu_type": {"V100M16": "V100"}},
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    # 20 GPU-hours × $1.50.
    assert (response.json()["recost"]["jobs_recosted"], response.json()["recost"]["cost_after"]) == (1, "30.000000")
    stored = (await client.get(f"{API}/jobs/old-name-1", headers=admin_headers)).json()
    assert (stored["gpu_type"], stored["cost"], stored["labels"]["gpu_type_sent"]) == ("V100", "30.000000", "V100M16")
    by_type = await client.get(f"{API}/jobs", params={"gpu_type": "V100", "limit": 100}, headers=admin_headers)
    assert "old-name-1" in {j["job_id"] for j in by_type.json()["jobs"]}
    # Filters read names through the admin's aliases too.
    for params in ({"gpu_type": "v100m16"}, {"gpu_type": "V100M16"}):
        listed = await client.get(f"{API}/jobs", params={**params, "limit": 100}, headers=admin_headers)
        assert "old-name-1" in {j["job_id"] for j in listed.json()["jobs"]}, params
    cost = await client.get(f"{API}/analytics/cost", params={"gpu_type": "v100m16", "start": "2019-06-01",
                                                              "end": "2019-06-01"}, headers=admin_headers)
    assert cost.status_code == 200, cost.text
    assert cost.json()["totals"]["cost"] == "30.000000"


async def test_a_rate_change_inside_a_run_splits_that_day_and_rollups_follow(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 2 GPUs from 2019-06-01 08:00 to 06-02 02:00; a new rate from 06-01 12:00 cuts the first day.
    await ingest_ok(client, admin_headers, [onprem_job("split-1", ended_at="2019-06-02T02:00:00Z")])
    assert (await client.post(f"{API}/admin/prices", json={"rates": [V100_2019]},
                              headers=admin_headers)).status_code == 201
    later = {**V100_2019, "usd_per_gpu_hour": "3.00", "valid_from": "2019-06-01T12:00:00Z"}
    response = await client.post(f"{API}/admin/prices", json={"rates": [later]}, headers=admin_headers)
    assert response.status_code == 201, response.text
    # June 1: 08–12 at 2.10 and 12–24 at 3.00, 2 GPUs: 16.80 + 72.00; June 2: 00–02 at 3.00: 12.00.
    body = (await client.get(f"{API}/jobs/split-1", params={"include": "snapshots"}, headers=admin_headers)).json()
    assert body["cost"] == "100.800000"
    assert [(s["day"], s["cost"]) for s in body["snapshots"]] == [("2019-06-01", "88.800000"),
                                                                  ("2019-06-02", "12.000000")]
    for day, expected in (("2019-06-01", "88.800000"), ("2019-06-02", "12.000000")):
        cost = await client.get(f"{API}/analytics/cost", params={"start": day, "end": day}, headers=admin_headers)
        assert cost.json()["totals"]["cost"] == expected, day
