"""The bare baseline: the smallest workflow that takes an order's commands as signals and
answers, by a query, whether each has arrived.

It runs on the bench's own server, in the same run, with the same data converter (payloads
encrypted as the stack's are), in a worker process of its own as sandboxed as the order
worker. What orderflow adds on top of Temporal itself (the order workflow's state machine,
its outbox, the API) is then the distance between the two.

``python -m orderflow.bench.bare`` runs that worker on ``BARE_TASK_QUEUE`` until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.worker import Worker

BARE_WORKFLOW = "BareOrderBaseline"
BARE_TASK_QUEUE = "bench-bare-baseline"
LAST_COMMAND = "orderDelivered"  # closes the bare order, as it closes an order


@workflow.defn(name=BARE_WORKFLOW, sandboxed=True)
class BareOrder:
    """Records each command id it is signalled (any signal name); closes on the last."""

    def __init__(self) -> None:
        self._arrived: set[str] = set()
        self._closed = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._closed)
        return len(self._arrived)

    @workflow.signal(dynamic=True)
    def command(self, name: str, payloads: Sequence[RawValue]) -> None:
        sent = workflow.payload_converter().from_payload(payloads[0].payload, dict)
        self._arrived.add(str(sent["command_id"]))
        self._closed = self._closed or name == LAST_COMMAND

    @workflow.query
    def arrived(self, command_id: str) -> bool:
        return command_id in self._arrived


async def serve() -> None:
    # Imported here: the workflow above must not pull the service into the sandbox.
    from orderflow import temporal
    from orderflow.settings import get_settings

    settings = get_settings()
    client = await temporal.connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker = Worker(
        client,
        task_queue=BARE_TASK_QUEUE,
        workflows=[BareOrder],
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
    )
    async with worker:
        print("bare baseline worker running", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
