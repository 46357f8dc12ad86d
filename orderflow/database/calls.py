"""Database work from async code: in a worker thread, with an outage reported as a domain
error instead of an exception of the driver."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from sqlalchemy.exc import OperationalError

from orderflow.errors import DatabaseUnavailable

P = ParamSpec("P")
T = TypeVar("T")


async def in_database(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function`` in the thread pool; an unreachable database raises
    DatabaseUnavailable."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
    except OperationalError:
        raise DatabaseUnavailable() from None
