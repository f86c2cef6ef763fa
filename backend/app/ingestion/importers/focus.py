"""`--format focus`: FinOps FOCUS 1.x cost-and-usage rows (CSV, with a header) as billed jobs.

One usage row — one charge for a resource's SKU over a charge period — becomes one job: its billed cost is the
row's `BilledCost`, its run is the charge period (`ChargePeriodStart` to `ChargePeriodEnd`), its status
`succeeded` (the period has ended). Rows that are not usage (credits, adjustments, purchases, taxes, corrections
of past periods) and rows with a negative `BilledCost` are not jobs: they are skipped with their reason, and their
amounts summed in the tally so the bill still reconciles. GPU instances are recognised by their instance type
(`g5.4xlarge` → 1 × A10G) from a small table, `GPU_INSTANCE_TYPES` in `focus_instances.py`.
docs/importers/focus.md gives the mapping column by column.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Context, Decimal, InvalidOperation
from typing import Any, ClassVar, TextIO

from app.core.money import six_places
from app.ingestion.field_rules import MAX_COST_USD, MAX_LABELS
from app.ingestion.importers.base import (
    ImporterConfigError,
    ImportOptions,
    MappedRow,
    Tally,
    csv_records,
    refuse_unused_options,
    rfc3339,
)
from app.ingestion.importers.focus_instances import GPU_INSTANCE_TYPES, gpu_instance

REQUIRED_COLUMNS = ("BilledCost", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd")
DEFAULT_TEAM_COLUMN = "SubAccountName"
# A charge's identity when the file has no `Id`: sha256 over these columns (missing ones count as empty).
IDENTITY_COLUMNS = ("ProviderName", "BillingAccountId", "SubAccountId", "ResourceId", "SkuId", "SkuPriceId",
                    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd",
                    "CommitmentDiscountId", "PricingCategory")
# Columns kept as labels (under their own names) when the row has a value.
LABEL_COLUMNS = ("ChargeCategory", "ChargeDescription", "ChargeFrequency", "ServiceName", "ServiceCategory",
                 "ResourceId", "ResourceName", "ResourceType", "RegionId", "AvailabilityZone", "SkuId",
                 "SkuPriceId", "PricingCategory", "BillingAccountId", "SubAccountId", "SubAccountName",
                 "CommitmentDiscountId", "ConsumedQuantity", "ConsumedUnit", "EffectiveCost", "ListCost")
TAG_LABEL_PREFIX = "tag:"
MAX_LABEL_VALUE = 1024
# Literal NULL (AWS, Oracle exports) and blank cells are missing values.
_MISSING = frozenset({"", "NULL"})
_SKIPPED_CATEGORIES = {"credit": "credit row", "adjustment": "adjustment row", "purchase": "purchase row",
                       "tax": "tax row"}
# Enough digits for sums of amounts under 10^12 with up to 80 decimal places to stay exact.
_EXACT = Context(prec=100)
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a value is read from: a column of the file, or a key of the row's Tags JSON object."""

    name: str
    is_tag: bool

    def describe(self) -> str:
        return f"Tags key {self.name!r}" if self.is_tag else f"column {self.name}"


