"""New events for live streams: one watch of the outbox per API process, however many
subscribers wait on it."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from orderflow.database import outbox


class OutboxWatch:
    """One poll of the outbox's newest position for the whole process, however many
    subscribers wait on it: they sleep until it moves."""

    def __init__(self, engine: Engine, interval: float = 0.1) -> None:
        self._engine = engine
        self._interval = interval
        self._changed = asyncio.Condition()
        self._newest = 0
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None

    async def wait_past(self, position: int, timeout: float) -> bool:
        """Whether the outbox has an event past ``position`` within ``timeout`` seconds."""
        async with self._changed:
            self._subscribers += 1
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._poll())
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._newest > position), timeout
                )
            except TimeoutError:
                return False
            finally:
                self._subscribers -= 1
            return True

    async def _poll(self) -> None:
        while self._subscribers > 0:
            try:
                latest = await asyncio.to_thread(outbox.newest_position, self._engine)
            except OperationalError:
                latest = self._newest  # the database is away: subscribers get heartbeats
            if latest != self._newest:
                async with self._changed:
                    self._newest = latest
                    self._changed.notify_all()
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
