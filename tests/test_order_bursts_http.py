"""A burst of commands on one order, through the real API: nothing accepted is lost or
refused after the fact, the order stays readable, and an order past its rate is told so
(429) before anything is recorded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.settings import Settings
from tests.helpers import (
    create_order,
    eventually,
    isolated_settings,
    register_customer,
)
from tests.processes import api_process, worker_environment, worker_process

UPDATES = 10_000
SENDERS = 20
# The order's admitted rate (ORDER_COMMANDS_PER_SECOND, 50 by default): the test takes
# UPDATES / RATE seconds at least.
RATE = 100
ASYNC = {"Prefer": "respond-async"}


async def send_location(
    http: httpx.AsyncClient, order: dict[str, Any], key: str, n: int, refusals: list[str]
) -> httpx.Response:
    """One location update (the n-th: its latitude tells which), answered as soon as it is
    recorded, sent again (same key) after Retry-After for as long as the answer is 429 or
    503, as a client should: neither recorded anything."""
    href = order["_links"]["commands"]["href"] + "/updateOrderLocation"
    while True:
        try:
            response = await http.put(
                href,
                params={"lat": n / 1000, "lon": 1},
                headers={**ASYNC, "Idempotency-Key": key},
            )
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A kept-alive connection the server closed as the request went out: a retry
            # with the same key is safe (seen on CI once in 10,000 requests).
            refusals.append(f"closed {key}")
            continue
        if response.status_code not in (429, 503):
            return response
        refusals.append(f"{response.status_code} {key}")
        await asyncio.sleep(int(response.headers["retry-after"]))


async def all_events(http: httpx.AsyncClient, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's whole event log, page by page, following ``next`` links."""
    seen: list[dict[str, Any]] = []
    href: str | None = order["_links"]["events"]["href"] + "?size=500"
    while href:
        response = await http.get(href)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["_embedded"]["orderEventList"]
        href = body["_links"].get("next", {}).get("href")
    return seen


@pytest.mark.timeout(300)  # UPDATES / RATE: 100 s, and reading the log back
async def test_ten_thousand_location_updates_on_one_order(
    settings: Settings, worker: None, tmp_path: Path
) -> None:
    """20 senders, each sending its share one after another as fast as the API accepts
    them: every update answered 202 is applied once, each sender's in the order it sent
    them, and a reader finds the order (200) throughout. The API and the worker are
    processes of their own, as deployed (and so the test's clients have a core to use)."""
    own = isolated_settings(settings)
    with (
        worker_process(own, "orders"),
        api_process(
            tmp_path,
            "--log-level",
            "warning",
            **worker_environment(own),
            ORDER_COMMANDS_PER_SECOND=str(RATE),
            ORDER_COMMAND_BURST=str(RATE),
        ) as api,
    ):
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            order = await create_order(http, (await register_customer(http))["customerId"])
            sent: list[list[int]] = [[] for _ in range(SENDERS)]
            reads: list[int] = []
            unreadable: list[str] = []
            # 429s: the order shedding load before accepting; 503s: Temporal busy, and
            # nothing recorded
            refusals: list[str] = []
            done = asyncio.Event()

            async def sender(s: int) -> None:
                for n in range(s, UPDATES, SENDERS):
                    response = await send_location(http, order, f"burst-{n}", n, refusals)
                    assert response.status_code == 202, response.text
                    sent[s].append(n)

            async def reader() -> None:
                while not done.is_set():
                    try:
                        read = await http.get(order["_links"]["self"]["href"])
                    except (httpx.ReadError, httpx.RemoteProtocolError):
                        continue  # a kept-alive connection closed under it: ask again
                    reads.append(read.status_code)
                    if read.status_code != 200:
                        unreadable.append(read.text)
                    await asyncio.sleep(0.05)

            reading = asyncio.create_task(reader())
            started = time.monotonic()
            try:
                await asyncio.gather(*(sender(s) for s in range(SENDERS)))
            finally:
                done.set()
                await reading
            took = time.monotonic() - started
            assert reads and set(reads) == {200}, f"{len(reads)} reads: {unreadable}"

            async def all_applied() -> None:
                response = await http.get(order["_links"]["events"]["href"] + "?size=1")
                assert response.status_code == 200
                assert response.json()["page"]["totalElements"] == UPDATES + 1

            await eventually(all_applied, timeout=60, interval=0.5)
            events = await all_events(http, order)
    assert [e["eventId"] for e in events] == list(range(1, UPDATES + 2))
    updates = events[1:]
    assert [e["commandId"] for e in updates if e["type"] == "ORDER_LOCATION_UPDATED"] == [
        e["commandId"] for e in updates
    ]
    applied = [int(e["commandId"].removeprefix("burst-")) for e in updates]
    assert sorted(applied) == list(range(UPDATES))  # each accepted update, exactly once
    assert [e["lat"] for e in updates] == [n / 1000 for n in applied]
    for s, mine in enumerate(sent):
        assert [n for n in applied if n % SENDERS == s] == mine  # in the order sent
    kinds = {kind: sum(r.startswith(kind) for r in refusals) for kind in ("429", "503", "closed")}
    print(f"{UPDATES} updates in {took:.0f} s, sent again: {kinds}, {len(reads)} reads")
