"""FOCUS 1.2 cost-and-usage rows from jobcost's cost snapshots: the columns, in order, and one row per job and UTC
day. Pure functions (no database, no HTTP): `service.py` reads the rows, the router and the CLI send them.

What each column holds, and why, is in docs/focus-export.md. In short: the snapshot's cost (billed or estimated,
USD) is every one of BilledCost, EffectiveCost, ListCost and ContractedCost, since jobcost knows one price per job
(no discounts, no commitments, no negotiated rates); a snapshot without a cost (an unpriced job) is exported with
0 in the four cost columns and `x_CostSource` = `unpriced`, so its GPU-hours still show. Quantities are GPU-hours
(GPU count × hours) rounded half-even to 6 places; timestamps are RFC 3339 UTC with a `Z`.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from app.core.csv_text import csv_lines
from app.core.csv_text import spreadsheet_safe as safe
from app.core.money import gpu_hours_text, six_places

FOCUS_VERSION = "1.2"
CURRENCY = "USD"
UNIT = "GPU-Hours"  # FOCUS Unit Format: a count unit and a time unit joined by a hyphen, as `GB-Hours`
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_NAME = "GPU Compute"
RESOURCE_TYPE = "GPU Job"
UNKNOWN_PROVIDER = "Unknown"  # ProviderName, PublisherName and InvoiceIssuerName must not be null
# One billing account: the organisation running jobcost; teams are its sub accounts.
BILLING_ACCOUNT_ID = "jobcost"
BILLING_ACCOUNT_NAME = "jobcost"

# The header, in this order: FOCUS columns alphabetically, then the `x_` extension columns.
COLUMNS: tuple[str, ...] = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SubAccountId",
    "SubAccountName", "Tags",
    "x_CostSource", "x_GpuCount", "x_GpuHours", "x_GpuType", "x_JobStatus", "x_Model", "x_Team", "x_User",
)


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One job's share of one UTC day, with the job's facts: what a FOCUS row is made from. `cost` is USD (None
    when unpriced), `gpu_us` GPU-microseconds on that day, `gpu_milli` thousandths of a GPU."""

    day: date
    job_id: str
    team_id: uuid.UUID
    team_name: str
    model_name: str | None
    user_name: str | None
    gpu_type: str | None
    gpu_milli: int
    provider: str | None
    status: str
    cost_source: str
    cost: Decimal | None
    gpu_us: int


def rfc3339_day(day: date) -> str:
    """Midnight UTC starting `day`, as FOCUS's Date/Time Format wants it: `2026-01-05T00:00:00Z`."""
    return f"{day.isoformat()}T00:00:00Z"


def billing_period(day: date) -> tuple[date, date]:
    """The calendar month holding `day`: its first day, and the first day of the next month (exclusive end)."""
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@lru_cache(maxsize=1024)
def _period_cells(day: date) -> tuple[str, str, str, str]:
    """(BillingPeriodEnd, BillingPeriodStart, ChargePeriodEnd, ChargePeriodStart) of `day`: computed once per day,
    not once per row."""
    period_start, period_end = billing_period(day)
    return (rfc3339_day(period_end), rfc3339_day(period_start), rfc3339_day(day + timedelta(days=1)),
            rfc3339_day(day))


def _gpu_count(gpu_milli: int) -> str:
    whole, milli = divmod(gpu_milli, 1000)
    return str(whole) if not milli else f"{whole}.{milli:03d}".rstrip("0")


def tags(row: SnapshotRow) -> str:
    """The Tags cell: a JSON object (FOCUS Key-Value Format) with the job's `team` and, when it has one, its
    `model` (a tag with no value is left out, as the spec allows)."""
    values = {"team": row.team_name}
    if row.model_name is not None:
        values["model"] = row.model_name
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def description(row: SnapshotRow) -> str:
    gpus = f"{_gpu_count(row.gpu_milli)} × {row.gpu_type or 'unknown GPU'}"
    return f"GPU time of job {row.job_id} ({gpus}) on {row.day.isoformat()} UTC"


def focus_cells(row: SnapshotRow) -> list[str]:
    """The row's cells in `COLUMNS` order, as text ("" is null). Cells holding names that come from job records
    (job, team, model, user, GPU type, provider) are made `spreadsheet_safe`; the others are numbers, dates,
    constants or JSON objects, which never start like a formula."""
    cost = six_places(row.cost) if row.cost is not None else "0.000000"
    hours = gpu_hours_text(row.gpu_us)
    provider = safe(row.provider) if row.provider else UNKNOWN_PROVIDER
    job_id, team = safe(row.job_id), safe(row.team_name)
    billing_end, billing_start, charge_end, charge_start = _period_cells(row.day)
    gpu_count = _gpu_count(row.gpu_milli)
    return [
        cost, BILLING_ACCOUNT_ID, BILLING_ACCOUNT_NAME, CURRENCY, billing_end, billing_start, "Usage", "",
        safe(description(row)), "Usage-Based", charge_end, charge_start, hours, UNIT, cost, cost, provider, cost,
        hours, UNIT, provider, provider, job_id, job_id, RESOURCE_TYPE, SERVICE_CATEGORY, SERVICE_NAME,
        str(row.team_id), team, tags(row), row.cost_source, gpu_count, hours, safe(row.gpu_type or ""), row.status,
        safe(row.model_name or ""), team, safe(row.user_name or ""),
    ]


def header_line() -> str:
    return csv_lines([COLUMNS])


def focus_lines(rows: Iterable[SnapshotRow]) -> str:
    """CSV text (RFC 4180, CRLF) of `rows`; text a spreadsheet would run as a formula is defused
    (`app.core.csv_text`: a leading `'`)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(focus_cells(row) for row in rows)
    return out.getvalue()


def file_name(start: date, end: date) -> str:
    """`jobcost-focus-1.2_2026-01-01_2026-01-31.csv`."""
    return f"jobcost-focus-{FOCUS_VERSION}_{start.isoformat()}_{end.isoformat()}.csv"
