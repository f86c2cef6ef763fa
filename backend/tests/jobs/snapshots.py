"""The cost part of a job's `?include=snapshots` (its energy figures are checked in tests/energy)."""

from __future__ import annotations

from typing import Any


def cost_days(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each snapshot's day, GPU-hours and cost."""
    return [{"day": s["day"], "gpu_hours": s["gpu_hours"], "cost": s["cost"]} for s in snapshots]
