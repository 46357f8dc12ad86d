"""/v1/orders/{id}/commands: what a client can do now, and doing it (a signal to the workflow)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request

from api.http.deps import (
    CallerDep,
    IdempotencyKey,
    LinksDep,
    OrdersDep,
    Prefer,
    require_scope,
    wants_async,
)
from api.http.hal import HalResponse, hal, hal_operation, links
from api.http.links import Links
from api.http.params import CommandIdPath, IdPath, repeated
from api.http.problems import domain_problem, problem_responses
from api.orders.event_models import EventResource
from api.orders.models import (
    CommandAccepted,
    CommandOutcomeResource,
    CommandsResource,
    OrderResource,
    OutcomeParts,
)
from api.orders.outcomes import CommandPending, CommandRequest, decided
from orderflow.errors import DomainError, InvalidInput, UnknownCommand
from workflows.order_machine import (
    COMMANDS,
    Command,
    ParameterValue,
    parse_parameters,
)
from workflows.order_types import CommandResult

router = APIRouter(prefix="/v1/orders/{order_id}/commands", tags=["commands"])


@router.get(
    "",
    **hal_operation(
        "List the commands valid now",
        CommandsResource,
        {
            200: hal(CommandsResource, "The commands valid now"),
            **problem_responses(404, 503),
        },
        dependencies=[require_scope("orders:read")],
    ),
)
async def read_commands(order_id: IdPath, orders: OrdersDep, to: LinksDep) -> HalResponse:
    """The commands valid in the order's current status, as (templated) links."""
    return HalResponse(CommandsResource.of(order_id, await orders.commands(order_id), to))


async def _command(command: str) -> Command:
    try:
        return COMMANDS[command]
    except KeyError:
        raise UnknownCommand(command, list(COMMANDS)) from None


_COMMAND_DOC = """Send a command to the order. Parameters go in the query string
(`assignOrder?restaurantId=101`). The answer never lies:

- **200** applied: the order now.
- **409** refused: the detail names the status and the commands allowed in it.
- **202** recorded, outcome not known within `ORDER_COMMAND_WAIT_SECONDS`: `Location` is the
  command's outcome resource (pending, then applied or refused). With
  `Prefer: respond-async`, 202 as soon as it is recorded, `Location` the order.
- **429** nothing was recorded: the order receives commands faster than it accepts them
  (`ORDER_COMMANDS_PER_SECOND`, bursts of `ORDER_COMMAND_BURST`); retry after `Retry-After`
  seconds. A retry (same `Idempotency-Key`) of a command the order has already decided
  sends nothing and is answered from its outcome instead.
- **503** nothing was recorded: Temporal is unreachable, or did not answer in time.
  Retrying is safe with the same `Idempotency-Key` (a retry returns the first outcome).
"""
_COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: hal(OrderResource, "The command was applied: the order now"),
    202: hal(
        CommandAccepted,
        "Recorded, outcome not known yet: Location is its outcome resource "
        "(with Prefer: respond-async, the order)",
    ),
    **problem_responses(404, 409, 422, 429, 503),
}


_WRITE = [require_scope("orders:write")]


@router.put(
    "/{command}",
    **hal_operation(
        "Run a command",
        OrderResource,
        _COMMAND_RESPONSES,
        description=_COMMAND_DOC,
        dependencies=_WRITE,
    ),
)
@router.post(
    "/{command}",
    **hal_operation(
        "Run a command (POST works as PUT)",
        OrderResource,
        _COMMAND_RESPONSES,
        description=_COMMAND_DOC,
        dependencies=_WRITE,
    ),
)
async def run_command(
    order_id: IdPath,
    request: Request,
    orders: OrdersDep,
    to: LinksDep,
    caller: CallerDep,
    spec: Command = Depends(_command),  # noqa: B008  (FastAPI's way to resolve a path part)
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
) -> HalResponse:
    """Run a command on the order."""
    params = checked_parameters(spec, query_parameters(spec, request))
    command = CommandRequest.of(
        order_id, spec, params, idempotency_key=idempotency_key, actor=caller.name
    )
    if wants_async(prefer):
        await orders.submit(command)
        return accepted(order_id, command.command_id, to, location=to.order(order_id))
    result = await orders.run(command)
    if isinstance(result, CommandPending):
        return accepted(order_id, command.command_id, to)
    return HalResponse(OrderResource.of(result.order, to))


def query_parameters(spec: Command, request: Request) -> dict[str, str]:
    """The query string's parameters, each given once (the state machine reads the texts
    strictly: no ``1_0``, ``inf`` or ``0x10``)."""
    errors = [(name, "must be given once") for name in repeated(request)]
    if errors:
        raise InvalidInput(errors)
    return dict(request.query_params)


def checked_parameters(spec: Command, raw: Mapping[str, Any]) -> dict[str, ParameterValue]:
    """The command's parameters in their domains, or InvalidInput naming each bad one."""
    params, errors = parse_parameters(spec, dict(raw))
    if errors:
        raise InvalidInput([(e.name, e.reason) for e in errors])
    return params


def accepted(
    order_id: int, command_id: str, to: Links, *, location: str | None = None
) -> HalResponse:
    """202: recorded, outcome not known yet. Location is the command's outcome resource, or
    (Prefer: respond-async, where the client asked not to wait) the order."""
    headers = {"Location": location or to.outcome(order_id, command_id), "Retry-After": "1"}
    if location is not None:
        headers["Preference-Applied"] = "respond-async"
    return HalResponse(CommandAccepted.of(order_id, command_id, to), 202, headers=headers)


outcomes = APIRouter(prefix="/v1/orders/{order_id}/outcomes", tags=["commands"])


@outcomes.get(
    "/{command_id}",
    **hal_operation(
        "What became of a command",
        CommandOutcomeResource,
        {
            200: hal(CommandOutcomeResource, "Pending, applied or refused"),
            **problem_responses(404, 503),
        },
        # Whoever sent the command may follow its 202 here, and so may a reader.
        dependencies=[require_scope("orders:read", "orders:write")],
    ),
)
async def read_outcome(
    order_id: IdPath, command_id: CommandIdPath, orders: OrdersDep, to: LinksDep
) -> HalResponse:
    """The outcome of a command by its id (its Idempotency-Key, or the id a 202 named):
    pending until the order has decided it, then applied or refused. An order remembers
    the outcomes of its most recent commands (ORDER_REMEMBERED_COMMAND_OUTCOMES)."""
    found = await orders.outcome(order_id, command_id)
    self_links = links(self=to.outcome(order_id, command_id), order=to.order(order_id))
    if isinstance(found, CommandPending):
        pending = CommandOutcomeResource(
            order_id=order_id, command_id=command_id, status="pending", links=self_links
        )
        return HalResponse(pending, headers={"Retry-After": "1"})
    outcome = found.outcome
    event = EventResource.of(found.event, to) if found.event is not None else None
    resource = CommandOutcomeResource(
        order_id=order_id,
        command_id=command_id,
        command=outcome.command,
        status="applied" if outcome.refusal is None else "refused",
        refusal=_refusal_kind(order_id, found) if outcome.refusal is not None else None,
        detail=outcome.detail or None,
        embedded=OutcomeParts(order=OrderResource.of(found.order, to), event=event),
        links=self_links,
    )
    return HalResponse(resource)


def _refusal_kind(order_id: int, result: CommandResult) -> str:
    """The problem type the command was (or would have been) answered with."""
    try:
        decided(order_id, COMMANDS[result.outcome.command], result.outcome.parameters, result)
    except DomainError as error:
        return domain_problem(error).kind
    return ""
