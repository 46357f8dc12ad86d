"""/v1/events: every published event (customers and orders) as a durable, ordered feed, and
live as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.http.deps import EngineDep, LinksDep, require_scope
from api.http.hal import HalResponse, hal_operation, link, links
from api.http.links import Links
from api.http.params import EventTypeName, PageSize, Position
from api.http.problems import problem_responses
from api.published.broadcast import Broadcaster
from api.published.models import CloudEvent, EventList, FeedPage
from api.published.subscription import StreamClosed, Subscription
from orderflow.database import outbox
from orderflow.database.calls import in_database
from orderflow.database.outbox import OutboxEvent

router = APIRouter(
    prefix="/v1/events",
    tags=["published events"],
    dependencies=[require_scope("events:read")],
)

_POSITION = re.compile(r"[0-9]{1,18}")
Types = Annotated[list[str], Query(alias="type", description="Only these types (repeatable)")]


@router.get("", **hal_operation("The published events feed", FeedPage, problem_responses(422, 503)))
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
    to: LinksDep,
    types: Types = [],  # noqa: B006
    after: Annotated[int | None, Query(ge=0, description="Start after this position")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Each event as it is published: `id` is its feed position, so a reconnecting client
    (browsers do it by themselves) resumes after the last one it saw. Without either, the
    stream starts with what is published from now on. A comment line comes when nothing
    else has for a few seconds; a client that falls too far behind is told to reconnect."""
    if last_event_id is not None and _POSITION.fullmatch(last_event_id):
        cursor: int | None = int(last_event_id)
    else:
        cursor = after
    broadcaster: Broadcaster = request.app.state.broadcaster
    return EventStream(broadcaster.subscribe(after=cursor, types=types), to)


class EventStream(Response):
    """A subscription as ``text/event-stream``, until the client leaves or the subscription
    ends (then with a ``retry`` hint, so the client resumes with Last-Event-ID)."""

    media_type = "text/event-stream"

    def __init__(self, subscription: Subscription, to: Links) -> None:
        self.subscription = subscription
        self.to = to
        self.options = subscription.options
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Two tasks: one writes, one notices the client leaving while the writer waits for
        # events or for the client to read what was written.
        writer = asyncio.create_task(self._write(send))
        gone = asyncio.create_task(_disconnected(receive))
        try:
            await asyncio.wait({writer, gone}, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():
                writer.result()  # a failure is the server's to log, not to swallow
        finally:
            self.subscription.close()
            writer.cancel()
            gone.cancel()
            await asyncio.gather(writer, gone, return_exceptions=True)

    async def _write(self, send: Send) -> None:
        async def body(text: str, *, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": text.encode(), "more_body": more})

        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        await body(f"retry: {self.options.retry_ms}\n\n")
        pending: asyncio.Task[list[OutboxEvent]] | None = None
        try:
            while True:
                # The next events are awaited across heartbeats, never abandoned mid-read.
                pending = pending or asyncio.create_task(self.subscription.next_batch())
                done, _ = await asyncio.wait({pending}, timeout=self.options.heartbeat)
                if not done:
                    await body(": keep-alive\n\n")
                    continue
                try:
                    events = pending.result()
                except StreamClosed as closed:
                    note = "fell behind" if closed.reason == "behind" else "closing"
                    await body(f": {note}\nretry: {self.options.retry_ms}\n\n", more=False)
                    return
                finally:
                    pending = None
                await body("".join(_frame(event, self.to) for event in events))
        finally:
            if pending is not None:
                pending.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Frames:
    """Frames of recent events, each rendered once for all the streams that send it: the
    broadcaster hands the same event objects to every subscriber (a cached frame holds
    its event, so the object's id is not reused while it is in here)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._frames: dict[int, tuple[OutboxEvent, str, str]] = {}

    def __call__(self, event: OutboxEvent, to: Links) -> str:
        cached = self._frames.get(id(event))
        if cached is not None and cached[0] is event and cached[1] == to.base:
            return cached[2]
        data = CloudEvent.of(event, to).model_dump_json(exclude_none=True)
        frame = f"id: {event.position}\nevent: {event.type}\ndata: {data}\n\n"
        self._frames[id(event)] = (event, to.base, frame)
        if len(self._frames) > self._size:
            del self._frames[next(iter(self._frames))]  # the oldest
        return frame


_frame = _Frames()
