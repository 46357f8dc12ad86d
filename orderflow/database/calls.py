"""Database work from async code: in a worker thread, bounded in time, with an outage
reported as a domain error instead of an exception of the driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from orderflow.database.engine import timeouts_of
from orderflow.database.held import HeldConnections
from orderflow.errors import DatabaseUnavailable

P = ParamSpec("P")
T = TypeVar("T")


async def in_database(
    function: Callable[Concatenate[Engine, P], T],
    engine: Engine,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``function(engine, *args, **kwargs)`` in the thread pool, for at most the engine's
    call timeout.

    Whatever fails or hangs (connecting, waiting for a pooled connection, a statement, a
    database that stopped answering), the caller is told DatabaseUnavailable within that
    bound, and the API answers 503 + Retry-After. A call given up on (timed out, or its
    request cancelled) has its connections broken, so its thread ends and the pool gets
    them back instead of filling up with connections that wait forever.
    """
    held = HeldConnections()

    def call() -> T:
        with held:
            return function(engine, *args, **kwargs)

    try:
        with anyio.fail_after(timeouts_of(engine).call):
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except (TimeoutError, OperationalError, PoolTimeout):
        raise DatabaseUnavailable() from None
    except DBAPIError as error:
        if error.connection_invalidated:
            raise DatabaseUnavailable() from None
        raise
    finally:
        held.abandon()  # nothing to do if the call finished
