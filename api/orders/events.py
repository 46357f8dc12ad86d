"""/v1/orders/{id}/events: the order's event log, one event, and appending a domain event."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from activities.order_activities import order_event_id
from api.http.database import in_database
from api.http.deps import EngineDep, GatewayDep, IdempotencyKey, LinksDep
from api.http.hal import HalResponse, event_resource, numbered_page
from api.http.problems import Problem, invalid_parameters, not_found
from api.orders import archive as order_archive
from api.orders.commands import execute
from api.orders.models import EventAppend, EventDoc, PageDoc, hal_response, problem_responses
from orderflow.database import outbox
from workflows.order_machine import COMMAND_BY_EVENT_TYPE, parse_parameters
from workflows.order_types import EventsPage, OrderEvent

router = APIRouter(prefix="/v1/orders/{order_id}/events", tags=["events"])


@router.get(
    "",
    summary="Read the event log",
    response_class=HalResponse,
    responses={
        200: hal_response(PageDoc, "A page of the event log"),
        **problem_responses(404, 503),
    },
)
async def list_events(
    order_id: int,
    gateway: GatewayDep,
    engine: EngineDep,
    links: LinksDep,
    page: Annotated[int, Query(ge=0, description="Page number, from 0")] = 0,
    size: Annotated[int, Query(ge=1, le=500)] = 20,
) -> HalResponse:
    """The order's events, oldest first, however long the order has lived: events its
    workflow has trimmed after continue-as-new are read from the outbox."""
    offset = page * size
    try:
        result = await gateway.events(order_id, offset, size)
    except Problem as problem:
        if problem.status != 404:
            raise
        # Temporal has let the closed order go: its published events are all there is.
        events, total = await order_archive.archived_events(engine, order_id, offset, size)
        if total == 0:
            raise
        result = EventsPage(events, total)
    events = result.events
    trimmed = result.first_kept - 1  # events at positions below this are in the outbox only
    if offset < trimmed:
        older, _ = await order_archive.archived_events(
            engine, order_id, offset, min(size, trimmed - offset)
        )
        events = older + events
    body = numbered_page(
        "orderEventList",
        [event_resource(e, links) for e in events],
        total=result.total,
        page=page,
        size=size,
        href=lambda number: links.events(order_id, page=number, size=size),
        order=links.order(order_id),
    )
    return HalResponse(body)


@router.get(
    "/{event_id}",
    summary="Read one event",
    response_class=HalResponse,
    responses={200: hal_response(EventDoc, "The event"), **problem_responses(404, 503)},
)
async def read_event(
    order_id: int, event_id: int, gateway: GatewayDep, engine: EngineDep, links: LinksDep
) -> HalResponse:
    """One event of the order's log."""
    try:
        event = await gateway.event(order_id, event_id)
    except Problem as problem:
        if problem.status != 404 or await order_archive.archived_order(engine, order_id) is None:
            raise
        event = None  # a closed order Temporal has let go: the outbox has its events
    if event is None and event_id > 0:  # maybe trimmed from the workflow: the outbox has it
        row = await in_database(outbox.read_one, engine, order_event_id(order_id, event_id))
        event = OrderEvent.from_public(row.data) if row is not None else None
    if event is None:
        raise not_found(f"order {order_id} has no event {event_id}")
    return HalResponse(event_resource(event, links))


@router.post(
    "",
    summary="Append a domain event",
    status_code=201,
    response_class=HalResponse,
    responses={
        201: hal_response(EventDoc, "The appended event"),
        **problem_responses(400, 404, 409, 422, 503),
    },
)
async def append_event(
    order_id: int,
    body: EventAppend,
    gateway: GatewayDep,
    engine: EngineDep,
    links: LinksDep,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Append a domain event directly; the state machine checks it like the matching command."""
    spec = COMMAND_BY_EVENT_TYPE.get(body.type)
    if spec is None:
        raise Problem(
            422,
            "invalid-parameter",
            f"{body.type} events cannot be appended",
            errors=[{"name": "type", "reason": "is not an event a command produces"}],
        )
    params, errors = parse_parameters(spec, body.parameters())
    if errors:
        raise invalid_parameters([(e.name, e.reason) for e in errors])
    try:
        result = await execute(
            gateway, order_id, spec, idempotency_key or str(uuid.uuid4()), params
        )
    except Problem as problem:
        raise await order_archive.closed_instead(problem, engine, order_id) from None
    assert result.event is not None
    resource = event_resource(result.event, links)
    return HalResponse(resource, 201, headers={"Location": resource["_links"]["self"]["href"]})
