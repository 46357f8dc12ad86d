"""/v1/orders/{id}/commands: what a client can do now, and doing it (a signal to the workflow)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request

from api.http.deps import EngineDep, GatewayDep, IdempotencyKey, LinksDep, Prefer, wants_async
from api.http.hal import HalResponse, commands_resource, order_resource
from api.http.links import Links
from api.http.problems import Problem, invalid_parameters, not_found, unavailable
from api.orders import archive as order_archive
from api.orders.models import CommandsDoc, OrderDoc, hal_response, problem_responses
from api.orders.service import OrderGateway
from workflows.order_machine import (
    COMMANDS,
    Command,
    ParameterValue,
    allowed_commands,
    parse_parameters,
)
from workflows.order_types import CommandResult

router = APIRouter(prefix="/v1/orders/{order_id}/commands", tags=["commands"])


@router.get(
    "",
    summary="List the commands valid now",
    response_class=HalResponse,
    responses={
        200: hal_response(CommandsDoc, "The commands valid now"),
        **problem_responses(404, 503),
    },
)
async def read_commands(
    order_id: int, gateway: GatewayDep, engine: EngineDep, links: LinksDep
) -> HalResponse:
    """The commands valid in the order's current status, as (templated) links."""
    try:
        names = await gateway.commands(order_id)
    except Problem as problem:
        if (await order_archive.closed_instead(problem, engine, order_id)).status != 409:
            raise
        names = []  # closed long ago: nothing is allowed
    return HalResponse(commands_resource(order_id, names, links))


def _command(command: str) -> Command:
    try:
        return COMMANDS[command]
    except KeyError:
        known = ", ".join(COMMANDS)
        raise not_found(f"there is no command {command!r}; commands are: {known}") from None


_COMMAND_DOC = (
    "Send a command to the order. Parameters go in the query string "
    "(`assignOrder?restaurantId=101`). Answers 200 with the order once the command is "
    "applied, 409 when the order's status does not allow it, or, with "
    "`Prefer: respond-async`, 202 as soon as it is durably recorded."
)
_COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: hal_response(OrderDoc, "The command was applied: the order now"),
    202: {"description": "Accepted (Prefer: respond-async); Location is the order"},
    **problem_responses(404, 409, 422, 503),
}


@router.put(
    "/{command}",
    summary="Run a command",
    response_class=HalResponse,
    responses=_COMMAND_RESPONSES,
    description=_COMMAND_DOC,
)
@router.post(
    "/{command}",
    summary="Run a command (POST works as PUT)",
    response_class=HalResponse,
    responses=_COMMAND_RESPONSES,
    description=_COMMAND_DOC,
)
async def run_command(
    order_id: int,
    request: Request,
    gateway: GatewayDep,
    engine: EngineDep,
    links: LinksDep,
    spec: Command = Depends(_command),  # noqa: B008  (FastAPI's way to resolve a path part)
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
) -> HalResponse:
    """Run a command on the order."""
    params = _checked(spec, request.query_params)
    command_id = idempotency_key or str(uuid.uuid4())
    try:
        if wants_async(prefer):
            await _send(gateway, order_id, spec, command_id, params)
            return accepted(order_id, command_id, links)
        result = await execute(gateway, order_id, spec, command_id, params)
    except Problem as problem:
        raise await order_archive.closed_instead(problem, engine, order_id) from None
    return HalResponse(order_resource(result.order, links))


def _checked(spec: Command, raw: Mapping[str, Any]) -> dict[str, ParameterValue]:
    params, errors = parse_parameters(spec, dict(raw))
    if errors:
        raise invalid_parameters([(e.name, e.reason) for e in errors])
    return params


async def _send(
    gateway: OrderGateway,
    order_id: int,
    spec: Command,
    command_id: str,
    params: dict[str, ParameterValue],
) -> None:
    if not await gateway.send(order_id, spec.name, command_id, params):
        # Closed: a retry of a command that closed it (or ran before) still gets its outcome.
        if await gateway.outcome(order_id, command_id, wait=False) is None:
            order = await gateway.read(order_id)
            raise Problem(
                409,
                "order-closed",
                f"order {order_id} is closed ({order.status})",
                orderStatus=order.status.value,
                allowedCommands=[],
            )


async def execute(
    gateway: OrderGateway,
    order_id: int,
    spec: Command,
    command_id: str,
    params: dict[str, ParameterValue],
) -> CommandResult:
    """Signal the command, then read its outcome: the synchronous path (two round trips)."""
    await _send(gateway, order_id, spec, command_id, params)
    result = await gateway.outcome(order_id, command_id)
    if result is None:
        raise unavailable(
            "the command was recorded but its outcome is not known yet; "
            "retry with the same Idempotency-Key",
            retry_after=1,
        )
    outcome = result.outcome
    if outcome.command != spec.name or not _same(outcome.parameters, params):
        raise Problem(
            422,
            "idempotency-key-reused",
            f"Idempotency-Key {command_id!r} was first used for {outcome.command} "
            f"with {outcome.parameters}",
        )
    if outcome.refusal == "invalid":
        raise Problem(422, "invalid-parameter", outcome.detail)
    if outcome.refusal is not None:
        kinds = {"closed": "order-closed", "log_full": "event-log-full"}
        kind = kinds.get(outcome.refusal, "command-not-allowed")
        status = outcome.status or result.order.status
        raise Problem(
            409,
            kind,
            outcome.detail,
            orderStatus=status.value,
            allowedCommands=allowed_commands(status),
        )
    return result


def _same(first: Mapping[str, ParameterValue], second: Mapping[str, ParameterValue]) -> bool:
    def normal(value: ParameterValue) -> ParameterValue:
        return float(value) if isinstance(value, int | float) else value

    return first.keys() == second.keys() and all(
        normal(first[k]) == normal(second[k]) for k in first
    )


def accepted(order_id: int, command_id: str, links: Links) -> HalResponse:
    body = {
        "orderId": order_id,
        "commandId": command_id,
        "_links": {"order": {"href": links.order(order_id)}},
    }
    return HalResponse(
        body,
        202,
        headers={"Location": links.order(order_id), "Preference-Applied": "respond-async"},
    )
