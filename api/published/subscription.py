"""One live stream's side of the broadcaster: its events in position order, each once,
first caught up from the database, then from its own bounded queue."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from orderflow.database.outbox import OutboxEvent

if TYPE_CHECKING:
    from api.published.broadcast import Broadcaster

BATCH = 500
MAX_BACKOFF_SECONDS = 5.0
# A database that is away, slow or gone: the broadcaster and the streams carry on with
# heartbeats and try again (DBAPI and pool errors are SQLAlchemyErrors).
DATABASE_TROUBLE = (SQLAlchemyError, psycopg.Error, OSError, TimeoutError)

Reason = Literal["behind", "closing"]


class StreamClosed(Exception):
    """The stream ends: its subscriber fell too far behind, or the API is stopping. Either
    way the client reconnects with Last-Event-ID and loses nothing."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One stream's events, in position order, each once: first caught up from the
    database when it starts behind, then live from its own bounded queue."""

    def __init__(self, broadcaster: Broadcaster, after: int | None, types: frozenset[str]):
        self._broadcaster = broadcaster
        self.options = broadcaster.options
        self.cursor = after  # the last position delivered (or known to be of no interest)
        self.types = types
        self.live = False
        self.ended: Reason | None = None
        self._joined = False
        self._queue: asyncio.Queue[OutboxEvent | None] = asyncio.Queue()

    async def next_batch(self) -> list[OutboxEvent]:
        """The next events past the cursor, oldest first (waits until there are some).

        Raises StreamClosed once the subscription has ended.
        """
        if not self._joined:
            self._joined = True
            self._broadcaster.join(self)
        failures = 0
        while True:
            if self.ended is not None:
                raise StreamClosed(self.ended)
            if self.live:
                batch = await self._from_queue()
            else:
                try:
                    batch = await self._catch_up()
                except DATABASE_TROUBLE:
                    failures += 1
                    delay = self.options.poll * 2**failures
                    await asyncio.sleep(min(delay, MAX_BACKOFF_SECONDS))
                    continue
                failures = 0
            if batch:
                return batch

    async def _catch_up(self) -> list[OutboxEvent]:
        broadcaster = self._broadcaster
        newest = await broadcaster.wait_known()
        if self.ended is not None or newest is None:
            return []
        if self.cursor is None:
            self.cursor = newest
        if self.cursor >= newest:
            # In the same step as the check: from here on the broadcaster hands it every
            # event past ``newest``; anything up to the cursor it filters out.
            self.live = True
            return []
        events = await broadcaster.read(self.cursor, self.types, newest)
        if events:
            self.cursor = events[-1].position
        if len(events) < BATCH:
            self.cursor = newest  # the rest up to ``newest`` is not of these types
        return events

    async def _from_queue(self) -> list[OutboxEvent]:
        first = await self._queue.get()
        batch = [first]
        while len(batch) < BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        # Events up to the cursor went out while catching up (or were skipped by Last-Event-ID).
        cursor = self.cursor or 0
        fresh = [e for e in batch if e is not None and (e.position or 0) > cursor]
        if fresh:
            self.cursor = fresh[-1].position
        return fresh

    def offer(self, events: Sequence[OutboxEvent]) -> None:
        """Queue the events of its types. A subscriber that has not taken what was queued
        before is ended instead of holding anything up (it resumes from the database after
        reconnecting); a burst alone does not end it, so a queue holds at most
        ``queue_size`` + BATCH events."""
        if self._queue.qsize() >= self.options.queue_size:
            self.end("behind")
            return
        for event in events:
            if not self.types or event.type in self.types:
                self._queue.put_nowait(event)

    def end(self, reason: Reason) -> None:
        """Leave the broadcaster (idempotent); a waiting ``next_batch`` raises StreamClosed."""
        self._broadcaster.leave(self)
        self.live = False
        if self.ended is None:
            self.ended = reason
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    def close(self) -> None:
        """The stream is over (its client left): stop receiving events, for good."""
        self._joined = True
        self._broadcaster.leave(self)
        self.live = False
