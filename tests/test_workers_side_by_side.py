"""Several worker processes can serve the `orders` task queue side by side."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.orders.options import OrderStartOptions
from api.orders.service import OrderService
from api.orders.temporal import OrderWorkflows
from orderflow import temporal
from orderflow.settings import Settings
from tests.helpers import WALK, isolated_settings, new_order_id, running_worker
from workflows.order_names import order_workflow_id


async def test_two_workers_share_the_orders(client: Client, settings: Settings) -> None:
    own = isolated_settings(settings)
    service = OrderService(OrderWorkflows(client, OrderStartOptions.from_settings(own)))
    async with AsyncExitStack() as stack:
        for name in ("worker-a", "worker-b"):
            worker_client = await temporal.connect(own, identity=name)
            await stack.enter_async_context(running_worker(worker_client, own))

        async def walk(order_id: int) -> None:
            await service.workflows.start(order_id, 1, 1, fresh=True)
            for step, (command, params, _) in enumerate(WALK):
                assert await service.workflows.send(order_id, command, f"{order_id}-{step}", params)
            await client.get_workflow_handle(order_workflow_id(order_id)).result()

        order_ids = [new_order_id() for _ in range(30)]
        await asyncio.gather(*(walk(order_id) for order_id in order_ids))

    identities: set[str] = set()
    for order_id in order_ids:
        handle = client.get_workflow_handle(order_workflow_id(order_id))
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                identities.add(event.workflow_task_started_event_attributes.identity)
    assert identities == {"worker-a", "worker-b"}, identities
