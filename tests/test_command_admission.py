"""Per-order admission: an order's commands beyond its rate are answered 429 with
Retry-After before anything is recorded; other orders, and retries of commands already
decided, are not held back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from temporalio.client import Client

from api.orders.admission import CommandAdmission
from orderflow.settings import Settings
from tests.helpers import (
    assert_problem,
    command,
    create_order,
    eventually,
    isolated_settings,
    register_customer,
    running_api,
    running_worker,
)

ASYNC = {"Prefer": "respond-async"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_admits_its_burst_then_its_rate() -> None:
    clock = Clock()
    admission = CommandAdmission(rate=2, burst=3, clock=clock)
    assert [admission.take(1) for _ in range(4)] == [0, 0, 0, 1]
    assert admission.take(2) == 0  # each order has its own bucket
    clock.now += 0.5  # one token back
    assert [admission.take(1), admission.take(1)] == [0, 1]
    clock.now += 10  # full again, never more than the burst
    assert [admission.take(1) for _ in range(4)] == [0, 0, 0, 1]


def test_retry_after_is_whole_seconds_until_a_token() -> None:
    clock = Clock()
    admission = CommandAdmission(rate=0.25, burst=1, clock=clock)
    assert admission.take(1) == 0
    assert admission.take(1) == 4
    clock.now += 3.5
    assert admission.take(1) == 1


def test_a_bucket_remembers_the_keys_it_admitted() -> None:
    admission = CommandAdmission(rate=1, burst=1, clock=Clock())
    assert admission.take(1, "first") == 0
    assert admission.take(1, "second") == 1
    assert admission.admitted_before(1, "first")
    assert not admission.admitted_before(1, "second") and not admission.admitted_before(2, "first")


def test_buckets_of_idle_orders_are_dropped() -> None:
    admission = CommandAdmission(rate=1, burst=1, max_orders=3, clock=Clock())
    for order_id in range(10):
        admission.take(order_id)
    assert len(admission) == 3


async def send(
    http: httpx.AsyncClient, order: dict[str, Any], key: str, n: int, **headers: str
) -> httpx.Response:
    href = order["_links"]["commands"]["href"] + "/updateOrderLocation"
    return await http.put(
        href, params={"lat": n / 10, "lon": 1}, headers={"Idempotency-Key": key, **headers}
    )


async def logged_commands(http: httpx.AsyncClient, order: dict[str, Any]) -> list[str]:
    response = await http.get(order["_links"]["events"]["href"], params={"size": 100})
    assert response.status_code == 200, response.text
    return [e.get("commandId") for e in response.json()["_embedded"]["orderEventList"][1:]]


async def test_a_burst_beyond_the_rate_is_refused_before_it_is_recorded(
    settings: Settings, client: Client, worker: None
) -> None:
    own = isolated_settings(settings, order_commands_per_second=0.2, order_command_burst=5)
    async with running_worker(client, own), running_api(own) as http:
        account = (await register_customer(http))["customerId"]
        order, other = await create_order(http, account), await create_order(http, account)
        answers = await asyncio.gather(
            *(send(http, order, f"b-{n}", n, **ASYNC) for n in range(20))
        )
        accepted = {f"b-{n}" for n, a in enumerate(answers) if a.status_code == 202}
        refused = [(n, a) for n, a in enumerate(answers) if a.status_code != 202]
        assert len(accepted) >= 5 and refused, [a.status_code for a in answers]
        for _, answer in refused:
            assert_problem(answer, 429, "too-many-commands")
            assert int(answer.headers["retry-after"]) >= 1

        # Another order is not held back by this one.
        assert (await command(http, other, "updateOrderLocation", lat=1, lon=1)).status_code == 200

        async def all_applied() -> None:
            assert sorted(await logged_commands(http, order)) == sorted(accepted)

        await eventually(all_applied, timeout=30)
        # With the bucket empty again, a retry of a decided command is answered from its
        # outcome (it sends nothing), while a new command is refused.
        n = 100
        while (drained := await send(http, order, f"b-{n}", n, **ASYNC)).status_code == 202:
            accepted.add(f"b-{n}")
            n += 1
        assert_problem(drained, 429, "too-many-commands")
        key = min(accepted)
        retried = await send(http, order, key, int(key.removeprefix("b-")))
        assert retried.status_code == 200, retried.text
        await eventually(all_applied, timeout=30)
        assert not {f"b-{n}" for n, _ in refused} & set(await logged_commands(http, order))
