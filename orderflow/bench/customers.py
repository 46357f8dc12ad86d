"""Benchmark the Customer API: registrations per second over HTTP, and how long a published
event takes from its transaction to a Server-Sent Events subscriber.

``orderflow bench customers [--registrations 400] [--concurrency 40] [--postgres]``
runs on the embedded stack with its SQLite file, or (``--postgres``) with a throw-away
database on the local PostgreSQL. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import aiohttp

from orderflow.bench.stack import (
    cpu_seconds,
    embedded_stack,
    http_connector,
    own_cpu_seconds,
    throwaway_postgres,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def register(session: aiohttp.ClientSession, api: str, latencies: list[float]) -> None:
    body = {"firstName": "Bench", "lastName": "Mark", "email": f"b-{uuid.uuid4()}@example.com"}
    started = time.perf_counter()
    async with session.post(f"{api}/v1/customers", json=body) as response:
        assert response.status == 201, await response.text()
        await response.read()
    latencies.append(time.perf_counter() - started)


async def registrations(api: str, pids: dict[str, int], total: int, concurrency: int) -> None:
    latencies: list[float] = []
    queue: asyncio.Queue[None] = asyncio.Queue()
    for _ in range(total):
        queue.put_nowait(None)

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            queue.get_nowait()
            await register(session, api, latencies)

    async with aiohttp.ClientSession(connector=http_connector(concurrency)) as session:
        before = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        after = {p: cpu_seconds(pid) for p, pid in pids.items()} | {"load": own_cpu_seconds()}
    cpu = ", ".join(f"{p} {(after[p] - before[p]) / seconds * 100:.0f}%" for p in before)
    print(
        f"registrations: {total} with {concurrency} concurrent clients in {seconds:.1f} s = "
        f"{total / seconds:.0f}/s; latency p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; CPU {cpu}"
    )


async def sse_latency(api: str, events: int, rate: float) -> None:
    """Register ``events`` customers at ``rate`` per second while a subscriber listens; for
    each event, the time from its timestamp (taken in the transaction) to its arrival."""
    delays: list[float] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{api}/v1/events/stream", params={"type": "CustomerRegistered"}
        ) as stream:
            assert stream.status == 200

            async def produce() -> None:
                for _ in range(events):
                    await register(session, api, [])
                    await asyncio.sleep(1 / rate)  # a steady trickle, not a burst

            producer = asyncio.create_task(produce())
            async for raw in stream.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    stamped = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
                    delays.append(time.time() - stamped.timestamp())
                    if len(delays) == events:
                        break
            await producer
    print(
        f"outbox to SSE subscriber: {events} events at {rate:g}/s: p50 "
        f"{statistics.median(delays) * 1000:.0f} ms, p99 {percentile(delays, 0.99) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms"
    )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--registrations", type=int, default=400, metavar="N", help="how many (%(default)s)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=40, metavar="N", help="at once (%(default)s)"
    )
    parser.add_argument(
        "--sse-events",
        type=int,
        default=200,
        metavar="N",
        help="events timed to a live subscriber (%(default)s)",
    )
    parser.add_argument(
        "--sse-rate",
        type=float,
        default=20.0,
        metavar="PER_S",
        help="published per second while timing them (%(default)s)",
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)

    @contextmanager
    def database() -> Iterator[str | None]:
        if not args.postgres:
            yield None
            return
        with throwaway_postgres() as url:
            yield url

    with database() as url, embedded_stack(url) as stack:
        asyncio.run(registrations(stack.api, stack.pids, args.registrations, args.concurrency))
        asyncio.run(sse_latency(stack.api, args.sse_events, args.sse_rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
