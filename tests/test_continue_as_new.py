"""Long-lived orders continue as new with nothing lost: events, outcomes, index, links."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import Client

from api.orders.options import OrderStartOptions
from api.orders.service import OrderService
from api.orders.temporal import OrderWorkflows
from orderflow.database.engine import create_database_engine
from orderflow.settings import Settings
from tests.conftest import start_dev_server
from tests.helpers import (
    command,
    create_order,
    eventually,
    isolated_settings,
    new_order_id,
    register_customer,
    running_api,
    running_worker,
)
from workflows import order_names as names
from workflows.order_types import EventsRequest
from workflows.order_workflow import OrderWorkflow


async def drive_past_continue_as_new(client: Client, service: OrderService, updates: int) -> int:
    """Place an order and send it ``updates`` location updates, ten at a time (so signals
    race the continue-as-new); returns the order id once it has run on more than one run."""
    order_id = new_order_id()
    first = await service.workflows.start(order_id, 555, 1, fresh=True)
    await service.workflows.send(order_id, "assignOrder", "assign", {"restaurantId": 3})
    for batch in range(0, updates, 10):
        await asyncio.gather(
            *(
                service.workflows.send(
                    order_id, "updateOrderLocation", f"loc-{i}", {"lat": i / 10, "lon": 1}
                )
                for i in range(batch, min(batch + 10, updates))
            )
        )

    async def continued() -> None:
        # The continue-as-new may be retried once if signals arrive as it completes.
        order = await service.read(order_id)
        assert order.run_id != first.run_id, "the order never continued as new"
        handle = client.get_workflow_handle(names.order_workflow_id(order_id))
        assert (await handle.describe()).run_id == order.run_id

    await eventually(continued)
    return order_id


async def assert_nothing_lost(
    client: Client, service: OrderService, order_id: int, updates: int
) -> None:
    page = await service.events(order_id, 0, 10_000)
    assert page.total == updates + 2
    assert [e.event_id for e in page.events] == list(range(1, updates + 3))
    assert [e.type for e in page.events[:2]] == ["ORDER_CREATED", "ORDER_ASSIGNED"]
    assert sorted(e.lat for e in page.events[2:]) == [i / 10 for i in range(updates)]  # type: ignore[type-var]
    order = await service.read(order_id)
    assert order.event_count == updates + 2 and order.restaurant_id == 3 and order.created_at == 1
    # Outcomes survive too: a retried command from the first run is not applied again.
    assert await service.workflows.send(order_id, "assignOrder", "assign", {"restaurantId": 3})
    result = await service.workflows.outcome(order_id, "assign", wait=10)
    assert result is not None and result.outcome.event_id == 2
    assert (await service.events(order_id, 0, 0)).total == updates + 2
    # Commands still work on the new run, and visibility lists the order once.
    assert await service.workflows.send(order_id, "prepareOrder", "prepare", {})
    prepared = await service.workflows.outcome(order_id, "prepare", wait=10)
    assert prepared is not None and prepared.order.status == "ORDER_PREPARING"

    async def listed_once() -> None:
        summaries, _ = await service.workflows.find(
            ["AccountId = 555", "RestaurantId = 3"], 100, None
        )
        matching = [s for s in summaries if s.order_id == order_id]
        assert len(matching) == 1 and matching[0].status == "ORDER_PREPARING"

    await eventually(listed_once)


async def test_continue_as_new_at_the_settings_threshold(
    client: Client, settings: Settings
) -> None:
    own = isolated_settings(settings, order_continue_as_new_after_history_events=40)
    service = OrderService(OrderWorkflows(client, OrderStartOptions.from_settings(own)))
    async with running_worker(client, own):
        order_id = await drive_past_continue_as_new(client, service, updates=60)
        await assert_nothing_lost(client, service, order_id, updates=60)


async def test_continue_as_new_when_the_server_suggests_it(settings: Settings) -> None:
    env = await start_dev_server(
        "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=30"
    )
    try:
        own = isolated_settings(settings, orders_task_queue=f"orders-{uuid.uuid4()}")
        service = OrderService(OrderWorkflows(env.client, OrderStartOptions.from_settings(own)))
        async with running_worker(env.client, own):
            order_id = await drive_past_continue_as_new(env.client, service, updates=50)
            await assert_nothing_lost(env.client, service, order_id, updates=50)
    finally:
        await env.shutdown()


async def test_every_event_stays_readable_after_the_workflow_trims_its_copy(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    """Continue-as-new keeps only the latest events in the workflow; the API reads the
    trimmed ones from the outbox, so the log over HTTP is whole, in order, paged."""
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(
        settings,
        order_continue_as_new_after_history_events=40,
        order_kept_events_after_continue=5,
    )
    async with running_worker(client, own), running_api(own) as api:
        order = await create_order(api, account)
        for i in range(60):
            moved = await command(api, order, "updateOrderLocation", lat=i / 10, lon=1)
            assert moved.status_code == 200

        async def trimmed() -> None:
            handle = client.get_workflow_handle(names.order_workflow_id(order["orderId"]))
            page = await handle.query(OrderWorkflow.events, EventsRequest(0, 1))
            assert page.first_kept > 1

        await eventually(trimmed)
        seen: list[dict[str, object]] = []
        href: str | None = order["_links"]["events"]["href"] + "?size=7"
        while href:
            body = (await api.get(href)).json()
            seen += body["_embedded"]["orderEventList"]
            href = body["_links"].get("next", {}).get("href")
        assert [e["eventId"] for e in seen] == list(range(1, 62))
        assert [e["lat"] for e in seen[1:]] == [i / 10 for i in range(60)]
        first = await api.get(seen[0]["_links"]["self"]["href"])  # type: ignore[index]
        assert first.status_code == 200 and first.json()["type"] == "ORDER_CREATED"


async def test_an_order_continues_as_new_before_its_kept_log_fills(
    client: Client, settings: Settings
) -> None:
    """No history threshold, no suggestion from the server yet: a stream of commands far
    longer than the log an order keeps (ORDER_MAX_EVENTS) is applied whole, because the
    order continues as new and trims its published events before its log fills."""
    own = isolated_settings(
        settings,
        order_max_events=100,
        order_kept_events_after_continue=5,
        order_publish_delay_ms=0,
    )
    engine = create_database_engine(own.database_url)
    service = OrderService(OrderWorkflows(client, OrderStartOptions.from_settings(own)), engine)
    updates = 400
    try:
        async with running_worker(client, own):
            order_id = new_order_id()
            await service.workflows.start(order_id, 555, 1, fresh=True)
            for batch in range(0, updates, 10):
                ids = [f"loc-{i}" for i in range(batch, batch + 10)]
                await asyncio.gather(
                    *(
                        service.workflows.send(
                            order_id, "updateOrderLocation", key, {"lat": i / 10, "lon": 1}
                        )
                        for i, key in enumerate(ids, start=batch)
                    )
                )
                # The pace of a bounded rate: the order applies one batch before the next.
                last = await service.workflows.outcome(order_id, ids[-1], wait=10)
                assert last is not None and last.outcome.refusal is None, last

            handle = client.get_workflow_handle(names.order_workflow_id(order_id))
            kept = await handle.query(OrderWorkflow.events, EventsRequest(0, 1))
            assert kept.first_kept > updates - 100, "the order kept events it could trim"
            page = await service.events(order_id, 0, 1_000)
    finally:
        engine.dispose()
    assert [e.event_id for e in page.events] == list(range(1, updates + 2))
    assert sorted(e.lat for e in page.events[1:]) == [i / 10 for i in range(updates)]  # type: ignore[type-var]
