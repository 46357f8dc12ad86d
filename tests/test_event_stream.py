"""The live stream (/v1/events/stream) under churn: subscribers that leave, come back with
Last-Event-ID, or stop reading never hold up one another."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from orderflow.database.engine import create_database_engine
from orderflow.database.outbox import append_new, new_event, read_after
from orderflow.settings import Settings
from tests.helpers import eventually, isolated_settings, running_api

HEARTBEAT = 0.3


@dataclass
class Frame:
    """One SSE frame: an event (with its position), a comment, or a retry hint."""

    position: int | None = None
    type: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None
    retry: int | None = None


async def frames(response: httpx.Response) -> AsyncIterator[Frame]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield Frame(comment=line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif fields:
            yield Frame(
                position=int(fields["id"]) if "id" in fields else None,
                type=fields.get("event"),
                data=json.loads(fields["data"]) if "data" in fields else None,
                retry=int(fields["retry"]) if "retry" in fields else None,
            )
            fields = {}


@dataclass
class Subscriber:
    """Reads the stream in the background, remembering what arrived."""

    http: httpx.AsyncClient
    params: dict[str, Any] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)
    heartbeats: int = 0
    retries: list[int] = field(default_factory=list)
    ended: bool = False

    async def run(
        self, *, leave_after: int | None = None, last_event_id: int | None = None
    ) -> None:
        """Read until the stream ends, or until ``leave_after`` events have arrived."""
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        async with self.http.stream(
            "GET", "/v1/events/stream", params=self.params, headers=headers
        ) as response:
            assert response.status_code == 200
            seen = 0
            async for frame in frames(response):
                if frame.comment is not None:
                    self.heartbeats += 1
                if frame.retry is not None:
                    self.retries.append(frame.retry)
                if frame.position is not None:
                    self.positions.append(frame.position)
                    seen += 1
                    if seen == leave_after:
                        return
        self.ended = True


def publish(engine: Engine, count: int, *, per_transaction: int = 1) -> None:
    """Append ``count`` events to the outbox, as the activities do."""
    run = uuid.uuid4().hex[:8]
    for first in range(0, count, per_transaction):
        with Session(engine) as session:
            batch = [
                new_event(
                    event_id=f"stream-{run}-{n}",
                    type="CustomerUpdated",
                    source=f"/v1/customers/{n + 1}",
                    subject=str(n + 1),
                    data={"customerId": n + 1, "n": n},
                )
                for n in range(first, min(first + per_transaction, count))
            ]
            append_new(session, batch)
            session.commit()


@contextmanager
def outbox_engine(url: str) -> Iterator[Engine]:
    engine = create_database_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@asynccontextmanager
async def stream_api(
    settings: Settings, url: str, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    own = isolated_settings(
        settings, database_url=url, stream_heartbeat_seconds=HEARTBEAT, **changes
    )
    async with running_api(own) as http:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=http.base_url, timeout=30, limits=limits) as client:
            yield client


def positions(engine: Engine, after: int = 0) -> list[int]:
    return [e.position or 0 for e in read_after(engine, after, 100_000)]


@pytest.fixture
def engine(own_postgres_url: str) -> Iterator[Engine]:
    with outbox_engine(own_postgres_url) as engine:
        yield engine


async def test_leaving_right_after_an_event_does_not_stall_the_others(
    settings: Settings, own_postgres_url: str, engine: Engine
) -> None:
    async with stream_api(settings, own_postgres_url) as http:
        stayers = [Subscriber(http, {"after": 0}) for _ in range(10)]
        staying = [asyncio.create_task(s.run()) for s in stayers]
        try:
            await rounds(engine, http, stayers)
        finally:
            for task in staying:
                task.cancel()
            await asyncio.gather(*staying, return_exceptions=True)


async def rounds(engine: Engine, http: httpx.AsyncClient, stayers: list[Subscriber]) -> None:
    for round in range(3):
        start = positions(engine)[-1] if round else 0
        leavers = [Subscriber(http, {"after": start}) for _ in range(10)]
        leaving = [asyncio.create_task(s.run(leave_after=1)) for s in leavers]
        await asyncio.to_thread(publish, engine, 1)
        await asyncio.wait_for(asyncio.gather(*leaving), timeout=10)
        # The ones that stayed get the next event, and heartbeats meanwhile.
        beats = [s.heartbeats for s in stayers]
        await asyncio.to_thread(publish, engine, 1)
        expected = positions(engine)

        async def all_delivered(expected: list[int] = expected) -> None:
            for stayer in stayers:
                assert stayer.positions == expected

        await eventually(all_delivered, timeout=10)

        async def heartbeats(beats: list[int] = beats) -> None:
            for stayer, before in zip(stayers, beats, strict=True):
                assert stayer.heartbeats >= before + 2

        await eventually(heartbeats, timeout=10)
