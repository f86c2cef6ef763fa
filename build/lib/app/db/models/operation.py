from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import NOW, Base, UUIDPrimaryKey, utcnow
from app.db.types import UTCDateTime


class OperationState(StrEnum):
    """Where a long-running operation stands: `running` until it ends `succeeded` or `failed`."""

    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Operation(UUIDPrimaryKey, Base):
    """A piece of long work (today: a recost of many jobs) run by a task of the server process, polled by
    `GET /api/v1/operations/{id}`.

    `progress` is `{"done": jobs done, "total": jobs in scope}`; `result` is what the work reports at the end
    (`{"error": "..."}` when it failed). `heartbeat_at` is renewed while the task lives: an operation still
    `running` whose heartbeat has gone stale was left by a process that died, and is marked `failed`.
    """

    __tablename__ = "operations"

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[OperationState] = mapped_column(
        Enum(OperationState, native_enum=False, create_constraint=True, length=16, name="operation_state",
             values_callable=lambda e: [m.value for m in e]),
        nullable=False, index=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict, server_default="{}")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, server_default=NOW)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow,
                                                   server_default=NOW)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
