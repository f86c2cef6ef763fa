"""Exports of jobcost's cost data in other tools' formats: FOCUS 1.2 cost-and-usage CSV (docs/focus-export.md)."""
