"""Recosting history after a rate card change: `RecostRunner.after_change(scopes, created_by=...)`."""

from app.recost.runner import RecostOutcome, RecostRunner
from app.recost.service import Recoster, RecostReport

__all__ = ["RecostOutcome", "RecostReport", "RecostRunner", "Recoster"]