@dataclass(frozen=True, slots=True)
class _Skip:
    """Why a row is not a job, and the billed amount left out with it (USD, when known)."""

    reason: str
    detail: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row: cells by column name (NULL and blank cells are None) and its Tags (keys trimmed)."""

    cells: dict[str, str | None]
    tags: dict[str, str]

    def get(self, column: str) -> str | None:
        return self.cells.get(column)

    def lookup(self, source: _Source) -> str | None:
        value = self.tags.get(source.name) if source.is_tag else self.get(source.name)
        if value is None:
            return None
        return value.strip() or None


@dataclass(slots=True)
class _Summary:
    """What the notes at the end of an import report: rounding, Tags quirks, GPU rows, label cuts."""

    exact_cost: Decimal = Decimal(0)
    rounded_cost: Decimal = Decimal(0)
    duplicate_tag_rows: int = 0
    bad_tag_rows: int = 0
    dropped_tag_rows: int = 0
    cut_label_rows: int = 0
    gpu_rows: Counter[str] = field(default_factory=Counter)

    def notes(self, tally: Tally) -> None:
        exact = f"{_EXACT.normalize(self.exact_cost):f}"
        tally.note(f"BilledCost rounded half-even to the micro-USD: the mapped rows bill {exact} USD exactly, "
                   f"{six_places(self.rounded_cost)} USD as imported")
        if self.gpu_rows:
            kinds = ", ".join(f"{name} × {count}" for name, count in sorted(self.gpu_rows.items()))
            tally.note(f"{sum(self.gpu_rows.values())} rows on GPU instances ({kinds}); other rows have 0 GPUs")
        if self.duplicate_tag_rows:
            tally.note(f"{self.duplicate_tag_rows} rows have Tags keys that are equal once trimmed "
                       "(e.g. 'org' and ' org'): the first was kept")
        if self.bad_tag_rows:
            tally.note(f"{self.bad_tag_rows} rows have a Tags cell that is not a JSON object: read as no tags")
        if self.dropped_tag_rows:
            tally.note(f"{self.dropped_tag_rows} rows have more tags than fit in {MAX_LABELS} labels: the rest "
                       "were left out of the labels")
        if self.cut_label_rows:
            tally.note(f"{self.cut_label_rows} rows have label values over {MAX_LABEL_VALUE} characters: cut")


class FocusImporter:
    """FOCUS 1.x cost-and-usage CSV → one billed job per usage row (see the module docstring)."""

    format: ClassVar[str] = "focus"

    def __init__(self, options: ImportOptions) -> None:
        refuse_unused_options(options, "focus", "mapping", "epoch", "fields", "gpu_type")
        self.options = options

    def read(self, stream: TextIO, tally: Tally) -> Iterator[MappedRow]:
        """Yield one job per usage row of `stream`, counting every row in `tally`. Raises ImporterConfigError
        (before yielding) for an empty file, a header without BilledCost, ChargeCategory, ChargePeriodStart or
        ChargePeriodEnd, `--team` with `--team-from`, no team source (no option and no SubAccountName column),
        or a `--team-from` / `--model-from` that names neither a column nor (with a Tags column) a tag key."""
        records = csv_records(stream)
        header = _read_header(records)
        team, model = self._sources(header)
        self._start_notes(tally, team, model)
        summary = _Summary()
        for line, fields in records:
            tally.read()
            outcome = self._map(header, fields, team, model, summary)
            if isinstance(outcome, _Skip):
                tally.skip(outcome.reason, line, outcome.detail, amount=outcome.amount)
                continue
            tally.map()
            yield MappedRow(line, outcome)
        summary.notes(tally)

    def _sources(self, header: list[str]) -> tuple[_Source | None, _Source | None]:
        """Where team and model come from (team None when `--team` fixes it)."""
        team = None
        if self.options.team is not None and self.options.team_from is not None:
            raise ImporterConfigError("focus: give --team or --team-from, not both")
        if self.options.team_from is not None:
            team = _source(self.options.team_from, header, "--team-from")
        elif self.options.team is None:
            if DEFAULT_TEAM_COLUMN not in header:
                raise ImporterConfigError(f"focus: the file has no {DEFAULT_TEAM_COLUMN} column to read teams from; "
                                          "give --team NAME, or --team-from COLUMN or TAG-KEY")
            team = _Source(DEFAULT_TEAM_COLUMN, is_tag=False)
        model = _source(self.options.model_from, header, "--model-from") if self.options.model_from else None
        return team, model

    def _start_notes(self, tally: Tally, team: _Source | None, model: _Source | None) -> None:
        tally.note(f"ChargePeriodStart/ChargePeriodEnd without an offset read in {self.options.tz_name}")
        if team is not None:
            default = "" if self.options.team_from else " (the default; --team or --team-from to change it)"
            tally.note(f"team from {team.describe()}{default}")
        tally.note(f"model from {model.describe()}" if model else "no model (--model-from to read one)")

    def _map(self, header: list[str], fields: list[str] | str, team_source: _Source | None,
             model_source: _Source | None, summary: _Summary) -> dict[str, Any] | _Skip:
        if isinstance(fields, str):
            return _Skip("malformed row", fields)
        if len(fields) != len(header):
            return _Skip("malformed row", f"{len(fields)} fields, the header has {len(header)}")
        row = _row(header, fields, summary)
        billed = _billed_cost(row)
        if isinstance(billed, _Skip):
            return billed
        refused = _not_a_job(row, billed)
        if refused is not None:
            return refused
        period = _charge_period(row, self.options.tz)
        if isinstance(period, _Skip):
            return period
        team = self.options.team or (row.lookup(team_source) if team_source else None)
        if team is None:
            where = team_source.describe() if team_source else "--team"
            return _Skip("no team", f"{where} is empty", billed)
        return self._record(row, billed, period, team, model_source, summary)

    def _record(self, row: _Row, billed: Decimal, period: tuple[datetime, datetime], team: str,
                model_source: _Source | None, summary: _Summary) -> dict[str, Any]:
        cost = six_places(billed)
        summary.exact_cost = _EXACT.add(summary.exact_cost, billed)
        summary.rounded_cost += Decimal(cost)
        instance = gpu_instance(row.cells)
        record: dict[str, Any] = {
            "job_id": self._job_id(row), "team": team, "status": "succeeded",
            "started_at": rfc3339(period[0]), "ended_at": rfc3339(period[1]), "cost": cost,
            "gpu_count": "0", "labels": _labels(row, instance, summary),
        }
        if instance is not None:
            gpu_type, count = GPU_INSTANCE_TYPES[instance]
            record.update(gpu_type=gpu_type, gpu_count=str(count))
            summary.gpu_rows[instance] += 1
        provider = self.options.provider or row.get("ProviderName")
        model = row.lookup(model_source) if model_source else None
        region = self.options.region or _region(row)
        record.update({k: v for k, v in (("provider", provider), ("model_name", model), ("region", region))
                       if v is not None})
        return record

    def _job_id(self, row: _Row) -> str:
        """`Id`, or `focus-<32 hex>` (sha256 of IDENTITY_COLUMNS); prefixed `<cluster>:` with `--cluster`."""
        own = row.get("Id")
        job_id = own.strip() if own is not None and own.strip() else charge_hash_id(row.cells)
        return f"{self.options.cluster}:{job_id}" if self.options.cluster else job_id


def charge_hash_id(cells: dict[str, str | None]) -> str:
    """The id of a charge without an `Id`: `focus-` and the first 32 hex digits of the sha256 of
    `name=value` for each of IDENTITY_COLUMNS, joined by a unit separator (U+001F), UTF-8; missing cells
    (absent, NULL or blank) are empty. The same charge gets the same id in every run."""
    text = "\x1f".join(f"{name}={(cells.get(name) or '').strip()}" for name in IDENTITY_COLUMNS)
    return "focus-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _read_header(records: Iterator[tuple[int, list[str] | str]]) -> list[str]:
    first = next(records, None)
    if first is None:
        raise ImporterConfigError("focus: the file is empty; expected a FOCUS CSV with a header line")
    if isinstance(first[1], str):
        raise ImporterConfigError(f"focus: the header line is not readable ({first[1]})")
    header = [name.strip() for name in first[1]]
    header[0] = header[0].removeprefix("\ufeff")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImporterConfigError(f"focus: the header lacks {', '.join(missing)}; a FOCUS 1.x cost-and-usage CSV "
                                  f"has {', '.join(REQUIRED_COLUMNS)} (and ProviderName, SubAccountName, Tags, …)")
    return header


def _source(name: str, header: list[str], option: str) -> _Source:
    """A column when the header has `name`, else a Tags key (which needs a Tags column)."""
    if name in header:
        return _Source(name, is_tag=False)
    if "Tags" not in header:
        raise ImporterConfigError(f"{option} {name}: not a column of this file, and the file has no Tags column "
                                  f"to read it as a tag key")
    return _Source(name.strip(), is_tag=True)


def _row(header: list[str], fields: list[str], summary: _Summary) -> _Row:
    cells = {name: (None if value.strip() in _MISSING else value) for name, value in zip(header, fields, strict=True)}
    return _Row(cells, _tags(cells.get("Tags"), summary))


class _Pairs:
    """A JSON object as its (key, value) pairs in file order, duplicates kept."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self.items = items


