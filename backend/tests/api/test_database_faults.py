"""The database not being there right now is a 503 with `Retry-After`, never a 500 (issue 15, part 1).

The exceptions are the drivers' own: asyncpg's classes put through SQLAlchemy's own translation (as a request sees
them), and errors caught from a real PostgreSQL connection that was terminated, a pool that ran dry, a port with
nothing behind it, and an aiosqlite connection that was closed. Which ones mean "unavailable" is written out here
by hand (SQLSTATE classes 08 and 57P, 53300, asyncpg's client state errors), not read from the code under test.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_dbapi
from sqlalchemy.ext.asyncio import create_async_engine

from app.api.errors import is_database_unavailable
from tests.api.conftest import probe_client_for
from tests.api.problems import assert_problem

_DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)


def as_sqlalchemy_raises(error: Exception) -> Exception:
    """`error`, raised by asyncpg during a statement, as SQLAlchemy hands it to the caller: translated by the
    asyncpg adapter into its DB-API class, then wrapped in SQLAlchemy's matching `DBAPIError` subclass."""
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(_DBAPI, error)
    except Exception as translated:  # noqa: BLE001 - the translation always raises
        return sa_exc.DBAPIError.instance("UPDATE jobs SET cost_micros = $1", {}, translated, _DBAPI.Error)
    raise AssertionError("SQLAlchemy's translation did not raise")


UNAVAILABLE = {
    "57P01-admin-shutdown": asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator "
                                                                  "command"),
    "57P02-crash-shutdown": asyncpg.exceptions.CrashShutdownError("terminating connection because of crash"),
    "57P03-cannot-connect-now": asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    "08003-closed-mid-operation": asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"),
    "08006-connection-failure": asyncpg.exceptions.ConnectionFailureError("connection failure"),
    "53300-too-many-connections": asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    "client-state": asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation is in progress"),
    "client-protocol": asyncpg.exceptions.ProtocolError("unexpected message"),
    "interface-closed": asyncpg.exceptions.InterfaceError("connection is closed"),
}
NOT_UNAVAILABLE = {
    "23505-unique": asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    "42P01-undefined-table": asyncpg.exceptions.UndefinedTableError('relation "jobs" does not exist'),
    "40P01-deadlock": asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    "22021-bad-encoding": asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
    "42501-privilege": asyncpg.exceptions.InsufficientPrivilegeError("permission denied"),
}


