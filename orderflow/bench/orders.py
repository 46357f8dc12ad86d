"""Benchmark: orders walked through their lifecycle over HTTP and through the SDK, one run.

``orderflow bench orders [--orders 100] [--rounds 2] [--encryption on|off|both]`` starts
the embedded stack (the same launcher as ``make run``) on free ports with a throw-away data
folder (two with ``--encryption both``, one encrypting payloads and one not, their rounds
interleaved), then, per round:

* HTTP: N concurrent orders, each created, then walked through its lifecycle with
  ``PUT …/commands/…`` (with a location update along the way), by an aiohttp client;
* SDK: N concurrent orders walked the same way with the Temporal client directly
  (signal, then query the outcome), against the same server and worker.

It prints commands per second, p50/p99 latency per command, and each process's CPU, so the
API's overhead shows as the ratio of the two rates. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from orderflow import temporal
from orderflow.bench.stack import (
    RunningStack,
    cpu_seconds,
    embedded_stack,
    own_cpu_seconds,
    rss_mib,
    service_environment,
)
from orderflow.cli import command_line
from orderflow.settings import Settings
from workflows.order_names import order_workflow_id
from workflows.order_types import CommandSignal, OrderInput
from workflows.order_workflow import OrderWorkflow

ENCRYPTED, PLAINTEXT = "encrypted", "plaintext"
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


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    by_command: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    pending: int = 0  # commands answered 202 (outcome not known in time), then followed

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def record(self, command: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_command.setdefault(command, []).append(seconds)

    def percentile(self, q: float, command: str | None = None) -> float:
        ordered = sorted(self.latencies if command is None else self.by_command[command])
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def register_customer(session: aiohttp.ClientSession, api: str) -> int:
    body = {"firstName": "Bench", "lastName": "Mark", "email": f"bench-{uuid.uuid4()}@example.com"}
    async with session.post(f"{api}/v1/customers", json=body) as response:
        assert response.status == 201, await response.text()
        customer_id: int = (await response.json())["customerId"]
        return customer_id


async def walk_over_http(
    session: aiohttp.ClientSession, api: str, account_id: int, phase: Phase
) -> None:
    async with session.post(f"{api}/v1/orders", json={"accountId": account_id}) as response:
        assert response.status == 201, await response.text()
        order = await response.json()
    commands = order["_links"]["commands"]["href"]
    for name, params in STEPS:
        started = time.perf_counter()
        async with session.put(f"{commands}/{name}", params=params) as response:
            assert response.status in (200, 202), await response.text()
            await response.read()
            outcome = response.headers.get("Location") if response.status == 202 else None
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


async def walk_with_sdk(client: Client, settings: Settings, order_id: int, phase: Phase) -> None:
    handle = await client.start_workflow(
        OrderWorkflow.run,
        _order_input(order_id),
        id=order_workflow_id(order_id),
        task_queue=settings.orders_task_queue,
    )
    for name, params in STEPS:
        started = time.perf_counter()
        command_id = str(uuid.uuid4())
        await handle.signal(name, CommandSignal(command_id, dict(params)))
        result = await handle.query(OrderWorkflow.outcome, command_id)
        assert result is not None and result.outcome.refusal is None
        phase.record(name, time.perf_counter() - started)


def _order_input(order_id: int) -> OrderInput:
    return OrderInput(order_id=order_id, account_id=1234, created_at=int(time.time() * 1000))


Walk = Callable[[Phase], Awaitable[None]]


async def measure(name: str, pids: dict[str, int], walks: Sequence[Walk]) -> Phase:
    phase = Phase(name)
    before = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
    started = time.perf_counter()
    await asyncio.gather(*(walk(phase) for walk in walks))
    phase.seconds = time.perf_counter() - started
    after = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
    phase.cpu = {p: (after[p] - before[p]) / phase.seconds * 100 for p in before}
    return phase


@dataclass
class Target:
    """One stack the rounds run against: its label (how it encrypts), address and pids."""

    label: str
    stack: RunningStack
    pids: dict[str, int]


async def run(targets: Sequence[Target], orders: int, rounds: int) -> None:
    """``rounds`` rounds; in each, every target in turn gets an HTTP and an SDK phase, so
    targets compared (encrypted or not) meet the same conditions, interleaved."""
    clients = [await temporal.connect(target.stack.settings) for target in targets]
    next_sdk_id = 1_000_000_000
    phases: list[tuple[Target, Phase]] = []
    connector = aiohttp.TCPConnector(limit=orders * len(targets))
    async with aiohttp.ClientSession(connector=connector) as session:
        accounts = [await register_customer(session, target.stack.api) for target in targets]
        for _ in range(rounds):
            for target, client, account_id in zip(targets, clients, accounts, strict=True):
                api, settings = target.stack.api, target.stack.settings
                http_walks = [
                    partial(walk_over_http, session, api, account_id) for _ in range(orders)
                ]
                phases.append((target, await measure("HTTP API", target.pids, http_walks)))
                ids = range(next_sdk_id, next_sdk_id + orders)
                next_sdk_id += orders
                sdk_walks = [partial(walk_with_sdk, client, settings, i) for i in ids]
                phases.append((target, await measure("SDK direct", target.pids, sdk_walks)))
    print(f"\n{orders} concurrent orders x {len(STEPS)} commands, {rounds} round(s)\n")
    cpu_columns = ", ".join(phases[0][1].cpu)
    print(
        f"| path | payloads | commands/s | p50 ms | p99 ms | 202 then followed "
        f"| CPU % ({cpu_columns}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for target, phase in phases:
        cpu = ", ".join(f"{v:.0f}" for v in phase.cpu.values())
        print(
            f"| {phase.name} | {target.label} | {phase.rate():.0f} "
            f"| {phase.percentile(0.5):.1f} | {phase.percentile(0.99):.1f} | {phase.pending} "
            f"| {cpu} |"
        )
    medians: dict[tuple[str, str], float] = {}
    for target in targets:
        own = [phase for t, phase in phases if t is target]
        last_http = [p for p in own if p.name == "HTTP API"][-1]
        print(f"\n{target.label}: per command, last HTTP round (p50 / p99 ms): " + ", ".join(
            f"{c} {last_http.percentile(0.5, c):.0f}/{last_http.percentile(0.99, c):.0f}"
            for c in last_http.by_command
        ))  # fmt: skip
        http_rates = [p.rate() for p in own if p.name == "HTTP API"]
        sdk_rates = [p.rate() for p in own if p.name == "SDK direct"]
        ratios = [h / s for h, s in zip(http_rates, sdk_rates, strict=True)]
        print(f"HTTP / SDK throughput ratio per round: {', '.join(f'{r:.2f}' for r in ratios)}")
        medians[target.label, "HTTP"] = statistics.median(http_rates)
        medians[target.label, "SDK"] = statistics.median(sdk_rates)
        print(
            f"median HTTP {medians[target.label, 'HTTP']:.0f}/s, "
            f"SDK {medians[target.label, 'SDK']:.0f}/s"
        )
    if {t.label for t in targets} == {ENCRYPTED, PLAINTEXT}:
        for path in ("HTTP", "SDK"):
            plain, sealed = medians[PLAINTEXT, path], medians[ENCRYPTED, path]
            print(
                f"encryption's cost, {path}: {plain:.0f}/s in plaintext, {sealed:.0f}/s "
                f"encrypted ({(sealed / plain - 1) * 100:+.1f}%)"
            )


async def probe_idle_latency(settings: Settings, samples: int = 40) -> None:
    """Where one synchronous command's time goes on an idle stack.

    Three orders, one per way of sending: a signal alone; a signal and at once the query
    (what the API does); a signal and the query once the workflow task is done. For each,
    the signal and query round trips and, from the history, how long each workflow task
    waited between scheduled and started.
    """
    client = await temporal.connect(settings)
    print("\n| way | signal p50 ms | query p50 ms | task scheduled->started p50 ms |")
    print("|---|---|---|---|")
    for offset, (way, query_delay) in enumerate(
        [("signal alone", None), ("signal, then query at once", 0.0),
         ("signal, then query 100 ms later", 0.1)]
    ):  # fmt: skip
        order_id = 2_000_000_000 + offset
        handle = await client.start_workflow(
            OrderWorkflow.run,
            _order_input(order_id),
            id=order_workflow_id(order_id),
            task_queue=settings.orders_task_queue,
        )
        signals: list[float] = []
        queries: list[float] = []
        for i in range(samples):
            started = time.perf_counter()
            await handle.signal(
                "updateOrderLocation", CommandSignal(f"probe-{i}", {"lat": 1, "lon": 1})
            )
            signals.append(time.perf_counter() - started)
            # Spacing the samples out is the point here, not a wait for a condition.
            await asyncio.sleep(query_delay or 0.1)
            if query_delay is not None:
                started = time.perf_counter()
                await handle.query(OrderWorkflow.outcome, f"probe-{i}")
                queries.append(time.perf_counter() - started)
        waits = await _schedule_to_start(handle)
        query_p50 = f"{statistics.median(queries) * 1000:.1f}" if queries else "-"
        print(
            f"| {way} | {statistics.median(signals) * 1000:.1f} | {query_p50} "
            f"| {statistics.median(waits) * 1000:.1f} |"
        )


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


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--orders", type=int, default=100, metavar="N", help="concurrent orders (%(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, metavar="N", help="HTTP and SDK rounds (%(default)s)"
    )
    parser.add_argument(
        "--probe", action="store_true", help="also break down one command's latency when idle"
    )
    parser.add_argument(
        "--extra-workers",
        type=int,
        default=0,
        metavar="N",
        help="more order worker processes to start",
    )
    parser.add_argument(
        "--open-orders",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[],
        metavar="N,N",
        help="instead: the order worker's memory with this many open orders, e.g. 1000,10000",
    )
    parser.add_argument(
        "--encryption",
        choices=("on", "off", "both"),
        default="on",
        help="payloads encrypted (on, as by default), in plaintext (off), or both: two "
        "stacks, their rounds interleaved, to measure what encryption costs (%(default)s)",
    )
    args = parser.parse_args(argv)
    labels = {"on": [ENCRYPTED], "off": [PLAINTEXT], "both": [ENCRYPTED, PLAINTEXT]}
    with ExitStack() as running:
        targets = []
        for label in labels[args.encryption]:
            stack = running.enter_context(embedded_stack(encryption=label == ENCRYPTED))
            extra = running.enter_context(extra_workers(stack, args.extra_workers))
            more = {f"orders-worker-{i + 2}": pid for i, pid in enumerate(extra)}
            targets.append(Target(label, stack, {**stack.pids, **more}))
        first = targets[0].stack
        if args.open_orders:
            asyncio.run(
                measure_memory(first.settings, first.pids["orders-worker"], args.open_orders)
            )
            return 0
        asyncio.run(run(targets, args.orders, args.rounds))
        if args.probe:
            asyncio.run(probe_idle_latency(first.settings))
    return 0


@contextmanager
def extra_workers(stack: RunningStack, count: int) -> Iterator[list[int]]:
    """``count`` more `orderflow worker orders` processes on the stack's server and task queue."""
    settings = stack.settings
    environment = service_environment(settings)
    processes = [
        subprocess.Popen(command_line("worker", "orders"), env=environment) for _ in range(count)
    ]
    try:
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


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
                _order_input(order_id),
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


if __name__ == "__main__":
    sys.exit(main())
