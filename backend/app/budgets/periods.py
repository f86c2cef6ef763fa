"""Calendar periods in UTC days: the month or quarter holding a day, as [first day, last day]."""

from __future__ import annotations

from datetime import date, timedelta

from app.db.models import BudgetPeriod


def period_bounds(period: BudgetPeriod | str, day: date) -> tuple[date, date]:
    """The first and last UTC day (both inclusive) of the calendar month or quarter holding `day`."""
    first_month = day.month if period == BudgetPeriod.month else 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    months = 1 if period == BudgetPeriod.month else 3
    year, month = divmod(start.month - 1 + months, 12)
    return start, date(start.year + year, month + 1, 1) - timedelta(days=1)
