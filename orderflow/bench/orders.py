"""Benchmark: orders walked through their lifecycle, held against a bare baseline workflow.

``orderflow bench orders [--orders 100] [--rounds 2] [--encryption on|off|both]`` starts
the embedded stack (the same launcher as ``make run``) on free ports with a throw-away data
folder (two with ``--encryption both``, their rounds interleaved), and a worker for the bare
baseline (orderflow/bench/bare.py) on the same server. Per round, N concurrent orders are
walked through their eight commands each way:

* HTTP sync: ``PUT …/commands/…`` answered once applied (a 202 is followed to its outcome);
* HTTP 202: the same with ``Prefer: respond-async``, answered once recorded;
* SDK sync: the order workflow without the API (signal, then query the outcome);
* bare signal+query and bare signal: the baseline, with and without the query.

Then, on the idle stack, orders one at a time the same ways. Each phase's closed workflows
are counted (history events and workflow tasks per command). It prints, and writes to
``--report DIR``, a markdown table with the ratio of each path to its bare baseline, and a
PNG chart of the latency distributions. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import aiohttp
from temporalio.client import Client

from orderflow import temporal
from orderflow.bench import report
from orderflow.bench.memory import measure_memory
from orderflow.bench.probe import probe_idle_latency
from orderflow.bench.stack import (
    RunningStack,
    cpu_seconds,
    embedded_stack,
    extra_workers,
    http_connector,
    own_cpu_seconds,
    service_environment,
)
from orderflow.bench.walks import (
    Phase,
    Walk,
    register_customer,
    walk_bare,
    walk_over_http,
    walk_with_sdk,
)

ENCRYPTED, PLAINTEXT = "encrypted", "plaintext"


@dataclass
class Target:
    """One stack the rounds run against: its label (how it encrypts), address and pids."""

    label: str
    stack: RunningStack
    pids: dict[str, int]


async def measure(
    name: str, pids: dict[str, int], walks: Sequence[Walk], client: Client, *, one_by_one: bool
) -> Phase:
    """Walk every walk (all at once, or ``one_by_one``), then wait until each workflow walked
    has closed, so that what is left of this phase does not load the next, and count them."""
    phase = Phase(name)
    before = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
    started = time.perf_counter()
    if one_by_one:
        for walk in walks:
            await walk(phase)
    else:
        await asyncio.gather(*(walk(phase) for walk in walks))
    phase.seconds = time.perf_counter() - started
    after = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
    phase.cpu = {p: (after[p] - before[p]) / phase.seconds * 100 for p in before}
    await asyncio.gather(
        *(
            client.get_workflow_handle(wid).result(rpc_timeout=timedelta(seconds=60))
            for wid in phase.workflow_ids
        )
    )
    await report.count_history(client, phase)
    return phase


class Ids:
    """Order ids for the SDK's orders, apart from the database's."""

    def __init__(self) -> None:
        self._next = 1_000_000_000

    def take(self, count: int) -> range:
        self._next += count
        return range(self._next - count, self._next)


async def run_target(
    target: Target,
    session: aiohttp.ClientSession,
    client: Client,
    account_id: int,
    ids: Ids,
    *,
    orders: int,
    idle: bool,
) -> list[Phase]:
    """One round of every phase on one stack: ``orders`` at once, or (``idle``) one by one."""
    api, queue = target.stack.api, target.stack.settings.orders_task_queue
    walks: dict[str, list[Walk]] = {
        "HTTP sync": [partial(walk_over_http, session, api, account_id, False)] * orders,
        "HTTP 202": [partial(walk_over_http, session, api, account_id, True)] * orders,
        "SDK sync": [partial(walk_with_sdk, client, queue, i) for i in ids.take(orders)],
        "bare signal+query": [partial(walk_bare, client, True)] * orders,
        "bare signal": [partial(walk_bare, client, False)] * orders,
    }
    if idle:
        del walks["SDK sync"]
    prefix = "idle " if idle else ""
    return [
        await measure(prefix + name, target.pids, each, client, one_by_one=idle)
        for name, each in walks.items()
    ]


async def run(
    targets: Sequence[Target], orders: int, rounds: int, idle_orders: int, out: Path
) -> None:
    clients = [await temporal.connect(target.stack.settings) for target in targets]
    ids = Ids()
    phases: dict[str, list[Phase]] = {target.label: [] for target in targets}
    connector = http_connector(orders * len(targets))
    async with aiohttp.ClientSession(connector=connector) as session:
        accounts = [await register_customer(session, target.stack.api) for target in targets]
        together = list(zip(targets, clients, accounts, strict=True))
        for _ in range(rounds):
            for target, client, account in together:
                phases[target.label] += await run_target(
                    target, session, client, account, ids, orders=orders, idle=False
                )
        for target, client, account in together:
            if idle_orders:
                phases[target.label] += await run_target(
                    target, session, client, account, ids, orders=idle_orders, idle=True
                )
    out.mkdir(parents=True, exist_ok=True)
    heading = (
        f"{orders} concurrent orders x 8 commands, {rounds} round(s); idle: {idle_orders} "
        f"orders one at a time"
    )
    tables = [report.table(label, runs) for label, runs in phases.items()]
    text = "\n\n".join([heading, *tables]) + "\n"
    print("\n" + text)
    (out / "report.md").write_text(text)
    for label, runs in phases.items():
        report.chart(out / f"latency-{label}.png", f"{label}: {heading}", runs)
    print(f"report and charts written to {out}/")


@contextmanager
def bare_worker(stack: RunningStack) -> Iterator[int]:
    """The bare baseline's worker, a process of its own on the stack's server."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orderflow.bench.bare"],
        env=service_environment(stack.settings),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the worker says when it polls
        if "running" not in line:
            raise RuntimeError(f"the bare baseline worker did not start: {line!r}")
        yield process.pid
    finally:
        process.terminate()
        process.wait(60)


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    number = partial(parser.add_argument, type=int, metavar="N")
    number("--orders", default=100, help="concurrent orders (%(default)s)")
    number("--rounds", default=2, help="rounds of every phase (%(default)s)")
    number("--idle-orders", default=20, help="orders walked one at a time (%(default)s)")
    number("--extra-workers", default=0, help="more order worker processes to start")
    parser.add_argument("--report", type=Path, default=Path("bench-report"), metavar="DIR")
    parser.add_argument(
        "--probe", action="store_true", help="also break down one command's latency when idle"
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
            bare = running.enter_context(bare_worker(stack))
            targets.append(Target(label, stack, {**stack.pids, **more, "bare-worker": bare}))
        first = targets[0].stack
        if args.open_orders:
            worker = first.pids["orders-worker"]
            asyncio.run(measure_memory(first.settings, worker, args.open_orders))
            return 0
        asyncio.run(run(targets, args.orders, args.rounds, args.idle_orders, args.report))
        if args.probe:
            asyncio.run(probe_idle_latency(first.settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
