"""The order workflow through the Temporal SDK: signals in, queries out, on a real dev server."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from api.orders.options import OrderStartOptions
from api.orders.service import OrderService
from api.orders.temporal import OrderWorkflows
from orderflow.errors import OrderIdsOutOfStep
from orderflow.settings import Settings
from tests.helpers import WALK, eventually, new_order_id
from workflows import order_names as names
from workflows.order_machine import OrderStatus
from workflows.order_types import CommandResult


@pytest.fixture
def service(client: Client, settings: Settings, worker: None) -> OrderService:
    options = OrderStartOptions.from_settings(settings)
    return OrderService(OrderWorkflows(client, options))


async def run(service: OrderService, order_id: int, name: str, **params: Any) -> CommandResult:
    command_id = str(uuid.uuid4())
    assert await service.workflows.send(order_id, name, command_id, params)
    result = await service.workflows.outcome(order_id, command_id, wait=10)
    assert result is not None
    return result


async def test_walk_through_every_status_to_completion(
    service: OrderService, client: Client
) -> None:
    order_id = new_order_id()
    order = await service.workflows.start(order_id, 1234, 1_700_000_000_000, fresh=True)
    assert order.status == OrderStatus.ORDER_CREATED and order.run_id
    for name, params, status in WALK:
        result = await run(service, order_id, name, **params)
        assert result.outcome.refusal is None, result.outcome.detail
        assert result.order.status == status
        assert result.event is not None and result.event.order_status == status
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    final = await handle.result()
    assert final["status"] == "ORDER_DELIVERED"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    # A closed order stays readable, events included.
    page = await service.events(order_id, 0, 100)
    assert [e.event_id for e in page.events] == list(range(1, len(WALK) + 2))
    assert page.events[0].type == "ORDER_CREATED" and page.events[0].created_at == 1_700_000_000_000
    assert (await service.read(order_id)).driver_id == 7
    assert await service.commands(order_id) == []


async def test_refused_commands_leave_no_event(service: OrderService) -> None:
    order_id = new_order_id()
    await service.workflows.start(order_id, 1234, 1, fresh=True)
    refused = await run(service, order_id, "orderReady")
    assert refused.outcome.refusal == "not_allowed"
    assert refused.outcome.status == OrderStatus.ORDER_CREATED
    assert "assignOrder" in refused.outcome.detail
    invalid = await run(service, order_id, "updateOrderLocation", lat=123, lon=0)
    assert invalid.outcome.refusal == "invalid" and "lat" in invalid.outcome.detail
    assert (await service.events(order_id, 0, 10)).total == 1


async def test_a_redelivered_command_is_applied_once(service: OrderService) -> None:
    order_id = new_order_id()
    await service.workflows.start(order_id, 1234, 1, fresh=True)
    for _ in range(3):
        assert await service.workflows.send(
            order_id, "updateOrderLocation", "same-id", {"lat": 1.5, "lon": 2}
        )
    result = await service.workflows.outcome(order_id, "same-id", wait=10)
    assert result is not None and result.outcome.event_id == 2
    assert (await service.events(order_id, 0, 10)).total == 2
    assert result.order.lat == 1.5


async def test_cancel_records_the_reason_and_closes(service: OrderService, client: Client) -> None:
    order_id = new_order_id()
    await service.workflows.start(order_id, 1234, 1, fresh=True)
    await run(service, order_id, "assignOrder", restaurantId=5)
    result = await run(service, order_id, "cancelOrder", reason="customer called")
    assert result.order.status == OrderStatus.ORDER_CANCELLED
    assert result.event is not None and result.event.reason == "customer called"
    await client.get_workflow_handle(names.order_workflow_id(order_id)).result()
    assert not await service.workflows.send(order_id, "prepareOrder", "late", {})


async def test_update_order_status_overrides_and_can_close(service: OrderService) -> None:
    order_id = new_order_id()
    await service.workflows.start(order_id, 1234, 1, fresh=True)
    result = await run(service, order_id, "updateOrderStatus", status="ORDER_PICKED_UP")
    assert result.order.status == OrderStatus.ORDER_PICKED_UP
    assert result.event is not None and result.event.type == "ORDER_STATUS_UPDATED"
    assert await service.commands(order_id) == [
        "deliverOrder", "updateOrderLocation", "updateOrderStatus",
    ]  # fmt: skip
    closed = await run(service, order_id, "updateOrderStatus", status="ORDER_CANCELLED")
    assert closed.order.status.is_terminal


async def test_search_attributes_follow_every_change(service: OrderService, client: Client) -> None:
    order_id = new_order_id()
    account = new_order_id()
    await service.workflows.start(order_id, account, 1, fresh=True)
    await run(service, order_id, "assignOrder", restaurantId=4242)
    await run(service, order_id, "prepareOrder")
    await run(service, order_id, "orderReady")
    await run(service, order_id, "assignDriver", driverId=77)
    query = (
        f"AccountId = {account} AND OrderStatus = 'DRIVER_ASSIGNED' "
        "AND RestaurantId = 4242 AND DriverId = 77"
    )

    async def listed() -> None:
        ids = [w.id async for w in client.list_workflows(query)]
        assert ids == [names.order_workflow_id(order_id)]

    await eventually(listed)


async def test_the_web_ui_shows_a_readable_summary(service: OrderService, client: Client) -> None:
    order_id = new_order_id()
    await service.workflows.start(order_id, 1234, 1, fresh=True)
    await run(service, order_id, "assignOrder", restaurantId=101)
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    description = await handle.describe()
    assert await description.static_summary() == f"Order {order_id} for account 1234"
    # The UI reads the current details through this built-in query.
    metadata = await handle.query("__temporal_workflow_metadata")
    details = metadata.current_details
    assert f"Order {order_id}" in details and "**ORDER_ASSIGNED**" in details
    assert "restaurant 101" in details and "last ORDER_ASSIGNED" in details


async def test_a_new_id_that_temporal_already_has_is_never_reused(service: OrderService) -> None:
    """If the order database fell behind Temporal, a create must not answer with another
    customer's order."""
    order_id = new_order_id()
    # Accounts no registered customer has: these orders must not show in anyone's list.
    first, second = 9_000_000_001, 9_000_000_002
    await service.workflows.start(order_id, first, 1, fresh=True)
    with pytest.raises(OrderIdsOutOfStep):
        await service.workflows.start(order_id, second, 1, fresh=True)
    # With a key, the order found is read back, and shown only if it is this account's.
    with pytest.raises(OrderIdsOutOfStep):
        await service.workflows.start(order_id, second, 1, fresh=True, keyed=True)
    assert (await service.read(order_id)).account_id == first
    # A retried create (an id the database handed out before) reads the order back.
    assert (await service.workflows.start(order_id, first, 1, fresh=False)).account_id == first


async def test_a_full_event_log_refuses_location_updates_not_transitions(
    client: Client, settings: Settings, worker: None
) -> None:
    options = replace(OrderStartOptions.from_settings(settings), max_events=4)
    small = OrderService(OrderWorkflows(client, options))
    order_id = new_order_id()
    await small.workflows.start(order_id, 1234, 1, fresh=True)
    for i in range(3):
        moved = await run(small, order_id, "updateOrderLocation", lat=i, lon=i)
        assert moved.outcome.refusal is None
    full = await run(small, order_id, "updateOrderLocation", lat=9, lon=9)
    assert full.outcome.refusal == "log_full" and "4 events" in full.outcome.detail
    assigned = await run(small, order_id, "assignOrder", restaurantId=1)
    assert assigned.outcome.refusal is None and assigned.order.event_count == 5
