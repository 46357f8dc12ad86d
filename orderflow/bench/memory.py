"""The order worker's memory with many open orders (``orderflow bench orders
--open-orders 1000,10000``)."""

from __future__ import annotations

import asyncio
import time

from orderflow import temporal
from orderflow.bench.stack import rss_mib
from orderflow.bench.walks import order_input
from orderflow.settings import Settings
from workflows.order_names import order_workflow_id
from workflows.order_workflow import OrderWorkflow


async def measure_memory(settings: Settings, worker_pid: int, counts: list[int]) -> None:
    """Open orders (each has had its first workflow task, so the worker caches it), then
    read the worker's resident memory."""
    client = await temporal.connect(settings)
    print(f"order worker resident memory (pid {worker_pid}), idle: {rss_mib(worker_pid):.0f} MiB")
    opened = 0
    semaphore = asyncio.Semaphore(100)

    async def open_order(order_id: int) -> None:
        async with semaphore:
            handle = await client.start_workflow(
                OrderWorkflow.run,
                order_input(order_id),
                id=order_workflow_id(order_id),
                task_queue=settings.orders_task_queue,
            )
            await handle.query(OrderWorkflow.order)  # the worker now holds it

    for target in sorted(counts):
        started = time.perf_counter()
        await asyncio.gather(*(open_order(3_000_000_000 + i) for i in range(opened, target)))
        opened = target
        print(
            f"{target} open orders: {rss_mib(worker_pid):.0f} MiB resident "
            f"(opened in {time.perf_counter() - started:.0f} s)"
        )
