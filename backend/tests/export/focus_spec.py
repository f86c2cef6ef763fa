"""The FOCUS 1.2 cost-and-usage column table, kept as data, and a checker of a CSV against it.

Source: FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, `specification/columns/*.md` (each file's "Content
Constraints" table and requirement list) and `specification/attributes/` (Date/Time Format, Numeric Format,
Currency Format, Key-Value Format, column naming: custom columns start with `x_`), read through the project's
search tool on 2026-12-06. The column set is that of `specification/columns/columns.mdpp` plus the 1.2 additions
(BillingAccountType, InvoiceId, PricingCurrency and its three PricingCurrency* columns, SubAccountType); Provider,
Publisher and InvoiceIssuer carry their 1.2 column ids (ProviderName, PublisherName, InvoiceIssuerName). The
stored spec versions are not all at the v1.2 tag: `SPEC_COMMITS` names the commit each column file was read at.
Columns of later versions (ServiceProviderName, HostProviderName, …) are not FOCUS 1.2 and are not listed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

SPEC = "FOCUS 1.2 (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, specification/columns)"
SPEC_COMMITS = {
    "servicecategory.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "billingaccounttype.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "billingaccountname.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "chargecategory.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "pricingunit.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "resourcetype.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "tags.md": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "columns.mdpp": "07eb2f3e2404a63308dce577c196b4270e0fefaf",
    "chargeclass.md": "055c76bba99ecfb6dac071fbf6a4952ce3108e0c",
    "chargedescription.md": "039c750336a42452de2a0f86f1707a6be806af83",
    "pricingquantity.md": "0e22a7f601d0a23ba6ee22861b7dc442f41a2a5e",
    "consumedquantity.md": "045d31bbcbd6e72fd2aea653e3b3d2b17c2145c9",
    "invoiceissuer.md": "082a7a06b3319222d4c04b1b16d1ca3a637c4501",
    "provider.md": "1c4b36114a77fa8fb7acb4a95834ce60433255be",
    "publisher.md": "0fb07eeae72981b833fa42c736dbfa628f0a3c1b",
    "pricingcurrency.md": "0285ee9a29ff58bc8f2fedcf5b2ecc6aff97f18c",
    "subaccountname.md": "065ff12ccf163178af6fc96120f924b43d2782f9",
    "attributes/datetime_format.md": "0942b25c67922d7a762c37cdc2a54cb73c9efa42",
    "attributes/numeric_format.md": "04a7fe8d1bbdc813ffab81a95bc5b0c081e22d51",
}

Level = Literal["Mandatory", "Conditional", "Recommended"]
DataType = Literal["Decimal", "DateTime", "String", "JSON"]


@dataclass(frozen=True)
class Column:
    name: str
    level: Level
    data_type: DataType
    allows_nulls: bool
    allowed: tuple[str, ...] | None = None
    value_format: Literal["Currency", "Unit"] | None = None


SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media",
    "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other")

M, C, R = "Mandatory", "Conditional", "Recommended"
COLUMNS: tuple[Column, ...] = (
    Column("AvailabilityZone", R, "String", True),
    Column("BilledCost", M, "Decimal", False),
    Column("BillingAccountId", M, "String", False),
    Column("BillingAccountName", M, "String", True),
    Column("BillingAccountType", C, "String", True),
    Column("BillingCurrency", M, "String", False, value_format="Currency"),
    Column("BillingPeriodEnd", M, "DateTime", False),
    Column("BillingPeriodStart", M, "DateTime", False),
    Column("CapacityReservationId", C, "String", True),
    Column("CapacityReservationStatus", C, "String", True, ("Used", "Unused")),
    Column("ChargeCategory", M, "String", False, ("Usage", "Purchase", "Tax", "Credit", "Adjustment")),
    Column("ChargeClass", M, "String", True, ("Correction",)),
    Column("ChargeDescription", M, "String", True),
    Column("ChargeFrequency", R, "String", False, ("One-Time", "Recurring", "Usage-Based")),
    Column("ChargePeriodEnd", M, "DateTime", False),
    Column("ChargePeriodStart", M, "DateTime", False),
    Column("CommitmentDiscountCategory", C, "String", True, ("Spend", "Usage")),
    Column("CommitmentDiscountId", C, "String", True),
    Column("CommitmentDiscountName", C, "String", True),
    Column("CommitmentDiscountQuantity", C, "Decimal", True),
    Column("CommitmentDiscountStatus", C, "String", True, ("Used", "Unused")),
    Column("CommitmentDiscountType", C, "String", True),
    Column("CommitmentDiscountUnit", C, "String", True, value_format="Unit"),
    Column("ConsumedQuantity", C, "Decimal", True),
    Column("ConsumedUnit", C, "String", True, value_format="Unit"),
    Column("ContractedCost", M, "Decimal", False),
    Column("ContractedUnitPrice", C, "Decimal", True),
    Column("EffectiveCost", M, "Decimal", False),
    Column("InvoiceId", R, "String", True),
    Column("InvoiceIssuerName", M, "String", False),
    Column("ListCost", M, "Decimal", False),
    Column("ListUnitPrice", C, "Decimal", True),
    Column("PricingCategory", C, "String", True, ("Standard", "Dynamic", "Committed", "Other")),
    Column("PricingCurrency", C, "String", True, value_format="Currency"),
    Column("PricingCurrencyContractedUnitPrice", C, "Decimal", True),
    Column("PricingCurrencyEffectiveCost", C, "Decimal", True),
    Column("PricingCurrencyListUnitPrice", C, "Decimal", True),
    Column("PricingQuantity", M, "Decimal", True),
    Column("PricingUnit", M, "String", True, value_format="Unit"),
    Column("ProviderName", M, "String", False),
    Column("PublisherName", M, "String", False),
    Column("RegionId", C, "String", True),
    Column("RegionName", C, "String", True),
    Column("ResourceId", C, "String", True),
    Column("ResourceName", C, "String", True),
    Column("ResourceType", C, "String", True),
    Column("ServiceCategory", M, "String", False, SERVICE_CATEGORIES),
    Column("ServiceName", M, "String", False),
    Column("ServiceSubcategory", R, "String", False),
    Column("SkuId", C, "String", True),
    Column("SkuMeter", C, "String", True),
    Column("SkuPriceDetails", C, "JSON", True),
    Column("SkuPriceId", C, "String", True),
    Column("SubAccountId", C, "String", True),
    Column("SubAccountName", C, "String", True),
    Column("SubAccountType", C, "String", True),
    Column("Tags", C, "JSON", True),
)
BY_NAME = {column.name: column for column in COLUMNS}
MANDATORY = tuple(column.name for column in COLUMNS if column.level == "Mandatory")

# Numeric Format: an integer or decimal, `-` only for negatives, no `+`, exponent, separators or units.
NUMERIC = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?", re.ASCII)
# Date/Time Format for a moment: extended ISO 8601 in UTC, 'YYYY-MM-DDTHH:mm:ssZ'.
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)  # ISO 4217 alphabetic code
# Unit Format: words (count or size units) joined by `-` or `/`, optionally led by a block size ("1000 Requests").
UNIT = re.compile(r"(?:\d+ )?[A-Za-z]+(?:[-/ ][A-Za-z]+)*", re.ASCII)


def _datetime(text: str) -> datetime:
    assert DATETIME.fullmatch(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _check_value(column: Column, text: str, where: str) -> None:
    if column.data_type == "Decimal":
        assert NUMERIC.fullmatch(text), f"{where}: {text!r} is not in Numeric Format"
    elif column.data_type == "DateTime":
        _datetime(text)
    elif column.data_type == "JSON":
        value = json.loads(text)
        assert isinstance(value, dict), f"{where}: not a JSON object (Key-Value Format)"
        assert all(isinstance(k, str) and isinstance(v, str | int | float | bool) and v is not None
                   for k, v in value.items()), f"{where}: {text}"
    if column.allowed is not None:
        assert text in column.allowed, f"{where}: {text!r} is not one of the allowed values"
    if column.value_format == "Currency":
        assert CURRENCY.fullmatch(text), f"{where}: {text!r} is not an ISO 4217 code"
    elif column.value_format == "Unit":
        assert UNIT.fullmatch(text), f"{where}: {text!r} is not in Unit Format"


def check_focus_csv(text: str) -> list[dict[str, str]]:
    """Check a FOCUS 1.2 CSV against `COLUMNS`; returns its rows (empty cells are nulls, as "").

    Checks: the header's names are unique; every Mandatory column is there; every other column is a FOCUS 1.2
    column or a custom one prefixed `x_`; each value of a FOCUS column has the column's data type (Numeric
    Format for Decimal, 'YYYY-MM-DDTHH:mm:ssZ' for DateTime, a JSON object of scalar values for JSON), is one of
    its allowed values, follows its value format (ISO 4217 currency, Unit Format), and is present unless the
    column allows nulls; and the cross-column rules of the column files: ChargePeriodStart < ChargePeriodEnd,
    the charge period inside the billing period, BillingPeriodStart < BillingPeriodEnd; ChargeClass null, so
    PricingQuantity and PricingUnit present on Usage and Purchase rows; ConsumedUnit present exactly when
    ConsumedQuantity is; ResourceType present exactly when ResourceId is; SubAccountName null when SubAccountId
    is; BilledCost, EffectiveCost, ListCost and ContractedCost non-negative on usage rows that are not corrections.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert len(header) == len(set(header)), "a column is named twice"
    missing = [name for name in MANDATORY if name not in header]
    assert not missing, f"Mandatory columns missing: {missing}"
    unknown = [name for name in header if name not in BY_NAME and not name.startswith("x_")]
    assert not unknown, f"neither FOCUS 1.2 columns nor x_ custom columns: {unknown}"
    rows = [dict(zip(header, cells, strict=True)) for cells in reader]
    for number, row in enumerate(rows, start=2):
        for name, value in row.items():
            column = BY_NAME.get(name)
            if column is None:
                continue
            where = f"line {number}, {name}"
            if value == "":
                assert column.allows_nulls, f"{where}: null in a column that allows no nulls"
                continue
            _check_value(column, value, where)
        _check_row(row, number)
    return rows


