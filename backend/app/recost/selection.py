"""Which stored jobs a recost reads: the SQL form of `RecostScope.matches`, and a job row read back as the
normalised record ingest would have written it.

A chunk's jobs are selected once, inside the chunk's own transaction and after the job writers' lock, in
`job_id` order from a keyset cursor: what the chunk costs is what is stored when it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, false, func, or_, select, true, type_coerce

from app.db.models import CostSource, Job, JobStatus, Team
from app.ingestion.normalize import NormalizedJob
from app.pricing.scopes import MIG_MARK, RecostScope

_JOBS = Job.__table__


def _gpu_type_matches(gpu_type: str) -> ColumnElement[bool]:
    """The job's GPU type is `gpu_type`, or a MIG slice of it (`mig_parent` of the job's type is `gpu_type`)."""
    same = _JOBS.c.gpu_type == gpu_type
    if MIG_MARK in gpu_type:  # a slice type is the parent of nothing
        return same
    prefix = gpu_type + MIG_MARK
    # A prefix compared as a substring (not LIKE), so `_` and `%` in a name mean themselves; a profile must follow.
    slice_of = and_(func.substr(_JOBS.c.gpu_type, 1, len(prefix)) == prefix,
                    func.length(_JOBS.c.gpu_type) > len(prefix))
    return or_(same, slice_of)


def scope_condition(scope: RecostScope) -> ColumnElement[bool]:
    """SQL for `scope.matches(job.provider, job.gpu_type, job.started_at, job.ended_at or job.observed_at)`."""
    terms: list[ColumnElement[bool]] = [_JOBS.c.provider.is_not(None), _JOBS.c.gpu_type.is_not(None)]
    if scope.provider is not None:
        terms.append(_JOBS.c.provider == scope.provider)
    if scope.gpu_type is not None:
        terms.append(_gpu_type_matches(scope.gpu_type))
    start = _JOBS.c.started_at
    run_end = func.coalesce(_JOBS.c.ended_at, _JOBS.c.observed_at, start)
    run: list[ColumnElement[bool]] = []
    if scope.end is not None:
        run.append(start < scope.end)
    if scope.start is not None:
        run.append(or_(start >= scope.start, run_end > scope.start))
    if run:
        terms.append(or_(start.is_(None), and_(*run)))
    return and_(*terms)


def in_scope(scopes: Sequence[RecostScope]) -> ColumnElement[bool]:
    """Non-billed jobs that any of `scopes` matches (billed jobs never change, whatever the scope says)."""
    if not scopes:
        return false()
    return and_(_JOBS.c.cost_source != CostSource.billed, or_(*(scope_condition(s) for s in scopes)))


def energy_condition(*, provider: str | None = None, gpu_type: str | None = None, region: str | None = None,
                     missing_only: bool = False) -> ColumnElement[bool]:
    """The jobs whose energy figures a coefficient change can touch, billed ones included (their energy is
    estimated like any other's): a provider's (its PUE), a GPU type's and its MIG slices' (its watts), a
    (provider, region)'s (its intensity); None names any. `missing_only`: only jobs whose figures were never
    computed (stored before migration 0013)."""
    terms: list[ColumnElement[bool]] = []
    if provider is not None:
        terms.append(_JOBS.c.provider == provider)
    if gpu_type is not None:
        terms.append(_gpu_type_matches(gpu_type))
    if region is not None:
        terms.append(_JOBS.c.region == region)
    if missing_only:
        terms.append(_JOBS.c.energy_source.is_(None))
    return and_(true(), *terms)


def count_in_scope(scopes: Sequence[RecostScope]) -> Select[Any]:
    """`SELECT count(*)` of the jobs a recost of `scopes` reads."""
    return count_where(in_scope(scopes))


def count_where(condition: ColumnElement[bool]) -> Select[Any]:
    """`SELECT count(*)` of the jobs `condition` selects (`in_scope(scopes)` for a recost)."""
    return select(func.count()).select_from(_JOBS).where(condition)


def chunk_rows(condition: ColumnElement[bool], after: str | None, limit: int) -> Select[Any]:
    """The next `limit` jobs `condition` selects after `job_id` `after` (None: from the first), in `job_id` order,
    with what re-costing them needs: the whole record, its team's name, and its stored cost, GPU time, energy and
    content hash."""
    cursor = true() if after is None else _JOBS.c.job_id > after
    return (select(_JOBS.c.id, _JOBS.c.job_id, _JOBS.c.team_id, Team.name.label("team_name"), _JOBS.c.status,
                   _JOBS.c.model_name, _JOBS.c.gpu_type, _JOBS.c.gpu_milli, _JOBS.c.provider, _JOBS.c.user_name,
                   _JOBS.c.submitted_at, _JOBS.c.started_at, _JOBS.c.ended_at, _JOBS.c.observed_at,
                   _JOBS.c.labels, _JOBS.c.energy_mwh, _JOBS.c.gpu_util_bp, _JOBS.c.region,
                   type_coerce(_JOBS.c.cost_micros, BigInteger).label("cost_micros"),
                   _JOBS.c.gpu_us, _JOBS.c.content_hash, _JOBS.c.billed_cost_micros.label("billed_cost"),
                   _JOBS.c.energy_used_mwh, _JOBS.c.co2e_mg)
            .join(Team, Team.id == _JOBS.c.team_id)
            .where(condition, cursor)
            .order_by(_JOBS.c.job_id).limit(limit))


def normalized_job(row: Any) -> NormalizedJob:
    """A row of `chunk_rows` as the normalised record that ingest wrote it from (a billed job only in an energy
    recompute: a recost never reads one). The team is its stored first spelling, whose name key is the team's."""
    return NormalizedJob(
        job_id=row.job_id, team=row.team_name, status=JobStatus(row.status), model_name=row.model_name,
        gpu_type=row.gpu_type, gpu_milli=row.gpu_milli, provider=row.provider, user_name=row.user_name,
        submitted_at=row.submitted_at, started_at=row.started_at, ended_at=row.ended_at,
        observed_at=row.observed_at, labels=row.labels, energy_mwh=row.energy_mwh, gpu_util_bp=row.gpu_util_bp,
        region=row.region, billed_cost=row.billed_cost)  # USD: `billed_cost_micros` is a `Micros` column
