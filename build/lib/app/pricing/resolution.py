"""Which rate is in force: the rate card's resolution rules, pure (no database), in integer epoch milliseconds.

At an instant, for a job's (provider, GPU type), the first of these that has a rate in force wins:
1. a `custom` rate for (provider, GPU type);
2. a `catalog` rate for (provider, GPU type);
3. a `custom` rate for (`*`, GPU type);
4. a `catalog` rate for (`*`, GPU type);
5. for a MIG slice type (`A100-80GB-MIG-3G.40GB`) with none of the above: g/7 of its parent's rate resolved by
   1–4 for the same provider (g = the profile's compute slices). Parents of the 4-slice families
   (`app.pricing.mig.FOUR_SLICE_FAMILIES`: A30, RTX PRO) give g/4, and a profile with more than 4 slices on
   them gets nothing. The fraction is carried exactly in `PricePoint.divisor`, so one 3g slice for 7 h at
   parent rate r costs exactly 3 × r: the job's total is rounded once, never the rate.

A rate is in force over `[valid_from, valid_to)`; an open rate (`valid_to` None) ends at the next rate of the same
(provider, GPU type, origin), if any (successive catalog prices). Retired rates are not given to resolution. An
instant no rate covers is unpriced, and a job whose run is only partly covered is unpriced as a whole
(`app.ingestion.costing.cost_job`): the issue prices a job by the card in force, and half a price is not one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.ingestion.costing import PricePoint, price_at
from app.pricing.mig import compute_slices_per_gpu
from app.pricing.scopes import mig_compute_slices, mig_parent

ANY_PROVIDER = "*"

Points = tuple[PricePoint, ...]


@dataclass(frozen=True, slots=True)
class RateSpan:
    """One rate as resolution reads it: integer micro-USD per GPU-hour over `[valid_from_ms, valid_to_ms)`
    (`valid_to_ms` None: open), `custom` True for an admin's rate, False for the catalog's."""

    provider: str
    gpu_type: str
    micros_per_gpu_hour: int
    valid_from_ms: int
    valid_to_ms: int | None
    custom: bool


def layer_points(spans: Iterable[RateSpan]) -> Points:
    """The price points of one layer (rates of one provider, GPU type and origin): each rate from its start,
    and a `None` point where it ends with no rate following at once. An open rate ends at the next one's start."""
    ordered = sorted(spans, key=lambda s: s.valid_from_ms)
    points: list[PricePoint] = []
    for i, span in enumerate(ordered):
        following = ordered[i + 1].valid_from_ms if i + 1 < len(ordered) else None
        end = span.valid_to_ms
        if following is not None and (end is None or following < end):
            end = following
        if end is not None and end <= span.valid_from_ms:
            continue  # ends before it starts once the next one begins: never in force
        points.append(PricePoint(span.valid_from_ms, span.micros_per_gpu_hour))
        if end is not None and end != following:
            points.append(PricePoint(end, None))
    return tuple(points)


def overlay(primary: Sequence[PricePoint], fallback: Sequence[PricePoint], *, share: tuple[int, int] = (1, 1)
            ) -> Points:
    """Points of `primary` where it has a rate, else `fallback`'s × `share` (numerator, denominator), as one list
    with equal neighbours merged and no leading gap. Exact: the share multiplies the point's fraction."""
    numerator, denominator = share
    out: list[PricePoint] = []
    for instant in sorted({p.valid_from_ms for p in primary} | {p.valid_from_ms for p in fallback}):
        point = price_at(primary, instant)
        value: tuple[int | None, int] = (None, 1)
        if point is not None and point.micros_per_gpu_hour is not None:
            value = (point.micros_per_gpu_hour, point.divisor)
        else:
            point = price_at(fallback, instant)
            if point is not None and point.micros_per_gpu_hour is not None:
                micros, divisor = point.micros_per_gpu_hour * numerator, point.divisor * denominator
                common = math.gcd(micros, divisor)
                value = (micros // common, divisor // common)
        if (out and (out[-1].micros_per_gpu_hour, out[-1].divisor) == value) or (not out and value[0] is None):
            continue
        out.append(PricePoint(instant, *value))
    return tuple(out)


class Resolution:
    """All rates in force (retired ones left out), answering `points_for(provider, gpu_type)` by the rules of the
    module docstring. Answers are cached per pair: build one per rate card."""

    def __init__(self, spans: Iterable[RateSpan]) -> None:
        grouped: dict[tuple[str, str, bool], list[RateSpan]] = defaultdict(list)
        for span in spans:
            grouped[(span.provider, span.gpu_type, span.custom)].append(span)
        self._layers = {key: layer_points(group) for key, group in grouped.items()}
        self._cache: dict[tuple[str, str], Points] = {}

    def __bool__(self) -> bool:
        return bool(self._layers)

    def points_for(self, provider: str, gpu_type: str) -> Points:
        """The resolved price points of `(provider, gpu_type)` in time order; `()` when no rate ever applies."""
        key = (provider, gpu_type)
        if key not in self._cache:
            points = self._own(provider, gpu_type)
            parent, slices = mig_parent(gpu_type), mig_compute_slices(gpu_type)
            if parent is not None and slices is not None:
                per_gpu = compute_slices_per_gpu(parent)
                if slices <= per_gpu:
                    points = overlay(points, self._own(provider, parent), share=(slices, per_gpu))
            self._cache[key] = points
        return self._cache[key]

    def _own(self, provider: str, gpu_type: str) -> Points:
        layers = [self._layers.get((provider, gpu_type, True), ()), self._layers.get((provider, gpu_type, False), ()),
                  self._layers.get((ANY_PROVIDER, gpu_type, True), ()),
                  self._layers.get((ANY_PROVIDER, gpu_type, False), ())]
        points: Points = ()
        for layer in reversed(layers):
            points = overlay(layer, points)
        return points
