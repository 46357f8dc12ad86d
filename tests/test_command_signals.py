"""A command is one table row: the workflow's signals are exactly the state machine's
commands, and a signal no row names is refused, not buffered forever."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.workflow import _Definition

from tests.helpers import eventually
from tests.order_handles import outcome, send, start_order
from workflows.order_machine import COMMANDS
from workflows.order_signals import CommandSignal
from workflows.order_types import CommandResult
from workflows.order_workflow import OrderWorkflow

if TYPE_CHECKING:
    from orderflow.settings import Settings


def test_every_row_is_a_signal_and_every_signal_a_row() -> None:
    signals = _Definition.from_class(OrderWorkflow).signals
    assert {name for name in signals if name is not None} == set(COMMANDS)
    assert None in signals  # the dynamic handler: unknown names are answered, not buffered
    for name, command in COMMANDS.items():
        assert signals[name].description == command.summary


async def test_a_running_order_accepts_every_row_and_refuses_unknown_names(
    client: Client, settings: Settings, worker: None
) -> None:
    handle = await start_order(client, settings.orders_task_queue)
    metadata = await handle.query("__temporal_workflow_metadata")
    defined = {signal.name for signal in metadata.definition.signal_definitions}
    assert defined == set(COMMANDS) | {""}  # "": the dynamic handler
    await handle.signal("noSuchCommand", CommandSignal("unknown-1"))
    await handle.signal("noSuchCommand", "no command id at all")

    async def refused() -> CommandResult:
        result = await handle.query(OrderWorkflow.outcome, "unknown-1")
        assert result is not None
        return result

    result = await eventually(refused)
    assert result.outcome.refusal == "invalid" and "noSuchCommand" in result.outcome.detail
    assert (await handle.query(OrderWorkflow.order)).status == "ORDER_CREATED"
    # Every row is taken as a signal: each gets an outcome (applied or refused; the last,
    # cancelOrder, closes the order).
    for name in COMMANDS:
        command_id = f"{name}-{uuid.uuid4()}"
        await send(handle, name, command_id, {})
        assert (await outcome(handle, command_id)).outcome.command == name
