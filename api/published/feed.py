"""/v1/events: every published event (customers and orders) as a durable, ordered feed, and
live as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.http.deps import EngineDep, LinksDep
from api.http.hal import HalResponse, link, links
from api.http.links import Links
from api.http.params import EventTypeName, PageSize, Position
from api.http.problems import problem_responses
from api.published.broadcast import OutboxWatch
from api.published.models import CloudEvent, EventList, FeedPage
from orderflow.database import outbox
from orderflow.database.calls import in_database

router = APIRouter(prefix="/v1/events", tags=["published events"])
log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
BATCH = 200
Types = Annotated[list[str], Query(alias="type", description="Only these types (repeatable)")]


@router.get(
    "",
    summary="The published events feed",
    response_class=HalResponse,
    response_model=FeedPage,
    responses=problem_responses(422, 503),
)
async def read_feed(
    engine: EngineDep,
    to: LinksDep,
    after: Annotated[Position, Query(description="The position to read after")] = 0,
    types: Annotated[
        list[EventTypeName], Query(alias="type", description="Only these types (repeatable)")
    ] = [],  # noqa: B006  (FastAPI reads a fresh default per request)
    limit: PageSize = 100,
) -> HalResponse:
    """Events in the order they were committed, as CloudEvents 1.0. Follow `next` to read
    on; it is always there, so a client can poll it for events still to come."""
    events = await in_database(outbox.read_after, engine, after, limit, types)
    cursor = events[-1].position if events else after
    feed_links = links(
        self=to.feed(after=after, type=types or None, limit=limit),
        next=to.feed(after=cursor, type=types or None, limit=limit),
        stream=link(to.feed_stream(type=types or None), type="text/event-stream"),
    )
    items = [CloudEvent.of(event, to) for event in events]
    return HalResponse(FeedPage(embedded=EventList(events=items), links=feed_links))


@router.get(
    "/stream",
    summary="Live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    engine: EngineDep,
    to: LinksDep,
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
    generator = _events(request, engine, watch, to, cursor, types)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generator, media_type="text/event-stream", headers=headers)


async def _events(
    request: Request,
    engine: Engine,
    watch: OutboxWatch,
    to: Links,
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
            data = CloudEvent.of(event, to).model_dump_json()
            yield f"id: {event.position}\nevent: {event.type}\ndata: {data}\n\n"
        if len(events) == BATCH:
            cursor = events[-1].position or cursor
            continue
        cursor = max(cursor, newest)
        if not await watch.wait_past(cursor, HEARTBEAT_SECONDS):
            yield ": keep-alive\n\n"
