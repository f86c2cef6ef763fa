"""Request dependencies of recosting: the app's `RecostRunner` and operation store."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from app.recost.operations import OperationStore, OperationTasks
from app.recost.runner import RecostRunner


def operation_tasks(request: Request) -> OperationTasks:
    """The app's running operation tasks (made on first use; the lifespan cancels them at shutdown)."""
    state = request.app.state
    if getattr(state, "operation_tasks", None) is None:
        state.operation_tasks = OperationTasks()
    return state.operation_tasks


def get_recost_runner(request: Request) -> RecostRunner:
    return RecostRunner(request.app.state.sessionmaker, request.app.state.settings, operation_tasks(request))


def get_operation_store(request: Request) -> OperationStore:
    stale = timedelta(seconds=request.app.state.settings.operation_stale_seconds)
    return OperationStore(request.app.state.sessionmaker, stale_after=stale)


RecostRunnerDep = Annotated[RecostRunner, Depends(get_recost_runner)]
OperationStoreDep = Annotated[OperationStore, Depends(get_operation_store)]
