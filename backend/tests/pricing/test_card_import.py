"""Planning a rate-card import: what is added, what is already there, what conflicts (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from app.pricing.card_import import file_rate, plan_import
from app.pricing.rate_file import FileRate, RateFile

Y2019 = datetime(2019, 1, 1, tzinfo=UTC)
Y2021 = datetime(2021, 1, 1, tzinfo=UTC)


@dataclass
class Stored:
    id: str
    provider: str
    gpu_type: str
    usd_per_gpu_hour: Decimal
    valid_from: datetime
    valid_to: datetime | None = None
    note: str | None = None


V100 = FileRate("onprem", "V100", Decimal("2.1"), Y2019, None, "chargeback")
V100_2021 = FileRate("onprem", "V100", Decimal("1.5"), Y2021)
T4 = FileRate("*", "T4", Decimal("0.35"), Y2019, Y2021)


def test_an_empty_card_takes_every_rate() -> None:
    plan = plan_import(RateFile((V100, T4)), [])
    assert plan.add == (V100, T4) and plan.unchanged == 0 and not plan.conflicts


def test_the_same_rates_again_change_nothing() -> None:
    stored = [Stored("r1", "onprem", "V100", Decimal("2.100000"), Y2019, None, "chargeback"),
              Stored("r2", "*", "T4", Decimal("0.35"), Y2019, Y2021)]
    plan = plan_import(RateFile((V100, T4)), stored)
    assert plan.add == () and plan.unchanged == 2 and plan.changes_nothing


def test_an_open_rate_closed_by_the_next_one_of_its_key_is_the_same_rate() -> None:
    # After the first import the card holds V100 2019 closed at 2021 (the API closed it when 2021 was added).
    stored = [Stored("r1", "onprem", "V100", Decimal("2.1"), Y2019, Y2021, "chargeback"),
              Stored("r2", "onprem", "V100", Decimal("1.5"), Y2021)]
    plan = plan_import(RateFile((V100, V100_2021)), stored)
    assert plan.add == () and plan.unchanged == 2
    # Closed at some other instant: not the same rate.
    stored[0].valid_to = datetime(2020, 1, 1, tzinfo=UTC)
    plan = plan_import(RateFile((V100,), where=("line 2",)), stored)
    assert [str(p) for p in plan.conflicts] == [
        "line 2: onprem/V100 from 2019-01-01T00:00:00+00:00 is already rate r1 (2.100000 USD, until "
        "2020-01-01T00:00:00+00:00, note 'chargeback'), which differs: retire it first (jobcost prices retire r1)"]


def test_a_later_rate_of_a_stored_key_is_added_and_others_are_kept() -> None:
    stored = [Stored("r1", "onprem", "V100", Decimal("2.1"), Y2019, None, "chargeback"),
              Stored("r9", "onprem", "A100", Decimal("3"), Y2019)]
    plan = plan_import(RateFile((V100, V100_2021)), stored)
    assert plan.add == (V100_2021,) and plan.unchanged == 1 and not plan.conflicts


def test_a_different_amount_or_note_at_the_same_start_conflicts() -> None:
    stored = [Stored("r1", "onprem", "V100", Decimal("2.2"), Y2019, None, "chargeback"),
              Stored("r2", "*", "T4", Decimal("0.35"), Y2019, Y2021, "other note")]
    plan = plan_import(RateFile((V100, T4), where=("line 2", "line 3")), stored)
    assert [(p.where, p.field) for p in plan.conflicts] == [("line 2", None), ("line 3", None)]
    assert plan.add == () and plan.unchanged == 0


def test_aliases_new_or_changed_only_spellings_case_folded() -> None:
    card = RateFile((), {"Tesla V100": "V100", "P100-PCIE": "P100"}, {"On Prem": "onprem"})
    plan = plan_import(card, [], {"gpu_type": {"tesla v100": "V100", "p100-pcie": "P40"},
                                  "provider": {"on prem": "onprem"}})
    assert plan.gpu_type_aliases == {"P100-PCIE": "P100"} and plan.provider_aliases == {}
    assert not plan.changes_nothing


def test_file_rate_of_a_stored_rate() -> None:
    assert file_rate(Stored("r1", "onprem", "V100", Decimal("2.1"), Y2019, None, "")) == FileRate(
        "onprem", "V100", Decimal("2.1"), Y2019, None, None)