@pytest.mark.parametrize("error", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
def test_asyncpg_errors_meaning_the_database_is_away_are_unavailable(error: Exception) -> None:
    assert is_database_unavailable(as_sqlalchemy_raises(error))
    if not isinstance(error, asyncpg.exceptions.InterfaceError):  # bare, it may be a misuse (asyncpg's DataError)
        assert is_database_unavailable(error)  # raised bare, outside a statement (e.g. while connecting)


@pytest.mark.parametrize("error", NOT_UNAVAILABLE.values(), ids=NOT_UNAVAILABLE.keys())
def test_other_asyncpg_errors_are_not(error: Exception) -> None:
    assert not is_database_unavailable(as_sqlalchemy_raises(error))


def test_a_cleanup_failing_over_a_lost_connection_is_unavailable() -> None:
    # The advisory lock's release (or a rollback) fails on the dead connection with an error of its own, raised
    # while the first one is handled: the first one decides.
    lost = as_sqlalchemy_raises(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    try:
        try:
            raise lost
        except sa_exc.DBAPIError:
            raise sa_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back") from None
    except sa_exc.PendingRollbackError as cleanup:
        assert is_database_unavailable(cleanup)
    assert not is_database_unavailable(sa_exc.PendingRollbackError("a bug that rolled back nothing"))
    assert not is_database_unavailable(RuntimeError("a bug"))


def test_socket_errors_are_unavailable() -> None:
    for error in (ConnectionRefusedError(111, "refused"), ConnectionResetError(104, "reset"), TimeoutError(),
                  socket.gaierror(-2, "Name or service not known")):
        assert is_database_unavailable(error), error


async def _caught(coro) -> BaseException:  # noqa: ANN001
    try:
        await coro
    except BaseException as error:  # noqa: BLE001
        return error
    raise AssertionError("no error raised")


async def test_real_faults_are_unavailable(backend: str, settings) -> None:  # noqa: ANN001
    """Errors caught from real connections, on the session's scratch database."""
    if backend == "postgresql":
        engine = create_async_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
        try:
            async with engine.connect() as connection:
                terminated = await _caught(connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())")))
                assert isinstance(terminated, sa_exc.DBAPIError), terminated
                assert is_database_unavailable(terminated)
                # Carrying on regardless is a PendingRollbackError, which alone names no outage (a bug raises it
                # too): it counts only raised while the first error is handled (see the cleanup test above).
                carried_on = await _caught(connection.execute(text("SELECT 1")))
                assert isinstance(carried_on, sa_exc.PendingRollbackError)
            async with engine.connect():
                ran_dry = await _caught(engine.connect().__aenter__())
                assert isinstance(ran_dry, sa_exc.TimeoutError) and is_database_unavailable(ran_dry)
        finally:
            await engine.dispose()
        nobody = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        refused = await _caught(nobody.connect().__aenter__())
        await nobody.dispose()
        assert is_database_unavailable(refused), repr(refused)
    else:
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                await raw.driver_connection.close()
                closed = await _caught(connection.execute(text("SELECT 1")))
                assert isinstance(closed, sa_exc.OperationalError) and is_database_unavailable(closed)
                await connection.invalidate()  # the pool must not close it a second time
        finally:
            await engine.dispose()
        missing = create_async_engine("sqlite+aiosqlite:////nonexistent-directory/jobcost.db")
        unopenable = await _caught(missing.connect().__aenter__())
        await missing.dispose()
        assert is_database_unavailable(unopenable), repr(unopenable)
    if backend == "postgresql":  # (SQLite reports a missing table as an OperationalError too: 503 there)
        # A mistake in a statement is not an outage.
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                mistake = await _caught(connection.execute(text("SELECT * FROM no_such_table")))
                assert isinstance(mistake, sa_exc.ProgrammingError) and not is_database_unavailable(mistake)
        finally:
            await engine.dispose()


# Over HTTP: a route that raises each error, as a request would meet it.
probe = APIRouter(prefix="/test-only")
_RAISED = {**{f"up-{k}": as_sqlalchemy_raises(v) for k, v in UNAVAILABLE.items()},
           **{f"bare-{k}": v for k, v in UNAVAILABLE.items() if k != "interface-closed"},
           "pool-timeout": sa_exc.TimeoutError("QueuePool limit of size 2 overflow 0 reached"),
           "refused": ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
           "undefined-table": as_sqlalchemy_raises(NOT_UNAVAILABLE["42P01-undefined-table"])}


@probe.get("/raise/{name}")
async def raise_(name: str) -> None:
    raise _RAISED[name]


@pytest.fixture
async def probe_client(bare_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client_for(bare_app, probe) as client:
        yield client


@pytest.mark.parametrize("name", [n for n in _RAISED if n != "undefined-table"])
async def test_each_is_a_503_with_retry_after(probe_client: httpx.AsyncClient, name: str) -> None:
    response = await probe_client.get(f"/test-only/raise/{name}")

    body = assert_problem(response, 503, "database-unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert "UPDATE" not in response.text and "5432" not in response.text, body


async def test_a_statement_error_is_still_a_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/raise/undefined-table")

    assert_problem(response, 500, "internal-error")
    assert "retry-after" not in response.headers


def test_asyncio_timeout_is_the_builtin() -> None:
    # asyncpg's connect timeout raises asyncio.TimeoutError: the builtin TimeoutError on Python >= 3.11.
    assert asyncio.TimeoutError is TimeoutError
