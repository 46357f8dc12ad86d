"""The broadcaster's reads of the outbox: on threads of its own (the follower's reads never
queue behind catch-ups, nor catch-ups behind the API), each bounded by the database call
timeout, with the connections of a read given up on broken."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy.engine import Engine

from api.published.subscription import BATCH
from orderflow.database import outbox
from orderflow.database.engine import create_database_engine, timeouts_of
from orderflow.database.held import HeldConnections
from orderflow.database.outbox import OutboxEvent

P = ParamSpec("P")
T = TypeVar("T")

CATCH_UP_THREADS = 4


class OutboxReader:
    """Reads for one broadcaster: ``follow`` runs the follower's calls, ``read`` a
    subscription's catch-up."""

    def __init__(self, engine: Engine) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        # Each call bounded like the API's (DATABASE_CALL_TIMEOUT_SECONDS and the rest); on
        # PostgreSQL a pool of its own, so streams never take the API's connections.
        timeouts = timeouts_of(engine)
        self.timeout = timeouts.call
        url = engine.url.render_as_string(hide_password=False)
        self.engine = create_database_engine(url, timeouts) if self.postgres else engine
        self._follow_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox-follow")
        self._catch_up_threads = ThreadPoolExecutor(
            CATCH_UP_THREADS, thread_name_prefix="outbox-catch-up"
        )

    def close(self) -> None:
        self._follow_thread.shutdown(wait=False, cancel_futures=True)
        self._catch_up_threads.shutdown(wait=False, cancel_futures=True)
        if self.postgres:
            self.engine.dispose()

    async def follow(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` on the follower's thread."""
        return await self._in(self._follow_thread, function, *args, **kwargs)

    async def read(self, after: int, types: frozenset[str], up_to: int) -> list[OutboxEvent]:
        """Events past ``after`` up to ``up_to`` of ``types``, for a subscription catching up."""
        return await self._in(
            self._catch_up_threads,
            outbox.read_after,
            self.engine,
            after,
            BATCH,
            sorted(types),
            up_to,
        )

    async def _in(
        self,
        threads: ThreadPoolExecutor,
        function: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        # On timeout the caller moves on, and the call's connections are broken, so its
        # thread ends now rather than whenever the database answers.
        held = HeldConnections()

        def call() -> T:
            with held:
                return function(*args, **kwargs)

        future = asyncio.get_running_loop().run_in_executor(threads, call)
        try:
            return await asyncio.wait_for(future, self.timeout)
        finally:
            held.abandon()  # nothing to do if the call finished
