"""Where one synchronous command's time goes on an idle stack (``orderflow bench orders
--probe``): the signal and query round trips, how long each workflow task waited, and each
hop inside the server (from its metrics, when the stack serves them)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from orderflow import temporal
from orderflow.bench import server_metrics
from orderflow.bench.walks import order_input
from orderflow.settings import Settings
from workflows.order_names import order_workflow_id
from workflows.order_signals import CommandSignal
from workflows.order_workflow import OrderWorkflow


async def probe_idle_latency(settings: Settings, samples: int = 40) -> None:
    """Three orders, one per way of sending: a signal alone; a signal and at once the query
    (what the API does); a signal and the query once the workflow task is done. For each,
    the signal and query round trips and, from the history, how long each workflow task
    waited between scheduled and started."""
    client = await temporal.connect(settings)
    tables: list[tuple[str, list[tuple[server_metrics.Hop, float, float]]]] = []
    print("\n| way | signal p50 ms | query p50 ms | task scheduled->started p50 ms |")
    print("|---|---|---|---|")
    ways = [
        ("signal alone", None),
        ("signal, then query at once", 0.0),
        ("signal, then query 100 ms later", 0.1),
    ]
    for offset, (way, query_delay) in enumerate(ways):
        order_id = 2_000_000_000 + offset
        handle = await client.start_workflow(
            OrderWorkflow.run,
            order_input(order_id),
            id=order_workflow_id(order_id),
            task_queue=settings.orders_task_queue,
        )
        signals: list[float] = []
        queries: list[float] = []
        before = await _server_totals(settings)
        for i in range(samples):
            started = time.perf_counter()
            await handle.signal(
                "updateOrderLocation", CommandSignal(f"probe-{i}", {"lat": 1, "lon": 1})
            )
            signals.append(time.perf_counter() - started)
            if query_delay is not None:
                if query_delay:
                    await asyncio.sleep(query_delay)  # the way's own pause, not a wait
                started = time.perf_counter()
                await handle.query(OrderWorkflow.outcome, f"probe-{i}")
                queries.append(time.perf_counter() - started)
            # Spacing the samples out is the point here, not a wait for a condition.
            await asyncio.sleep(0.1)
        after = await _server_totals(settings)
        if before is not None and after is not None:
            tables.append((way, server_metrics.hops(before, after, samples)))
        waits = await _schedule_to_start(handle)
        query_p50 = f"{statistics.median(queries) * 1000:.1f}" if queries else "-"
        print(
            f"| {way} | {statistics.median(signals) * 1000:.1f} | {query_p50} "
            f"| {statistics.median(waits) * 1000:.1f} |"
        )
    for way, rows in tables:
        print(f"\nThe server's hops, {way} (from its metrics, means over {samples} commands):\n")
        print(server_metrics.markdown(rows))


async def _server_totals(settings: Settings) -> server_metrics.Totals | None:
    """The dev server's histogram totals, when the stack serves its metrics."""
    if settings.temporal_metrics_port is None:
        return None
    url = f"http://127.0.0.1:{settings.temporal_metrics_port}/metrics"
    return await asyncio.to_thread(server_metrics.scrape, url)


async def _schedule_to_start(handle: WorkflowHandle[Any, Any]) -> list[float]:
    scheduled: float | None = None
    waits = []
    async for event in handle.fetch_history_events():
        moment = event.event_time.ToDatetime().timestamp()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            scheduled = moment
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and scheduled:
            waits.append(moment - scheduled)
    return waits[1:]  # the first task is the start's, not a signal's
