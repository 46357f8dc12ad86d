"""The worker: `orderflow worker [orders] [customers]` runs those task queues (default both)
until SIGTERM/SIGINT, so each kind of work can be scaled on its own."""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from activities.customer_activities import CustomerActivities
from activities.customer_erasure import CustomerErasureActivities
from activities.order_activities import OrderActivities
from orderflow import temporal
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.health import temporal_health
from orderflow.settings import Settings, get_settings
from orderflow.telemetry import configure_logging, configure_tracing
from workflows.customer_erasure import EraseCustomerWorkflow, SweepCustomerHistoriesWorkflow
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger("orderflow.worker")


def build_worker(
    client: Client, settings: Settings, engine: Engine, executor: ThreadPoolExecutor
) -> Worker:
    """The order worker: order workflows on the `orders` task queue, and the local activity
    that publishes their events."""
    order_activities = OrderActivities(engine)
    return Worker(
        client,
        task_queue=settings.orders_task_queue,
        workflows=[OrderWorkflow],
        activities=[order_activities.publish_order_events],
        activity_executor=executor,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    )


def build_customer_worker(
    client: Client, settings: Settings, engine: Engine, executor: ThreadPoolExecutor
) -> Worker:
    """The customer worker: customer workflows, their database activities, and erasure
    (which deletes request histories through the worker's own Temporal client)."""
    customer_activities = CustomerActivities(engine)
    erasure = CustomerErasureActivities(engine, client, settings.temporal_rpc_timeout)
    return Worker(
        client,
        task_queue=settings.customers_task_queue,
        workflows=[
            RegisterCustomerWorkflow,
            UpdateCustomerWorkflow,
            EraseCustomerWorkflow,
            SweepCustomerHistoriesWorkflow,
        ],
        activities=[
            customer_activities.register_customer,
            customer_activities.update_customer,
            erasure.erase_customer,
            erasure.delete_customer_histories,
        ],
        activity_executor=executor,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    )


async def report_health(client: Client, path: Path, interval: float) -> None:
    """Touch ``path`` every ``interval`` seconds while Temporal answers; a stale file (or
    none) tells an orchestrator this worker cannot work."""
    while True:
        state = await temporal_health(client)
        if state == "ok":
            path.touch()
        else:
            log.warning("health check failed: Temporal %s", state)
        await asyncio.sleep(interval)


def compile_workflow_modules() -> None:
    """Write the bytecode of ``workflows/`` if it is missing or stale.

    The sandbox imports a workflow's module afresh for every run it starts (so that no run
    sees another's module state); without bytecode on disk, as under PYTHONDONTWRITEBYTECODE
    or in a source checkout never imported, that is a compile from source per order. An
    installed package (the image) has its bytecode already; a read-only tree is left as is.
    """
    try:
        compileall.compile_dir(Path(workflows.__path__[0]), quiet=2)
    except OSError as error:
        log.info("workflow bytecode not written: %s", error)


async def main(kinds: list[str]) -> int:
    settings = get_settings()
    configure_logging(settings)
    compile_workflow_modules()
    configure_tracing(settings, f"orderflow-{'-'.join(kinds)}-worker")
    try:
        client = await temporal.connect(settings, runtime=temporal.worker_runtime(settings))
    except RuntimeError as error:
        log.error("cannot reach Temporal at %s: %s", settings.temporal_address, error)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine = create_database_engine(settings.database_url, DatabaseTimeouts.for_workers(settings))
    executor = ThreadPoolExecutor(settings.worker_max_concurrent_activities)
    async with AsyncExitStack() as stack:
        if "orders" in kinds:
            await stack.enter_async_context(build_worker(client, settings, engine, executor))
        if "customers" in kinds:
            await stack.enter_async_context(
                build_customer_worker(client, settings, engine, executor)
            )
        log.info("worker running %s on %s", " and ".join(kinds), settings.temporal_address)
        health = None
        if settings.worker_health_file is not None:
            health = asyncio.create_task(
                report_health(
                    client, settings.worker_health_file, settings.worker_health_interval_seconds
                )
            )
        await stop.wait()
        if health is not None:
            health.cancel()
        log.info("worker stopping")
    executor.shutdown()
    engine.dispose()
    return 0


if __name__ == "__main__":
    # `python worker.py orders` still works: it is `orderflow worker orders`.
    from orderflow.cli import main as orderflow

    sys.exit(orderflow(["worker", *sys.argv[1:]]))
