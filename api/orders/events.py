"""/v1/orders/{id}/events: the order's event log, one event, and appending a domain event."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import CallerDep, IdempotencyKey, LinksDep, OrdersDep, require_scope
from api.http.hal import HalResponse, created, hal, hal_operation
from api.http.params import IdPath, PagingDep
from api.http.problems import problem_responses
from api.orders.commands import accepted, checked_parameters
from api.orders.event_models import EventAppend, EventResource
from api.orders.models import CommandAccepted, EventPage
from api.orders.outcomes import CommandPending, CommandRequest
from orderflow.errors import InvalidInput
from workflows.order_machine import COMMAND_BY_EVENT_TYPE

router = APIRouter(prefix="/v1/orders/{order_id}/events", tags=["events"])


@router.get(
    "",
    **hal_operation(
        "Read the event log",
        EventPage,
        {
            200: hal(EventPage, "A page of the event log"),
            **problem_responses(404, 503),
        },
        dependencies=[require_scope("orders:read")],
    ),
)
async def list_events(
    order_id: IdPath, orders: OrdersDep, to: LinksDep, at: PagingDep
) -> HalResponse:
    """The order's events, oldest first, however long the order has lived: events its
    workflow has trimmed after continue-as-new are read from the outbox."""
    found = await orders.events(order_id, at.offset, at.size)
    return HalResponse(EventPage.of(order_id, found.events, total=found.total, at=at, to=to))


@router.get(
    "/{event_id}",
    **hal_operation(
        "Read one event",
        EventResource,
        {200: hal(EventResource, "The event"), **problem_responses(404, 503)},
        dependencies=[require_scope("orders:read")],
    ),
)
async def read_event(
    order_id: IdPath, event_id: IdPath, orders: OrdersDep, to: LinksDep
) -> HalResponse:
    """One event of the order's log."""
    return HalResponse(EventResource.of(await orders.event(order_id, event_id), to))


@router.post(
    "",
    **hal_operation(
        "Append a domain event",
        EventResource,
        {
            201: hal(EventResource, "The appended event"),
            202: hal(CommandAccepted, "Recorded, outcome not known yet: see Location"),
            **problem_responses(400, 404, 409, 422, 429, 503),
        },
        status_code=201,
        dependencies=[require_scope("orders:write")],
    ),
)
async def append_event(
    order_id: IdPath,
    body: EventAppend,
    orders: OrdersDep,
    to: LinksDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Append a domain event directly; the state machine checks it like the matching command."""
    spec = COMMAND_BY_EVENT_TYPE.get(body.type)
    if spec is None:
        raise InvalidInput(
            [("type", "is not an event a command produces")],
            detail=f"{body.type} events cannot be appended",
        )
    params = checked_parameters(spec, body.parameters())
    command = CommandRequest.of(
        order_id, spec, params, idempotency_key=idempotency_key, actor=caller.name
    )
    result = await orders.run(command)
    if isinstance(result, CommandPending):
        return accepted(order_id, command.command_id, to)
    assert result.event is not None
    return created(EventResource.of(result.event, to))
