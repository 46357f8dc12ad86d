"""Orders driven through the Temporal client alone, for tests of the workflow itself: start
one, signal a command, read its outcome. No API layer in between."""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from tests.helpers import eventually
from workflows import order_names as names
from workflows.order_machine import OrderStatus, ParameterValue
from workflows.order_signals import CommandSignal
from workflows.order_types import CommandResult, Order, OrderInput
from workflows.order_workflow import OrderWorkflow

OrderHandle = WorkflowHandle[OrderWorkflow, Order]
# Ids of their own, far above the ones other tests make up.
_next_id = 9 * 10**15 + int(time.time() * 1000) % 10**12 * 100


def new_order_id() -> int:
    global _next_id
    _next_id += 1
    return _next_id


async def start_order(client: Client, task_queue: str, **options: Any) -> OrderHandle:
    """A new order workflow for account 1234, started as the API starts one."""
    order_id = new_order_id()
    return await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(order_id=order_id, account_id=1234, created_at=1, **options),
        id=names.order_workflow_id(order_id),
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(names.ORDER_STATUS, OrderStatus.ORDER_CREATED.value),
                SearchAttributePair(names.ACCOUNT_ID, 1234),
            ]
        ),
    )


async def send(
    handle: OrderHandle, command: str, command_id: str, parameters: dict[str, ParameterValue]
) -> None:
    await handle.signal(command, CommandSignal(command_id, dict(parameters)))


async def outcome(handle: OrderHandle, command_id: str) -> CommandResult:
    """The command's outcome, once the order has one (bounded wait)."""

    async def known() -> CommandResult:
        result = await handle.query(OrderWorkflow.outcome, command_id)
        assert result is not None, f"no outcome for {command_id} yet"
        return result

    return await eventually(known)
