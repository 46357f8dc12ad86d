"""Live events for every stream of one API process: one task follows the outbox and hands
each new event to every subscriber's own queue, so no subscriber ever waits on another."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from api.published.outbox_reader import OutboxReader
from api.published.subscription import (
    BATCH,
    DATABASE_TROUBLE,
    MAX_BACKOFF_SECONDS,
    Subscription,
)
from orderflow.database import outbox
from orderflow.database.outbox import OutboxEvent
from orderflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamOptions:
    """How the broadcaster follows the outbox and how a stream behaves (see Settings)."""

    heartbeat: float = 5.0
    queue_size: int = 1_000
    retry_ms: int = 1_000
    poll: float = 0.2
    safety_poll: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamOptions:
        return cls(
            heartbeat=settings.stream_heartbeat_seconds,
            queue_size=settings.stream_queue_size,
            retry_ms=settings.stream_retry_ms,
            poll=settings.stream_poll_seconds,
            safety_poll=settings.stream_safety_poll_seconds,
        )


class Broadcaster:
    """Follows the outbox for the whole process and fans new events out.

    Every event up to ``newest`` has been handed to every live subscription; reading and
    handing out happen in one step of the event loop, so a subscription that goes live
    at ``newest`` misses nothing and gets nothing twice. No lock is held across an await:
    a subscription that leaves simply drops out of a set.

    >>> broadcaster = Broadcaster(engine, StreamOptions())  # doctest: +SKIP
    >>> await broadcaster.start()  # doctest: +SKIP
    """

    def __init__(self, engine: Engine, options: StreamOptions) -> None:
        self.options = options
        self._reader = OutboxReader(engine)
        self._subscriptions: set[Subscription] = set()
        self._newest: int | None = None
        self._known = asyncio.Event()  # set once ``newest`` is known
        self._wake = asyncio.Event()
        self._listening = False
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def newest(self) -> int | None:
        """The position up to which every event has been handed out (None: not known yet)."""
        return self._newest

    async def wait_known(self) -> int | None:
        """``newest``, once the first read of the outbox has told it (None: closing)."""
        await self._known.wait()
        return None if self._closing else self._newest

    async def start(self) -> None:
        """Start following; the database need not be up (streams heartbeat until it is)."""
        self._tasks.append(asyncio.create_task(self._follow(), name="outbox-follow"))
        if self._reader.postgres:
            self._tasks.append(asyncio.create_task(self._listen(), name="outbox-listen"))

    async def close(self) -> None:
        """Stop following and end every stream (its client reconnects elsewhere)."""
        self._closing = True
        self._known.set()  # wakes subscriptions still waiting for the first position
        for subscription in list(self._subscriptions):
            subscription.end("closing")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._reader.close()

    def subscribe(self, *, after: int | None, types: Sequence[str] = ()) -> Subscription:
        """A subscription to the events past ``after`` (None: from now on), of ``types``
        (all if empty). It joins with its first ``next_batch`` and catches up from the
        database when it starts behind."""
        return Subscription(self, after, frozenset(types))

    def join(self, subscription: Subscription) -> None:
        if self._closing:
            subscription.end("closing")
        else:
            self._subscriptions.add(subscription)

    def leave(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    # Following the outbox.

    async def _follow(self) -> None:
        failures = 0
        while True:
            self._wake.clear()  # before reading: a wake-up during the read reads again
            try:
                await self._hand_out()
            except DATABASE_TROUBLE as error:
                failures += 1
                if failures == 1:
                    log.warning(
                        "live streams cannot read the outbox (%s): heartbeats only until "
                        "it is back",
                        type(error).__name__,
                    )
            except Exception:  # a bug must not end every stream of the process
                failures += 1
                log.exception("live streams: unexpected error while following the outbox")
            else:
                if failures:
                    log.warning("live streams read the outbox again")
                failures = 0
            interval = self.options.safety_poll if self._listening else self.options.poll
            if failures:
                interval = min(self.options.poll * 2**failures, MAX_BACKOFF_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def _hand_out(self) -> None:
        """Read what is new since ``newest`` and give it to every live subscription."""
        while True:
            if self._newest is None or not self._live():
                # Nobody to hand events to: learning the newest position is enough.
                latest = await self._reader.follow(outbox.newest_position, self._reader.engine)
                if self._newest is None or not self._live():  # nobody went live meanwhile
                    self._newest = max(self._newest or 0, latest)
                    self._known.set()
                    return
            after = self._newest
            events = await self._reader.follow(outbox.read_after, self._reader.engine, after, BATCH)
            for subscription in self._live():
                subscription.offer(events)
            if events:  # max: the listener may have moved it on while nobody was live
                self._newest = max(self._newest or 0, events[-1].position or after)
            if len(events) < BATCH:
                return

    def _live(self) -> list[Subscription]:
        return [s for s in self._subscriptions if s.live]

    async def _listen(self) -> None:
        """Wake the follower when PostgreSQL announces new events; reconnect when the
        connection fails. Without it the follower polls at the short interval."""
        failures = 0
        while True:
            try:
                positions = outbox.announced_positions(
                    self._reader.engine, timeout=self._reader.timeout
                )
                async with contextlib.aclosing(positions):
                    async for position in positions:
                        if not self._listening:
                            self._listening = True
                            failures = 0
                            log.info("live streams listen on %s", outbox.NOTIFY_CHANNEL)
                        if self._newest is not None and position <= self._newest:
                            continue
                        if self._newest is None or self._live():
                            self._wake.set()
                        else:  # nobody to hand events to: the announcement is enough
                            self._newest = position
            except DATABASE_TROUBLE as error:
                if self._listening or failures == 0:
                    log.warning(
                        "live streams lost LISTEN (%s): polling until it is back",
                        type(error).__name__,
                    )
            except Exception:
                log.exception("live streams: unexpected error while listening")
            self._listening = False
            failures += 1
            await asyncio.sleep(min(self.options.poll * 2**failures, MAX_BACKOFF_SECONDS))

    async def read(self, after: int, types: frozenset[str], up_to: int) -> list[OutboxEvent]:
        """Events past ``after`` up to ``up_to`` of ``types``, for a subscription catching up."""
        return await self._reader.read(after, types, up_to)
