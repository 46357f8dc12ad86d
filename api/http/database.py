"""Database work from async handlers: in the thread pool, with an outage answered as 503."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError

from api.http.problems import unavailable

P = ParamSpec("P")
T = TypeVar("T")


async def in_database(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except OperationalError:
        raise unavailable("the database is unreachable; retry later") from None
