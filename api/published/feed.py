"""/v1/events: every published event (customers and orders) as a durable, ordered feed, and
live as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.http.deps import EngineDep, LinksDep
from api.http.hal import HalResponse, cloud_event, page_links
from api.http.links import Links
from api.orders.models import problem_responses
from orderflow.database import outbox
from orderflow.database.calls import in_database

router = APIRouter(prefix="/v1/events", tags=["published events"])
log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
BATCH = 200
Types = Annotated[list[str], Query(alias="type", description="Only these types (repeatable)")]


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


@router.get(
    "",
    summary="The published events feed",
    response_class=HalResponse,
    responses=problem_responses(422, 503),
)
async def read_feed(
    engine: EngineDep,
    links: LinksDep,
    after: Annotated[int, Query(ge=0, description="The position to read after")] = 0,
    types: Types = [],  # noqa: B006  (FastAPI reads a fresh default per request)
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HalResponse:
    """Events in the order they were committed, as CloudEvents 1.0. Follow `next` to read
    on; it is always there, so a client can poll it for events still to come."""
    events = await in_database(outbox.read_after, engine, after, limit, types)
    cursor = events[-1].position if events else after
    body = {
        "_embedded": {"events": [cloud_event(e, links) for e in events]},
        "_links": page_links(
            links.feed(after=after, type=types or None, limit=limit),
            links.feed(after=cursor, type=types or None, limit=limit),
            stream=links.feed_stream(type=types or None),
        ),
    }
    return HalResponse(body)


@router.get(
    "/stream",
    summary="Live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    engine: EngineDep,
    links: LinksDep,
    types: Types = [],  # noqa: B006
    after: Annotated[int | None, Query(ge=0, description="Start after this position")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Each event as it is published: `id` is its feed position, so a reconnecting client
    (browsers do it by themselves) resumes after the last one it saw. Without either, the
    stream starts with what is published from now on."""
    if last_event_id is not None and last_event_id.isdigit():
        cursor = int(last_event_id)
    elif after is not None:
        cursor = after
    else:
        cursor = await in_database(outbox.newest_position, engine)
    watch: OutboxWatch = request.app.state.outbox_watch
    generator = _events(request, engine, watch, links, cursor, types)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generator, media_type="text/event-stream", headers=headers)


async def _events(
    request: Request,
    engine: Engine,
    watch: OutboxWatch,
    links: Links,
    cursor: int,
    types: list[str],
) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    while not await request.is_disconnected():
        try:
            # Read up to a position known first, so the cursor can move past events the
            # type filter skips (commit order equals position order: see outbox.append_new).
            newest = await asyncio.to_thread(outbox.newest_position, engine)
            events = await asyncio.to_thread(
                outbox.read_after, engine, cursor, BATCH, types, newest
            )
        except OperationalError:
            newest, events = cursor, []
        for event in events:
            assert event.position is not None
            data = json.dumps(cloud_event(event, links), separators=(",", ":"))
            yield f"id: {event.position}\nevent: {event.type}\ndata: {data}\n\n"
        if len(events) == BATCH:
            cursor = events[-1].position or cursor
            continue
        cursor = max(cursor, newest)
        if not await watch.wait_past(cursor, HEARTBEAT_SECONDS):
            yield ": keep-alive\n\n"
