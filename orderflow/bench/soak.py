"""Soak: mixed load at a steady, moderate rate for a set time, then a verdict.

``orderflow bench soak [--minutes 10]`` starts the embedded stack (dev server, orders and
customers workers, API) with a PostgreSQL database of its own, and for the set time:

* places orders (``--orders-per-second``) and walks each to delivered with ``PUT
  …/commands/…``, a burst of location updates (``Prefer: respond-async``) once a driver has
  it, and reads; at the end of each walk, the order and its event log are checked;
* registers customers (``--registrations-per-second``) and reads each back (by id, by
  email, its events) and a page of the feed;
* keeps live subscribers on ``/v1/events/stream``, half of them leaving and coming back
  with ``Last-Event-ID`` now and then; at the end each must have received every event of
  the feed from its first one on, once and in order.

It samples the resident memory of each process every few seconds and prints a report:
requests by kind and status, p50/p99, memory at start, after warm-up, at the end and at
most. It exits 1 on any 5xx, stuck request (no answer within ``--stuck-after``), failed
connection, unexpected answer, wrong order, subscriber that missed or waited too long for
events, restarted process, or growth of the API's or a worker's memory after warm-up above
``--max-growth-mib``. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from orderflow.bench.soak_arrivals import Arrivals
from orderflow.bench.soak_load import BURST_SENDERS, STEPS, Load
from orderflow.bench.soak_memory import MemorySampler
from orderflow.bench.soak_options import options
from orderflow.bench.soak_report import render, summarise
from orderflow.bench.soak_streams import Streams, Subscriber, check_against_feed, settle
from orderflow.bench.stack import (
    RunningStack,
    cpu_seconds,
    embedded_stack,
    http_connector,
    own_cpu_seconds,
    throwaway_postgres,
)


async def soak(stack: RunningStack, args: argparse.Namespace) -> dict[str, Any]:
    # No pool limit: requests queued inside the client would look like a slow server.
    connector = http_connector(0)
    async with aiohttp.ClientSession(connector=connector) as session:
        load = Load(session, stack.api, args.stuck_after, args.burst)
        await load.register_and_read()  # someone to order for, before the clock starts
        if not load.accounts:
            raise SystemExit(f"could not register a first customer: {load.samples}")
        subscribers = [
            Subscriber(f"subscriber {i + 1}", args.reconnect_every if i % 2 else None)
            for i in range(args.subscribers)
        ]
        streams = Streams(load, subscribers)
        following = [asyncio.create_task(streams.follow(sub)) for sub in subscribers]
        await _until(lambda: all(sub.connections for sub in subscribers), args.stuck_after)

        sampler = MemorySampler(dict(stack.pids), args.sample_seconds)
        sampling_done = asyncio.Event()
        sampling = asyncio.create_task(sampler.run(sampling_done))
        cpu_before = _cpu(stack.pids)
        started = time.monotonic()
        until = started + args.minutes * 60
        orders = Arrivals("orders", args.orders_per_second, args.max_in_flight)
        registrations = Arrivals("registrations", args.registrations_per_second, args.max_in_flight)
        progress = asyncio.create_task(_progress(load, sampler, started, args.minutes * 60))
        await asyncio.gather(
            orders.run(load.walk_order, until), registrations.run(load.register_and_read, until)
        )
        arrivals_ended = time.monotonic()
        cut_off = await orders.drain(2 * args.stuck_after)
        cut_off += await registrations.drain(2 * args.stuck_after)
        seconds = time.monotonic() - started
        progress.cancel()
        streams.load_running = False
        sampling_done.set()
        await sampling
        cpu_after = _cpu(stack.pids)

        await _finish(streams, following, args.stuck_after)

    return summarise(
        args=args,
        seconds=seconds,
        drain_seconds=started + seconds - arrivals_ended,
        load=load,
        arrivals=[orders, registrations],
        cut_off=cut_off,
        subscribers=subscribers,
        memory=sampler.figures(started + args.warm_up),
        gone=sorted(sampler.gone),
        cpu={p: (cpu_after[p] - cpu_before[p]) / seconds * 100 for p in cpu_before},
        restarts=stack.restarts(),
        machine_load=sampler.machine_load,
        mix=(
            f"{args.orders_per_second:g} orders/s (create, {len(STEPS)} commands, "
            f"{args.burst} location updates from {BURST_SENDERS} senders, reads); "
            f"{args.registrations_per_second:g} registrations/s (and 4 reads each); "
            f"{args.subscribers} live subscribers ({args.subscribers // 2} reconnecting "
            f"about every {args.reconnect_every:g} s)"
        ),
    )


async def _finish(streams: Streams, following: list[asyncio.Task[None]], bound: float) -> None:
    """Once every subscriber has caught up with the feed, stop them and check each against
    it."""
    feed = await settle(streams, bound)
    streams.stop.set()
    _, lingering = await asyncio.wait(following, timeout=bound)
    for task in lingering:
        task.cancel()
    await asyncio.gather(*following, return_exceptions=True)
    for sub in streams.subscribers:
        check_against_feed(sub, feed)


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    readings: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            readings[name] = cpu_seconds(pid)
        except OSError:
            readings[name] = 0.0
    return readings | {"load": own_cpu_seconds()}


async def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _progress(load: Load, sampler: MemorySampler, started: float, total: float) -> None:
    """A line now and then, so a long run shows it is alive and how it goes."""
    every = min(60.0, max(10.0, total / 10))
    while True:
        await asyncio.sleep(every)
        kinds = load.kinds.values()
        latest = sampler.samples[-1][1] if sampler.samples else {}
        memory = ", ".join(f"{name} {mib:.0f}" for name, mib in latest.items())
        print(
            f"[{(time.monotonic() - started) / 60:4.1f} min] "
            f"{sum(k.requests for k in kinds)} requests, "
            f"{sum(k.server_errors for k in kinds)} 5xx, {sum(k.stuck for k in kinds)} stuck, "
            f"{load.walks['completed']}/{load.walks['started']} orders walked; "
            f"RSS MiB: {memory}",
            flush=True,
        )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    args = options(argv, prog)
    with throwaway_postgres(args.postgres_url) as url, embedded_stack(url) as stack:
        report = asyncio.run(soak(stack, args))
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
