"""A command as its caller sent it, and what its outcome means to that caller: pending,
applied, or refused as a domain error (and a reused Idempotency-Key told apart from a
retry)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from orderflow.errors import (
    CommandRefused,
    EventLogFull,
    IdempotencyKeyReused,
    InvalidInput,
    OrderClosed,
)
from workflows.order_machine import Command, ParameterValue, allowed_commands
from workflows.order_types import CommandResult
from workflows.values import UNKNOWN_ACTOR


@dataclass(frozen=True)
class CommandRequest:
    """One command for one order: what, with which parameters, under which id, from whom."""

    order_id: int
    command: Command
    command_id: str
    params: Mapping[str, ParameterValue]
    actor: str = UNKNOWN_ACTOR
    # The id is the client's Idempotency-Key, so the request may be a retry.
    keyed: bool = False

    @classmethod
    def of(
        cls,
        order_id: int,
        command: Command,
        params: Mapping[str, ParameterValue],
        *,
        idempotency_key: str | None,
        actor: str,
    ) -> CommandRequest:
        """The request a client made: its Idempotency-Key is the command's id, if it sent one."""
        command_id = idempotency_key or str(uuid.uuid4())
        keyed = idempotency_key is not None
        return cls(order_id, command, command_id, params, actor=actor, keyed=keyed)


@dataclass(frozen=True)
class CommandPending:
    """A command recorded by its order whose outcome is not known yet."""

    order_id: int
    command_id: str


def _same(first: Mapping[str, ParameterValue], second: Mapping[str, ParameterValue]) -> bool:
    """Whether two commands carry the same parameters (52 and 52.0 are the same)."""

    def normal(value: ParameterValue) -> ParameterValue:
        return float(value) if isinstance(value, int | float) else value

    return first.keys() == second.keys() and all(
        normal(first[k]) == normal(second[k]) for k in first
    )


def decided(
    order_id: int, command: Command, params: Mapping[str, ParameterValue], result: CommandResult
) -> CommandResult:
    """The result of an applied ``command`` with ``params``, or its refusal raised as a
    domain error."""
    outcome = result.outcome
    if outcome.command != command.name or not _same(outcome.parameters, params):
        raise IdempotencyKeyReused(
            f"Idempotency-Key {outcome.command_id!r} was first used for {outcome.command} "
            f"with {outcome.parameters}"
        )
    if outcome.refusal == "invalid":
        raise InvalidInput([], detail=outcome.detail)
    if outcome.refusal is not None:
        status = outcome.status or result.order.status
        if outcome.refusal == "closed":
            raise OrderClosed(order_id, status.value, outcome.detail)
        refused = EventLogFull if outcome.refusal == "log_full" else CommandRefused
        raise refused(outcome.detail, status=status.value, allowed=allowed_commands(status))
    return result
