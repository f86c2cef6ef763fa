"""Issue 17, item 2: the versioned content hash, without a database. The current form (`b2:` + BLAKE2b of the
`repr` of a tuple) changes with every fact it covers, field by field; its document is unambiguous (read back to
the same tuple, types included, so two different jobs cannot share one); the legacy SHA-256 is still computed
exactly as before (digests pinned from the code of main at 7c675a4, before the change)."""

from __future__ import annotations

import ast
import dataclasses
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.db.models import CostSource, JobStatus
from app.energy.coefficients import Coefficients, default_coefficients
from app.ingestion.content_hash import (
    content_hash,
    hash_document,
    is_legacy,
    legacy_content_hash,
    matches,
)
from app.ingestion.costing import PricePoint, to_epoch_ms
from app.ingestion.normalize import NormalizedJob
from app.ingestion.writer import StagedJob, stage_job
from tests.ingestion.test_energy_record import NO_RATES, accepted
from tests.ingestion.test_normalize import DROP

CURRENT = re.compile(r"b2:[0-9a-f]{60}")


def _hash(p: StagedJob) -> str:
    return content_hash(p.job, p.costing, p.energy)


class _OnePrice:
    """A rate card with one price for every (provider, GPU type): `micros` micro-USD per GPU-hour since 2020."""

    def __init__(self, micros: int) -> None:
        self.points = (PricePoint(to_epoch_ms(datetime.fromisoformat("2020-01-01T00:00:00+00:00")), micros),)

    def points_for(self, provider: str | None, gpu_type: str | None) -> tuple[PricePoint, ...]:
        return self.points


# --- the legacy form, exactly as it was written ---

@pytest.mark.parametrize(("fields", "digest"), [
    ({}, "21da16f9fb8295c082f5c1187b1b3ffbd6ca63a3d6c8b9e49a56c8f135d00e06"),
    ({"energy_kwh": "31.25", "gpu_utilization": "0.82", "region": "us-east-1", "labels": {"b": "2", "a": "ü"}},
     "c8770549698fc3378e177ae0672d2d91099654f627cd614c709b4f083cb5f7e8"),
    ({"status": "RUNNING", "ended_at": DROP, "cost": DROP},
     "bbfc6f23d429197796a53eebc0bc60171a6adf85d136aa6dfc43357fe89cb2db"),
])
def test_the_legacy_hash_is_the_one_stored_before(fields: dict[str, Any], digest: str) -> None:
    p = stage_job(accepted(**fields), NO_RATES)
    assert legacy_content_hash(p.job, p.costing, p.energy) == digest
    assert is_legacy(digest) and matches(p, digest)
    assert p.content_hash != digest and not is_legacy(p.content_hash)


def test_the_current_form_is_prefixed_and_fits_the_column() -> None:
    p = stage_job(accepted(), NO_RATES)
    assert CURRENT.fullmatch(p.content_hash) and len(p.content_hash) == 63
    assert p.content_hash == _hash(p) == _hash(stage_job(accepted(), NO_RATES))  # deterministic
    assert matches(p, p.content_hash)
    assert not matches(p, "") and not matches(p, "0" * 64) and not matches(p, p.content_hash[:-1] + "x")


# --- every fact changes the hash ---

