"""The order worker: runs order workflows from the `orders` task queue until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from settings import Settings, get_settings
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger("orderflow.worker")


def build_worker(client: Client, settings: Settings) -> Worker:
    """The one place a Worker is built: what it runs and how much at once."""
    return Worker(
        client,
        task_queue=settings.orders_task_queue,
        workflows=[OrderWorkflow],
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    )


async def main() -> int:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        client = await settings.connect_temporal()
    except RuntimeError as error:
        log.error("cannot reach Temporal at %s: %s", settings.temporal_address, error)
        return 1
    worker = build_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        log.info(
            "worker polling task queue %r on %s",
            settings.orders_task_queue,
            settings.temporal_address,
        )
        await stop.wait()
        log.info("worker stopping")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
