"""Bad input on the rate card's admin routes, found by trying them as an attacker would: each refusal names the
field (422) and changes nothing."""

from __future__ import annotations

import httpx

from tests.api.problems import assert_problem

API = "/api/v1"
RATE = {"provider": "onprem", "gpu_type": "V100", "usd_per_gpu_hour": "2.10", "valid_from": "2019-01-01T00:00:00Z"}


async def _custom_rates(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, object]]:
    card = (await client.get(f"{API}/prices", params={"include": "history"}, headers=headers)).json()
    return [p for p in card["prices"] if p["origin"] == "custom"]


async def test_a_negative_amount_is_refused_as_not_more_than_0_not_as_a_refund(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for amount in ("-2.10", "0"):
        response = await client.post(f"{API}/admin/prices", json={"rates": [{**RATE, "usd_per_gpu_hour": amount}]},
                                     headers=admin_headers)
        errors = assert_problem(response, 422)["errors"]
        assert [(e["loc"], e["msg"]) for e in errors] == [
            (["body", "rates", 0, "usd_per_gpu_hour"], "must be more than 0")], amount
    assert await _custom_rates(client, admin_headers) == []


async def test_a_validity_that_ends_before_it_starts_is_named_at_valid_to(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for valid_to in ("2018-01-01T00:00:00Z", RATE["valid_from"]):
        response = await client.post(f"{API}/admin/prices", json={"rates": [RATE, {**RATE, "valid_to": valid_to}]},
                                     headers=admin_headers)
        errors = assert_problem(response, 422)["errors"]
        assert [(e["loc"], e["msg"]) for e in errors] == [
            (["body", "rates", 1, "valid_to"], "must be after valid_from")], valid_to
    assert await _custom_rates(client, admin_headers) == []


async def _aliases(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, str]]:
    return (await client.get(f"{API}/prices", headers=headers)).json()["aliases"]


async def test_aliases_in_a_cycle_or_a_chain_are_refused_naming_the_spelling(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    before = await _aliases(client, admin_headers)
    url = f"{API}/admin/prices/aliases"
    # A cycle in one request: XA would read as XB and XB as XA.
    cycle = await client.post(url, json={"gpu_type": {"XA": "XB", "XB": "XA"}}, headers=admin_headers)
    assert {tuple(e["loc"]) for e in assert_problem(cycle, 422)["errors"]} == {("body", "gpu_type", "XA"),
                                                                                 ("body", "gpu_type", "XB")}
    # A chain in one request: XC → XD, while XD → V100.
    chain = await client.post(url, json={"provider": {"dc-a": "dc-b", "DC-B": "onprem"}}, headers=admin_headers)
    errors = assert_problem(chain, 422)["errors"]
    assert ["body", "provider", "dc-a"] in [e["loc"] for e in errors]
    assert "'onprem'" in next(e["msg"] for e in errors if e["loc"] == ["body", "provider", "dc-a"])
    # A chain with an alias in force: the catalog reads `Tesla V100` as V100; making `v100` a spelling of
    # another name would leave `Tesla V100` jobs under a name nothing reads as.
    assert before["gpu_type"].get("tesla v100") == "V100"
    renamed = await client.post(url, json={"gpu_type": {"v100": "V100-32GB"}}, headers=admin_headers)
    [error] = assert_problem(renamed, 422)["errors"]
    assert error["loc"] == ["body", "gpu_type", "v100"] and "'nvidia tesla v100'" in error["msg"], error
    # A control character in a spelling, like in names.
    bell = await client.post(url, json={"gpu_type": {"a\u0007": "V100"}}, headers=admin_headers)
    assert [e["loc"] for e in assert_problem(bell, 422)["errors"]] == [["body", "gpu_type", "a\u0007"]]
    # One spelling twice (spellings match trimmed and case-folded) with two names: neither silently wins.
    twice = await client.post(url, json={"gpu_type": {"DUPX": "V100", " dupx ": "T4"}}, headers=admin_headers)
    assert [e["loc"] for e in assert_problem(twice, 422)["errors"]] == [["body", "gpu_type", " dupx "]]
    assert await _aliases(client, admin_headers) == before
    # Still allowed: a spelling of itself (nothing to do), and pointing at a spelling, read as its name.
    fine = await client.post(url, json={"gpu_type": {"V100": "V100", "XE": "tesla v100"}}, headers=admin_headers)
    assert fine.status_code == 200, fine.text
    assert fine.json()["changed"] == {"gpu_type": {"xe": {"before": "XE", "after": "V100"}}}


async def test_the_card_at_an_instant_with_an_offset_is_answered_in_utc(
        client: httpx.AsyncClient, member_headers: dict[str, str]) -> None:
    response = await client.get(f"{API}/prices", params={"at": "2020-01-01T09:00:00+14:00"}, headers=member_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["at"] == "2019-12-31T19:00:00Z"
    # The catalog starts on 2020-01-01T00:00:00Z: five hours later than that instant.
    assert body["prices"] == []
    later = (await client.get(f"{API}/prices", params={"at": "2020-01-01T05:00:00+05:00"},
                              headers=member_headers)).json()
    assert later["at"] == "2020-01-01T00:00:00Z" and later["prices"]


async def test_the_change_log_refuses_a_skip_past_any_database_integer(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for skip in ("99999999999999999999", "9223372036854775808", "1000000001"):
        response = await client.get(f"{API}/admin/prices/changes", params={"skip": skip}, headers=admin_headers)
        assert [e["loc"] for e in assert_problem(response, 422)["errors"]] == [["query", "skip"]], skip
    far = await client.get(f"{API}/admin/prices/changes", params={"skip": "1000000000"}, headers=admin_headers)
    assert far.status_code == 200 and far.json()["changes"] == [], far.text
