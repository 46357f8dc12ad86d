"""A crashed worker loses nothing: two orders workers, orders walked over HTTP, one worker
SIGKILLed mid-way. Every order ends delivered with an exact event log, and no client is
told 5xx (a command whose outcome was late is a 202 that later reads applied)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx

from orderflow.settings import Settings
from tests.helpers import (
    WALK,
    command,
    create_order,
    decided_outcome,
    eventually,
    isolated_settings,
    register_customer,
    running_api,
)
from tests.processes import worker_process

ORDERS = 120


async def walk_with_keys(api: httpx.AsyncClient, order: dict[str, Any]) -> list[int]:
    """Walk the order; a 202 is followed to its outcome, a 5xx retried with the same key
    (safe by contract). Returns every status code answered."""
    answered: list[int] = []
    for step, (name, params, status) in enumerate(WALK):
        key = {"Idempotency-Key": f"walk-{order['orderId']}-{step}"}
        href = order["_links"]["commands"]["href"] + f"/{name}"
        response = await api.put(href, params=params, headers=key)
        answered.append(response.status_code)
        if response.status_code == 202:
            outcome = await decided_outcome(api, response.headers["location"], timeout=90)
            assert outcome["status"] == "applied", outcome
        else:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
    return answered


async def assert_exact_log(api: httpx.AsyncClient, order: dict[str, Any]) -> None:
    page = (await api.get(order["_links"]["events"]["href"], params={"size": 50})).json()
    events = page["_embedded"]["orderEventList"]
    assert [e["eventId"] for e in events] == list(range(1, len(WALK) + 2))
    assert [e["type"] for e in events] == ["ORDER_CREATED", *(s for _, _, s in WALK)]


async def test_a_killed_worker_loses_no_order_and_no_client_is_told_5xx(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(settings)
    with worker_process(own, "orders") as first, worker_process(own, "orders") as second:
        async with running_api(own) as api:
            keyed = [await create_order(api, account) for _ in range(ORDERS)]
            bare = [await create_order(api, account) for _ in range(ORDERS // 4)]
            walks = asyncio.gather(
                *(walk_with_keys(api, order) for order in keyed),
                *(walk_without_keys(api, order) for order in bare),
            )

            async def under_way() -> None:
                done = (await api.get(keyed[-1]["_links"]["self"]["href"])).json()
                assert done["status"] != "ORDER_CREATED"

            await eventually(under_way, timeout=60)
            first.send_signal(signal.SIGKILL)
            answered = [code for codes in await walks for code in codes]
            assert first.wait(10) == -signal.SIGKILL and second.poll() is None
            assert not [code for code in answered if code >= 500]
            for order in keyed:
                await assert_exact_log(api, order)
            for order in bare:
                final = (await api.get(order["_links"]["self"]["href"])).json()
                assert final["status"] == "ORDER_DELIVERED", final


async def walk_without_keys(api: httpx.AsyncClient, order: dict[str, Any]) -> list[int]:
    """Without keys a 202 is still followed to its outcome; a 503 would have to mean
    nothing was recorded, so the walk may repeat the step, and must then still succeed."""
    answered: list[int] = []
    for name, params, _status in WALK:
        response = await command(api, order, name, **params)
        answered.append(response.status_code)
        if response.status_code == 202:
            location = response.headers["location"]

            async def decided(location: str = location) -> None:
                assert (await api.get(location)).json()["status"] == "applied"

            await eventually(decided, timeout=90)
        else:
            assert response.status_code == 200, response.text
    return answered
