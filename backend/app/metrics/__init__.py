"""Prometheus metrics: `GET /metrics` and what feeds it (see docs/metrics-and-logs.md)."""
