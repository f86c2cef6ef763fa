"""What a rate card change can touch: the contract between the pricing domain (which makes changes) and
recosting (which reprices the jobs a change names).

A change of rates or aliases yields one `RecostScope` per thing it changed. A scope names jobs by what is stored
on them (canonical provider and GPU type after the aliases in force when they were ingested) and by their run:
- `provider`: that provider only, or None for any provider (a `*` rate, or a GPU type alias);
- `gpu_type`: that GPU type and every MIG slice of it (`A100-80GB` also names `A100-80GB-MIG-3G.40GB`, whose
  price derives from its parent's), or None for any GPU type (a provider alias);
- `start`/`end`: the changed validity `[start, end)` that the job's run must overlap; None is unbounded.
Billed jobs are never touched, whatever the scope says: the recost query leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MIG_MARK = "-MIG-"
# Compute slices of a whole MIG-capable GPU (A100, H100, H200: 7); a `<g>g.<mem>gb` slice has g of them.
MIG_SLICES_PER_GPU = 7
_PROFILE = re.compile(r"([1-7])G\.\d+GB(?:\+ME)?")


def mig_parent(gpu_type: str) -> str | None:
    """The parent GPU of a canonical MIG slice type (`A100-80GB-MIG-3G.40GB` → `A100-80GB`); None otherwise."""
    parent, mark, profile = gpu_type.partition(MIG_MARK)
    return parent if mark and parent and profile else None


def mig_compute_slices(gpu_type: str) -> int | None:
    """g of a canonical MIG slice type (`A100-80GB-MIG-3G.40GB` → 3); None when `gpu_type` is not one. A slice
    without a rate of its own costs g / MIG_SLICES_PER_GPU of its parent's rate."""
    parent, mark, profile = gpu_type.partition(MIG_MARK)
    match = _PROFILE.fullmatch(profile) if mark and parent else None
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class RecostScope:
    """Jobs a change may reprice: see the module docstring. All instants are aware UTC datetimes."""

    provider: str | None
    gpu_type: str | None
    start: datetime | None = None
    end: datetime | None = None

    def matches(self, provider: str | None, gpu_type: str | None, run_start: datetime | None,
                run_end: datetime | None) -> bool:
        """Whether a job stored with `provider`/`gpu_type` and run `[run_start, run_end)` falls in this scope.
        A job that never ran (`run_start` None) matches on names alone, since its costing (0 when priced, else
        unpriced) depends on whether a rate exists at all. The SQL selection of `app.recost` says the same."""
        if provider is None or gpu_type is None:
            return False
        if self.provider is not None and provider != self.provider:
            return False
        if self.gpu_type is not None and self.gpu_type not in (gpu_type, mig_parent(gpu_type)):
            return False
        if run_start is None:
            return True
        if self.end is not None and run_start >= self.end:
            return False
        # A zero-length run is the instant `run_start`: in scope when that instant is.
        return self.start is None or run_start >= self.start or (run_end or run_start) > self.start
