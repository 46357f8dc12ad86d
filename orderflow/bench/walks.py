"""The ways the order benchmark walks an order through its eight commands, each timing every
command into a Phase: over HTTP (answered when applied, or 202 as soon as recorded), with
the SDK on the order workflow (signal, then query), and on the bare baseline workflow
(signal then query, or signal alone)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from temporalio.client import Client

from orderflow.bench.bare import BARE_TASK_QUEUE, BARE_WORKFLOW
from workflows.order_names import order_workflow_id
from workflows.order_signals import CommandSignal
from workflows.order_types import OrderInput
from workflows.order_workflow import OrderWorkflow

STEPS: list[tuple[str, dict[str, str | int | float]]] = [
    ("assignOrder", {"restaurantId": 101}),
    ("prepareOrder", {}),
    ("orderReady", {}),
    ("assignDriver", {"driverId": 7}),
    ("updateOrderLocation", {"lat": 52.52, "lon": 13.405}),
    ("orderPickedUp", {}),
    ("deliverOrder", {}),
    ("orderDelivered", {}),
]
RESPOND_ASYNC = {"Prefer": "respond-async"}


@dataclass
class Phase:
    """One way of walking, measured: every command's latency, the wall time, CPU per
    process, and the workflows it walked (to read their histories afterwards)."""

    name: str
    latencies: list[float] = field(default_factory=list)
    by_command: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    pending: int = 0  # commands answered 202 (outcome not known in time), then followed
    workflow_ids: list[str] = field(default_factory=list)
    events_per_command: float | None = None
    tasks_per_command: float | None = None

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def record(self, command: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_command.setdefault(command, []).append(seconds)

    def percentile(self, q: float, command: str | None = None) -> float:
        """The ``q`` quantile in milliseconds."""
        ordered = sorted(self.latencies if command is None else self.by_command[command])
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Walk = Callable[[Phase], Awaitable[None]]


async def register_customer(session: aiohttp.ClientSession, api: str) -> int:
    body = {"firstName": "Bench", "lastName": "Mark", "email": f"bench-{uuid.uuid4()}@example.com"}
    async with session.post(f"{api}/v1/customers", json=body) as response:
        assert response.status == 201, await response.text()
        customer_id: int = (await response.json())["customerId"]
        return customer_id


async def _place_over_http(
    session: aiohttp.ClientSession, api: str, account_id: int, phase: Phase
) -> str:
    async with session.post(f"{api}/v1/orders", json={"accountId": account_id}) as response:
        assert response.status == 201, await response.text()
        order = await response.json()
    phase.workflow_ids.append(order_workflow_id(order["orderId"]))
    commands: str = order["_links"]["commands"]["href"]
    return commands


async def walk_over_http(
    session: aiohttp.ClientSession, api: str, account_id: int, respond_async: bool, phase: Phase
) -> None:
    """Each command answered once applied (200), or followed from its 202 until it is; with
    ``respond_async`` (``Prefer: respond-async``), answered 202 as soon as it is recorded."""
    commands = await _place_over_http(session, api, account_id, phase)
    headers = RESPOND_ASYNC if respond_async else {}
    for name, params in STEPS:
        started = time.perf_counter()
        async with session.put(f"{commands}/{name}", params=params, headers=headers) as response:
            assert response.status in (200, 202), await response.text()
            await response.read()
            follow = response.status == 202 and not respond_async
            outcome = response.headers.get("Location") if follow else None
        if outcome is not None:
            # Recorded, its outcome not known in time: its latency runs until it is.
            phase.pending += 1
            await _until_applied(session, outcome)
        phase.record(name, time.perf_counter() - started)


async def _until_applied(session: aiohttp.ClientSession, outcome: str) -> None:
    """Follow a command's outcome resource until the order has applied it."""
    while True:
        async with session.get(outcome) as response:
            body = await response.json()
        if response.status == 200 and body["status"] != "pending":
            assert body["status"] == "applied", body
            return
        await asyncio.sleep(0.05)


async def walk_with_sdk(client: Client, task_queue: str, order_id: int, phase: Phase) -> None:
    """The order workflow without the API: signal each command, then query its outcome."""
    handle = await client.start_workflow(
        OrderWorkflow.run,
        order_input(order_id),
        id=order_workflow_id(order_id),
        task_queue=task_queue,
    )
    phase.workflow_ids.append(handle.id)
    for name, params in STEPS:
        started = time.perf_counter()
        command_id = str(uuid.uuid4())
        await handle.signal(name, CommandSignal(command_id, dict(params)))
        result = await handle.query(OrderWorkflow.outcome, command_id)
        assert result is not None and result.outcome.refusal is None
        phase.record(name, time.perf_counter() - started)


async def walk_bare(client: Client, wait: bool, phase: Phase) -> None:
    """The bare baseline: signal each command, then (``wait``) query that it arrived."""
    handle = await client.start_workflow(
        BARE_WORKFLOW, id=f"bench-bare-{uuid.uuid4()}", task_queue=BARE_TASK_QUEUE
    )
    phase.workflow_ids.append(handle.id)
    for name, params in STEPS:
        started = time.perf_counter()
        command_id = str(uuid.uuid4())
        await handle.signal(name, CommandSignal(command_id, dict(params)))
        if wait:
            assert await handle.query("arrived", command_id, result_type=bool)
        phase.record(name, time.perf_counter() - started)


def order_input(order_id: int) -> OrderInput:
    return OrderInput(order_id=order_id, account_id=1234, created_at=int(time.time() * 1000))
