"""A command is one table row: the workflow's signals are exactly the state machine's
commands, and a signal no row names is refused, not buffered forever."""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.workflow import _Definition

from api.order_gateway import OrderGateway, OrderStartOptions
from settings import Settings
from tests.helpers import eventually
from tests.test_order_workflow import new_order_id
from workflows import order_names as names
from workflows.order_machine import COMMANDS
from workflows.order_types import CommandSignal
from workflows.order_workflow import OrderWorkflow


def test_every_row_is_a_signal_and_every_signal_a_row() -> None:
    signals = _Definition.from_class(OrderWorkflow).signals
    assert {name for name in signals if name is not None} == set(COMMANDS)
    assert None in signals  # the dynamic handler: unknown names are answered, not buffered
    for name, command in COMMANDS.items():
        assert signals[name].description == command.summary


async def test_a_running_order_accepts_every_row_and_refuses_unknown_names(
    client: Client, settings: Settings, worker: None
) -> None:
    gateway = OrderGateway(client, OrderStartOptions.from_settings(settings))
    order_id = new_order_id()
    await gateway.start(order_id, 1234, 1, fresh=True)
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    metadata = await handle.query("__temporal_workflow_metadata")
    defined = {signal.name for signal in metadata.definition.signal_definitions}
    assert defined == set(COMMANDS) | {""}  # "": the dynamic handler
    await handle.signal("noSuchCommand", CommandSignal("unknown-1"))
    await handle.signal("noSuchCommand", "no command id at all")

    async def refused() -> None:
        result = await gateway.outcome(order_id, "unknown-1", wait=False)
        assert result is not None
        assert result.outcome.refusal == "invalid"
        assert "noSuchCommand" in result.outcome.detail

    await eventually(refused)
    assert (await gateway.read(order_id)).status == "ORDER_CREATED"
    # Every row is taken as a signal: each gets an outcome (applied or refused; the last,
    # cancelOrder, closes the order).
    for name in COMMANDS:
        command_id = f"{name}-{uuid.uuid4()}"
        assert await gateway.send(order_id, name, command_id, {})
        assert await gateway.outcome(order_id, command_id) is not None, name