def _other(value: Any) -> Any:
    """A value of the same kind as `value`, different from it."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, JobStatus | CostSource):
        return next(member for member in type(value) if member != value)
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, datetime):
        return value + timedelta(milliseconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, dict):
        return {**value, "extra": "1"}
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return (*value, "extra")
    raise AssertionError(f"no other value for {value!r}")


def _full() -> StagedJob:
    """A staged job with every optional fact set: priced, measured energy, utilisation, region, labels, two days."""
    job = accepted(started_at="2026-01-13T22:00:00Z", ended_at="2026-01-14T02:00:00Z", cost=DROP, user="ada",
                   submitted_at="2026-01-13T21:00:00Z", energy_kwh="3.5", gpu_utilization="0.5", region="us-east-1",
                   labels={"project": "sft"})
    p = stage_job(job, _OnePrice(2_000_000), default_coefficients())
    assert len(p.costing.days) == 2 and p.costing.cost_micros is not None and p.energy.idle_gpu_us is not None
    return p


# The record's fields, except the billed cost: it is hashed through the costing (its cost and source "billed").
JOB_FIELDS = [f.name for f in dataclasses.fields(NormalizedJob) if f.name != "billed_cost"]
COSTING_FIELDS = ["cost_micros", "source", "gpu_us"]
DAY_FIELDS = ["day", "run_ms", "gpu_us", "cost_micros"]
ENERGY_FIELDS = ["energy_mwh", "co2e_mg", "source", "idle_gpu_us", "idle_cost_micros", "defaults"]
ENERGY_DAY_FIELDS = ["energy_mwh", "energy_measured_mwh", "co2e_mg", "co2e_measured_mg", "idle_gpu_us",
                     "idle_cost_micros"]


@pytest.mark.parametrize("name", JOB_FIELDS)
def test_each_field_of_the_record_changes_the_hash(name: str) -> None:
    p = _full()
    if name == "team":
        changed = dataclasses.replace(p.job, team="other-team")
    elif name == "observed_at":
        changed = dataclasses.replace(p.job, observed_at=datetime.fromisoformat("2026-01-14T03:00:00+00:00"))
    else:
        changed = dataclasses.replace(p.job, **{name: _other(getattr(p.job, name))})
    assert content_hash(changed, p.costing, p.energy) != p.content_hash


@pytest.mark.parametrize("name", COSTING_FIELDS)
def test_each_costing_figure_changes_the_hash(name: str) -> None:
    p = _full()
    value = "unpriced" if name == "source" else getattr(p.costing, name) + 1
    costing = dataclasses.replace(p.costing, **{name: CostSource(value) if name == "source" else value})
    assert content_hash(p.job, costing, p.energy) != p.content_hash


@pytest.mark.parametrize("day", [0, 1])
@pytest.mark.parametrize("name", DAY_FIELDS)
def test_each_day_figure_changes_the_hash(name: str, day: int) -> None:
    p = _full()
    days = list(p.costing.days)
    days[day] = dataclasses.replace(days[day], **{name: _other(getattr(days[day], name))})
    costing = dataclasses.replace(p.costing, days=tuple(days))
    assert content_hash(p.job, costing, p.energy) != p.content_hash


@pytest.mark.parametrize("name", ENERGY_FIELDS)
def test_each_energy_figure_changes_the_hash(name: str) -> None:
    p = _full()
    value = "measured" if name == "source" and p.energy.source != "measured" else _other(getattr(p.energy, name))
    if name == "source" and p.energy.source == "measured":
        value = "estimated"
    energy = dataclasses.replace(p.energy, **{name: value})
    assert content_hash(p.job, p.costing, energy) != p.content_hash


@pytest.mark.parametrize("day", [0, 1])
@pytest.mark.parametrize("name", ENERGY_DAY_FIELDS)
def test_each_energy_day_figure_changes_the_hash(name: str, day: int) -> None:
    p = _full()
    days = list(p.energy.days)
    days[day] = dataclasses.replace(days[day], **{name: getattr(days[day], name) + 1})
    energy = dataclasses.replace(p.energy, days=tuple(days))
    assert content_hash(p.job, p.costing, energy) != p.content_hash


def _coefficient_variants() -> list[Coefficients]:
    """The shipped coefficients, then each with one coefficient the job below uses moved (by a step it shows)."""
    c = default_coefficients()
    gpu = c.gpus["H100"]
    return [c,
            dataclasses.replace(c, gpus={**c.gpus, "H100": dataclasses.replace(gpu, full_mw=gpu.full_mw + 1_000)}),
            dataclasses.replace(c, gpus={**c.gpus, "H100": dataclasses.replace(gpu, idle_mw=gpu.idle_mw + 3_000)}),
            dataclasses.replace(c, default_pue=dataclasses.replace(c.default_pue,
                                                                   pue_milli=c.default_pue.pue_milli + 10)),
            dataclasses.replace(c, default_grid=dataclasses.replace(c.default_grid,
                                                                    mg_per_kwh=c.default_grid.mg_per_kwh + 1_000))]


def test_a_price_a_coefficient_or_a_billed_cost_changes_the_hash() -> None:
    # Estimated energy (none measured) on the test provider, in a region without its own grid figure: the job uses
    # the H100's watts, the default PUE and the default grid intensity.
    job = dataclasses.replace(_full().job, energy_mwh=None)
    price = _OnePrice(2_000_000)
    hashes = [stage_job(job, price, c).content_hash for c in _coefficient_variants()]
    hashes += [stage_job(job, _OnePrice(2_000_001), default_coefficients()).content_hash,
               stage_job(dataclasses.replace(job, billed_cost=Decimal("64.00")), price).content_hash,
               stage_job(dataclasses.replace(job, billed_cost=Decimal("64.000001")), price).content_hash]
    assert len(set(hashes)) == len(hashes) == 8


# --- the document is unambiguous ---

def _leaves(value: Any) -> list[Any]:
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


TRICKY = [
    {"user_name": None}, {"user_name": "None"}, {"user_name": ""}, {"model_name": "8000"}, {"model_name": "'"},
    {"model_name": "a', 'b"}, {"model_name": "a\\"}, {"model_name": "\ud800"}, {"model_name": "é"},
    {"model_name": "e\u0301"}, {"labels": {"a": "b"}}, {"labels": {"a": "b", "c": "d"}},
    {"labels": {"a": "b', 'c"}}, {"labels": {"a', 'b": "c"}}, {"labels": {"1": "2"}}, {"region": "1"},
    {"provider": None, "gpu_type": "aws"}, {"provider": "aws", "gpu_type": None}, {"job_id": "(1,)"},
]


def test_the_document_reads_back_to_itself_so_no_two_jobs_share_it() -> None:
    p = _full()
    documents = set()
    encodings = set()
    for fields in TRICKY:
        job = dataclasses.replace(p.job, **fields)
        document = hash_document(job, p.costing, p.energy)
        leaves = _leaves(document)
        assert all(v is None or type(v) in (str, int) for v in leaves), [type(v) for v in leaves]
        encoded = repr(document)
        # literal_eval is the inverse of this encoding: equal values of the same types, so it is injective.
        back = ast.literal_eval(encoded)
        assert back == document and [type(v) for v in _leaves(back)] == [type(v) for v in leaves]
        documents.add(document)
        encodings.add(encoded)
    assert len(documents) == len(encodings) == len(TRICKY)
    assert len({content_hash(dataclasses.replace(p.job, **f), p.costing, p.energy) for f in TRICKY}) == len(TRICKY)
