"""A burst of signals arrives in one workflow activation, which must stay within the SDK's
deadlock timeout: per-signal work is small, and what is needed once (search attributes, the
Web UI's details, most log lines) is done once per activation. No timing is asserted here:
scripts measure speed; this proves the behaviour."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.helpers import eventually, isolated_settings, running_worker
from tests.order_handles import outcome, start_order
from workflows.order_commands import LOGGED_PER_ACTIVATION
from workflows.order_signals import CommandSignal

if TYPE_CHECKING:
    from orderflow.settings import Settings

BURST = 1_000


async def test_a_burst_arrives_in_one_activation_and_is_applied_in_order(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    own = isolated_settings(settings)  # a task queue no worker polls yet
    handle = await start_order(client, own.orders_task_queue)
    order_id = int(handle.id.removeprefix("order-"))
    signals = [("assignOrder", CommandSignal("assign", {"restaurantId": 5}))]
    signals += [
        ("updateOrderLocation", CommandSignal(f"loc-{i}", {"lat": i % 90, "lon": 1}))
        for i in range(BURST)
    ]
    for start in range(0, len(signals), 250):
        await asyncio.gather(*(handle.signal(n, s) for n, s in signals[start : start + 250]))
    # These two after all the others: commands apply in the order they arrive.
    signals += [
        ("updateOrderStatus", CommandSignal("override", {"status": "ORDER_PREPARED"})),
        ("assignDriver", CommandSignal("driver", {"driverId": 9})),
    ]
    for name, signal in signals[-2:]:
        await handle.signal(name, signal)
    async with running_worker(client, own):
        result = await outcome(handle, "driver")
        assert result.outcome.refusal is None
        assert result.order.driver_id == 9 and result.order.restaurant_id == 5
        assert result.order.event_count == BURST + 4

        async def listed() -> None:
            query = (
                f"WorkflowId = '{handle.id}' AND DriverId = 9 AND OrderStatus = 'DRIVER_ASSIGNED'"
            )
            assert [w.id async for w in client.list_workflows(query)] == [handle.id]

        await eventually(listed)
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    first_task = kinds.index(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert kinds[:first_task].count(signaled) == len(signals)  # all in the first task
    second_task = kinds.index(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, first_task)
    ours = [
        e
        for e in history.events[first_task:second_task]
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and "OrderStatus"
        in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]  # (the others record patches in TemporalChangeVersion)
    # Three commands changed the search attributes; the activation upserted them once.
    assert len(ours) == 1
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    lines = [r for r in caplog.records if getattr(r, "order_id", None) == order_id]
    assert len(lines) == LOGGED_PER_ACTIVATION + 1
    assert (
        lines[-1].getMessage().startswith(f"{len(signals) - LOGGED_PER_ACTIVATION} more commands")
    )
