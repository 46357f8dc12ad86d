"""Retries with Idempotency-Key, Prefer: respond-async, and concurrent conflicting commands."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.helpers import command, create_order, eventually, register_customer


async def test_a_retried_create_returns_the_first_order(http: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-42-retry"}
    first_account = (await register_customer(http))["customerId"]
    other_account = (await register_customer(http))["customerId"]
    first = await http.post("/v1/orders", json={"accountId": first_account}, headers=headers)
    again = await http.post("/v1/orders", json={"accountId": first_account}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["orderId"] == first.json()["orderId"]
    assert again.headers["location"] == first.headers["location"]
    other = await http.post("/v1/orders", json={"accountId": other_account}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:orderflow:problem:idempotency-key-reused"


async def test_concurrent_creates_with_one_key_make_one_order(http: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-concurrently"}
    account = (await register_customer(http))["customerId"]
    responses = await asyncio.gather(
        *(http.post("/v1/orders", json={"accountId": account}, headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["orderId"] for r in responses}) == 1


async def test_a_retried_command_returns_the_first_outcome(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    key = {"Idempotency-Key": "assign-once"}
    href = order["_links"]["commands"]["href"] + "/assignOrder"
    first = await http.put(href, params={"restaurantId": 101}, headers=key)
    await command(http, order, "prepareOrder")
    again = await http.put(href, params={"restaurantId": 101}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json()["restaurantId"] == 101
    events = (await http.get(order["_links"]["events"]["href"])).json()
    assert [e["type"] for e in events["_embedded"]["orderEventList"]] == [
        "ORDER_CREATED", "ORDER_ASSIGNED", "ORDER_PREPARING",
    ]  # fmt: skip
    misused = await http.put(href, params={"restaurantId": 999}, headers=key)
    assert misused.status_code == 422
    assert misused.json()["type"] == "urn:orderflow:problem:idempotency-key-reused"


async def test_a_retried_refusal_is_refused_again(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    key = {"Idempotency-Key": "too-early"}
    href = order["_links"]["commands"]["href"] + "/orderReady"
    assert (await http.put(href, headers=key)).status_code == 409
    await command(http, order, "assignOrder", restaurantId=1)
    await command(http, order, "prepareOrder")
    # Now orderReady would be allowed, but this key's outcome was a refusal.
    assert (await http.put(href, headers=key)).status_code == 409
    assert (await http.put(href)).status_code == 200


async def test_retrying_the_command_that_closed_the_order(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    href = order["_links"]["commands"]["href"] + "/cancelOrder"
    key = {"Idempotency-Key": "cancel-1"}
    first = await http.put(href, headers=key)
    again = await http.put(href, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "ORDER_CANCELLED"


async def test_respond_async_answers_202_and_applies(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    href = order["_links"]["commands"]["href"] + "/updateOrderLocation"
    response = await http.put(
        href, params={"lat": 48.85, "lon": 2.35}, headers={"Prefer": "respond-async"}
    )
    assert response.status_code == 202
    assert response.headers["location"] == order["_links"]["self"]["href"]
    assert response.headers["preference-applied"] == "respond-async"
    assert response.json()["commandId"]
    # Once a 202 is answered the signal is in the history: a read shows it applied.
    read = (await http.get(response.headers["location"])).json()
    assert (read["lat"], read["lon"]) == (48.85, 2.35)
    bad = await http.put(href, params={"lat": 91, "lon": 0}, headers={"Prefer": "respond-async"})
    assert bad.status_code == 422


async def test_twenty_concurrent_conflicting_commands(http: httpx.AsyncClient) -> None:
    order = await create_order(http)

    async def race(name: str, **params: object) -> Counter[int]:
        responses = await asyncio.gather(*(command(http, order, name, **params) for _ in range(20)))
        for response in responses:
            if response.status_code == 409:
                body = response.json()
                assert body["type"] == "urn:orderflow:problem:command-not-allowed"
                assert body["orderStatus"] != "ORDER_CREATED" and body["allowedCommands"]
        return Counter(r.status_code for r in responses)

    assert await race("assignOrder", restaurantId=5) == {200: 1, 409: 19}
    assert await race("prepareOrder") == {200: 1, 409: 19}
    mixed = await asyncio.gather(
        *(command(http, order, "orderReady") for _ in range(10)),
        *(command(http, order, "cancelOrder") for _ in range(10)),
    )
    winners = [r for r in mixed if r.status_code == 200]
    assert len(winners) == 1 and Counter(r.status_code for r in mixed)[409] == 19

    events = (await http.get(order["_links"]["events"]["href"], params={"size": 100})).json()
    listed = events["_embedded"]["orderEventList"]
    assert [e["eventId"] for e in listed] == [1, 2, 3, 4]
    assert [e["type"] for e in listed][:3] == ["ORDER_CREATED", "ORDER_ASSIGNED", "ORDER_PREPARING"]
    assert listed[3]["orderStatus"] == winners[0].json()["status"]


async def test_concurrent_location_updates_all_land_in_order(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    await asyncio.gather(
        *(command(http, order, "updateOrderLocation", lat=i, lon=i) for i in range(1, 21))
    )

    async def all_there() -> None:
        events = (await http.get(order["_links"]["events"]["href"], params={"size": 50})).json()
        listed = events["_embedded"]["orderEventList"]
        assert [e["eventId"] for e in listed] == list(range(1, 22))
        assert sorted(e["lat"] for e in listed[1:]) == list(range(1, 21))

    await eventually(all_there)