def _tags(text: str | None, summary: _Summary) -> dict[str, str]:
    """The Tags JSON object with keys trimmed (the first of keys equal once trimmed wins), values as text
    (numbers as written, objects and lists as JSON, null values dropped). Anything but a JSON object reads as
    no tags."""
    if text is None:
        return {}
    try:
        document = json.loads(text, object_pairs_hook=_Pairs, parse_float=str, parse_int=str, parse_constant=str)
    except (ValueError, RecursionError):  # not JSON, or nested past the decoder's depth
        document = None
    if not isinstance(document, _Pairs):
        summary.bad_tag_rows += 1
        return {}
    tags: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in document.items:
        name = key.strip()
        if name and name not in seen and value is not None:
            tags[name] = _tag_text(value)
        seen.add(name)
    summary.duplicate_tag_rows += len(seen) < len(document.items)
    return tags


def _tag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=lambda pairs: dict(pairs.items))


def _decimal(text: str) -> Decimal | None:
    if not _PLAIN_DECIMAL.fullmatch(text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _billed_cost(row: _Row) -> Decimal | _Skip:
    text = row.get("BilledCost")
    if text is None:
        return _Skip("no BilledCost")
    amount = _decimal(text)
    if amount is None:
        return _Skip("bad BilledCost", f"BilledCost {text[:40]!r} is not a decimal number")
    if abs(amount) >= MAX_COST_USD:
        return _Skip("bad BilledCost", f"BilledCost {text[:40]} is out of range (jobcost takes under 10^12 USD)")
    return amount


def _not_a_job(row: _Row, billed: Decimal) -> _Skip | None:
    """Why a row with a billed amount is not a job (currency, class, category, sign), or None for usage."""
    currency = row.get("BillingCurrency")
    if currency is not None and currency.strip().upper() != "USD":
        return _Skip("not billed in USD", f"BillingCurrency {currency!r}")  # no amount: the tally sums USD
    charge_class = row.get("ChargeClass")
    if charge_class is not None and charge_class.strip().casefold() == "correction":
        return _Skip("correction row", "ChargeClass Correction (corrects a past billing period)", billed)
    category = row.get("ChargeCategory")
    if category is None:
        return _Skip("no ChargeCategory", "", billed)
    key = category.strip().casefold()
    if key in _SKIPPED_CATEGORIES:
        return _Skip(_SKIPPED_CATEGORIES[key], f"BilledCost {billed:f}", billed)
    if key != "usage":
        return _Skip("unknown ChargeCategory", f"ChargeCategory {category!r}", billed)
    if billed < 0:
        return _Skip("negative billed cost", f"Usage row with BilledCost {billed:f}", billed)
    return None


def _charge_period(row: _Row, tz: tzinfo) -> tuple[datetime, datetime] | _Skip:
    texts = (row.get("ChargePeriodStart"), row.get("ChargePeriodEnd"))
    if texts[0] is None or texts[1] is None:
        return _Skip("bad charge period", "ChargePeriodStart or ChargePeriodEnd is missing")
    start, end = _instant(texts[0], tz), _instant(texts[1], tz)
    if start is None or end is None:
        return _Skip("bad charge period", f"not a timestamp: {texts[0][:40]!r} to {texts[1][:40]!r}")
    if end < start:
        return _Skip("bad charge period", f"ChargePeriodEnd {texts[1]} is before ChargePeriodStart {texts[0]}")
    return start, end


def _instant(text: str, tz: tzinfo) -> datetime | None:
    """An ISO 8601 timestamp; one without an offset is read in `tz`. UTC, cut to the millisecond."""
    try:
        value = datetime.fromisoformat(text.strip())
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):  # not a timestamp, or out of datetime's range once in UTC (year 1)
        return None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _labels(row: _Row, instance: str | None, summary: _Summary) -> dict[str, str]:
    """LABEL_COLUMNS, `instance_type`, then tags as `tag:<key>` while they fit in MAX_LABELS."""
    labels = {name: row.get(name) for name in LABEL_COLUMNS}
    labels["instance_type"] = instance
    kept: dict[str, str] = {name: value for name, value in labels.items() if value is not None}
    tags = [(TAG_LABEL_PREFIX + key, value) for key, value in row.tags.items() if _fit_tag_key(key)]
    room = MAX_LABELS - len(kept)
    summary.dropped_tag_rows += len(tags) > room
    kept.update(tags[:room])
    cut = {name: value[:MAX_LABEL_VALUE] for name, value in kept.items() if len(value) > MAX_LABEL_VALUE}
    summary.cut_label_rows += bool(cut)
    return kept | cut


def _region(row: _Row) -> str | None:
    """The charge's region: `RegionId` (the provider's code, `us-east-1`, what grid intensities are keyed by),
    else `RegionName`; None when neither has a value of at most 64 characters (jobcost's limit)."""
    for column in ("RegionId", "RegionName"):
        value = (row.get(column) or "").strip()
        if value and len(value) <= 64:
            return value
    return None


def _fit_tag_key(key: str) -> bool:
    """A tag key usable in a label key: printable and short enough with its prefix."""
    return key.isprintable() and len(TAG_LABEL_PREFIX + key) <= 255


IMPORTERS = {"focus": FocusImporter}
