"""A live-stream client for the tests: SSE frames read off /v1/events/stream, subscribers
that remember what arrived across reconnections, and events appended to the outbox as the
activities append them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from orderflow.database.outbox import append_new, new_event, read_after
from orderflow.settings import Settings
from tests.helpers import isolated_settings, running_api

HEARTBEAT = 0.3
TYPES = ("CustomerRegistered", "CustomerUpdated")


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
    """Reads the stream, remembering what arrived (across reconnections)."""

    http: httpx.AsyncClient
    params: dict[str, Any] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)
    heartbeats: int = 0
    retries: list[int] = field(default_factory=list)
    ended: bool = False

    async def run(self, *, leave_after: int | None = None, resume: bool = False) -> None:
        """Read until the stream ends, or until ``leave_after`` events have arrived; with
        ``resume``, reconnect as a browser does: same URL, Last-Event-ID."""
        headers = {"Last-Event-ID": str(self.positions[-1])} if resume and self.positions else {}
        async with self.http.stream(
            "GET", "/v1/events/stream", params=self.params, headers=headers
        ) as response:
            assert response.status_code == 200
            await self.read(response, leave_after=leave_after)

    async def read(self, response: httpx.Response, *, leave_after: int | None = None) -> None:
        seen = 0
        with contextlib.suppress(httpx.RemoteProtocolError):  # cut by a stopping server
            async for frame in frames(response):
                self.heartbeats += frame.comment == "keep-alive"
                if frame.retry is not None:
                    self.retries.append(frame.retry)
                if frame.position is not None:
                    self.positions.append(frame.position)
                    seen += 1
                    if seen == leave_after:
                        return
        self.ended = True


def publish(engine: Engine, count: int, *, per_transaction: int = 1, padding: int = 0) -> None:
    """Append ``count`` events to the outbox as the activities do, types alternating."""
    run = uuid.uuid4().hex[:8]
    for first in range(0, count, per_transaction):
        with Session(engine) as session:
            batch = [
                new_event(
                    event_id=f"stream-{run}-{n}",
                    type=TYPES[n % 2],
                    source=f"/v1/customers/{n + 1}",
                    subject=str(n + 1),
                    data={"customerId": n + 1, "padding": "x" * padding},
                )
                for n in range(first, min(first + per_transaction, count))
            ]
            append_new(session, batch)
            session.commit()


def published(engine: Engine, *types: str) -> list[int]:
    return [e.position or 0 for e in read_after(engine, 0, 100_000, types)]


@asynccontextmanager
async def stream_api(
    settings: Settings, url: str, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on database ``url`` with short heartbeats, and a client without a limit on
    connections; the client outlives the API, so the API stops with streams still open."""
    own = isolated_settings(
        settings, database_url=url, stream_heartbeat_seconds=HEARTBEAT, **changes
    )
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async with running_api(own) as http:
            client.base_url = http.base_url
            yield client


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def has(subscriber: Subscriber, count: int, expected: list[int] | None = None) -> None:
    assert len(subscriber.positions) == count
    assert expected is None or subscriber.positions == expected


async def has_beaten(subscriber: Subscriber, count: int) -> None:
    assert subscriber.heartbeats >= count


async def stream_until_erased(
    http: httpx.AsyncClient, after: int, customer_id: int
) -> list[dict[str, Any]]:
    """Every event the live stream replays after position ``after``, up to this customer's
    CustomerErased."""
    seen: list[dict[str, Any]] = []
    async with http.stream("GET", "/v1/events/stream", params={"after": after}) as response:
        assert response.status_code == 200
        async for frame in frames(response):
            if frame.data is None:
                continue
            seen.append(frame.data)
            erased = frame.type == "CustomerErased"
            if erased and frame.data["data"]["customerId"] == customer_id:
                return seen
    raise AssertionError("the stream ended before CustomerErased")
