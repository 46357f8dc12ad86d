"""The published events: an ordered, paged feed with a cursor, and a live SSE stream that
resumes after Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.helpers import command, create_order, eventually, register_customer


async def newest(http: httpx.AsyncClient) -> int:
    """The newest position: follow `next` links from the start to the end of the feed."""
    cursor = 0
    while True:
        body = (await http.get("/v1/events", params={"after": cursor, "limit": 500})).json()
        events = body["_embedded"]["events"]
        if not events:
            return cursor
        cursor = int(events[-1]["sequence"])


async def test_the_feed_is_ordered_paged_and_filterable(http: httpx.AsyncClient) -> None:
    start = await newest(http)
    customer = await register_customer(http)
    order = await create_order(http, customer["customerId"])
    await command(http, order, "assignOrder", restaurantId=3)
    await http.patch(customer["_links"]["self"]["href"], json={"lastName": "Byron"})

    async def published() -> list[dict[str, Any]]:
        body = (await http.get("/v1/events", params={"after": start})).json()
        mine = [e for e in body["_embedded"]["events"]
                if e["subject"] in (str(customer["customerId"]), str(order["orderId"]))]  # fmt: skip
        assert len(mine) == 4, mine
        return mine

    mine = await eventually(published)
    # Commit order across sources (order events are published in batches, a little later);
    # within each source, the order things happened in.
    assert sorted(e["type"] for e in mine) == [
        "CustomerRegistered", "CustomerUpdated", "OrderAssigned", "OrderCreated",
    ]  # fmt: skip
    by_source = {e["source"]: [] for e in mine}
    for event in mine:
        by_source[event["source"]].append(event["type"])
    assert by_source[f"/v1/customers/{customer['customerId']}"] == [
        "CustomerRegistered",
        "CustomerUpdated",
    ]
    assert by_source[f"/v1/orders/{order['orderId']}"] == ["OrderCreated", "OrderAssigned"]
    positions = [int(e["sequence"]) for e in mine]
    assert positions == sorted(positions)
    order_event = next(e for e in mine if e["type"] == "OrderAssigned")
    assert order_event["source"] == f"/v1/orders/{order['orderId']}"
    assert order_event["data"]["eventId"] == 2 and order_event["data"]["restaurantId"] == 3
    assert order_event["id"] == f"order-{order['orderId']}-2"

    # Paging with the cursor: one event a page, following next links.
    href = f"/v1/events?after={start}&limit=1"
    walked: list[str] = []
    while len(walked) < 40:
        body = (await http.get(href)).json()
        if not body["_embedded"]["events"]:
            break
        walked += [e["id"] for e in body["_embedded"]["events"]]
        href = body["_links"]["next"]["href"]
    assert [e["id"] for e in mine] == [i for i in walked if i in {e["id"] for e in mine}]

    only = (await http.get("/v1/events", params={"after": start, "type": "CustomerUpdated"})).json()
    assert {e["type"] for e in only["_embedded"]["events"]} == {"CustomerUpdated"}
    assert (await http.get("/v1/events", params={"after": -1})).status_code == 422


async def read_stream(http: httpx.AsyncClient, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Read ``count`` events from the SSE stream (bounded by a timeout)."""
    received: list[dict[str, Any]] = []

    async def read() -> None:
        async with http.stream("GET", "/v1/events/stream", **kwargs) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line == "":
                    if "data" in fields:
                        received.append({"id": fields["id"], "event": fields["event"],
                                         "data": json.loads(fields["data"])})  # fmt: skip
                        if len(received) == count:
                            return
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value

    await asyncio.wait_for(read(), timeout=30)
    return received


async def test_the_stream_delivers_live_and_resumes(http: httpx.AsyncClient) -> None:
    start = await newest(http)
    email_types = {"params": {"type": "CustomerRegistered", "after": start}}
    listener = asyncio.create_task(read_stream(http, 1, **email_types))
    first = await register_customer(http)
    [live] = await listener
    assert live["event"] == "CustomerRegistered"
    assert live["data"]["data"]["customerId"] == first["customerId"]
    assert int(live["id"]) > start

    second = await register_customer(http)
    # Reconnect with Last-Event-ID: exactly what came after, no repeat.
    resumed = await read_stream(
        http, 1, params={"type": "CustomerRegistered"}, headers={"Last-Event-ID": live["id"]}
    )
    assert resumed[0]["data"]["data"]["customerId"] == second["customerId"]
    assert int(resumed[0]["id"]) > int(live["id"])