def _check_row(row: dict[str, str], number: int) -> None:
    where = f"line {number}"
    charge_start, charge_end = _datetime(row["ChargePeriodStart"]), _datetime(row["ChargePeriodEnd"])
    billing_start, billing_end = _datetime(row["BillingPeriodStart"]), _datetime(row["BillingPeriodEnd"])
    assert charge_start < charge_end, where
    assert billing_start < billing_end, where
    assert billing_start <= charge_start and charge_end <= billing_end, f"{where}: charge outside billing period"
    usage = row["ChargeCategory"] in ("Usage", "Purchase") and row["ChargeClass"] != "Correction"
    if usage:
        assert row["PricingQuantity"] != "" and row["PricingUnit"] != "", f"{where}: usage without a quantity"
        for cost in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
            assert Decimal(row[cost]) >= 0, f"{where}: negative {cost}"
    assert (row["PricingQuantity"] == "") == (row["PricingUnit"] == ""), where
    if "ConsumedQuantity" in row:
        assert (row["ConsumedQuantity"] == "") == (row.get("ConsumedUnit", "") == ""), where
    if "ResourceId" in row:
        assert (row["ResourceId"] == "") == (row.get("ResourceType", "") == ""), where
    if row.get("SubAccountId", "") == "":
        assert row.get("SubAccountName", "") == "", where
