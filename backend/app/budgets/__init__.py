"""Budgets per team (or for everything) per calendar month or quarter, their thresholds, and the alerts they raise
by webhook (DESIGN.md "Budgets and alerts", docs/budgets-and-alerts.md)."""
