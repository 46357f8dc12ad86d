"""The audit trail: every order and customer event names its actor — the API key that
caused it, ``anonymous`` without keys, ``unknown`` for what was recorded before actors were
(or sent to Temporal by other means) — in the event log, the published CloudEvents (feed
and live stream) and the catalog's schemas."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.converter import default

from api.http.links import Links
from api.published.catalog import build_catalog
from api.published.models import CloudEvent
from orderflow.database.outbox import new_event
from orderflow.messages import OrderEventData
from orderflow.settings import Settings
from tests.api_keys import as_bearer, as_key, keyed_settings
from tests.helpers import create_order, eventually, running_api
from workflows.order_machine import EventType, OrderStatus
from workflows.order_names import order_workflow_id
from workflows.order_signals import CommandSignal
from workflows.order_types import OrderEvent


@pytest_asyncio.fixture
async def keyed(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(keyed_settings(settings)) as http:
        yield http


async def newest(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    cursor = 0
    while True:
        page = await http.get("/v1/events", params={"after": cursor, "limit": 500}, headers=headers)
        events = page.json()["_embedded"]["events"]
        if not events:
            return cursor
        cursor = int(events[-1]["sequence"])


async def published(
    http: httpx.AsyncClient, after: int, subjects: set[str], count: int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The feed's events about ``subjects`` after ``after``, once there are ``count``."""

    async def all_there() -> list[dict[str, Any]]:
        page = await http.get("/v1/events", params={"after": after}, headers=headers)
        mine = [e for e in page.json()["_embedded"]["events"] if e["subject"] in subjects]
        assert len(mine) == count, mine
        return mine

    return await eventually(all_there, timeout=30)


async def streamed(
    http: httpx.AsyncClient, after: int, subjects: set[str], count: int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The same, read from the live stream resumed after ``after``."""
    found: list[dict[str, Any]] = []

    async def read() -> None:
        resume = {**headers, "Last-Event-ID": str(after)}
        async with http.stream("GET", "/v1/events/stream", headers=resume) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    if event["subject"] in subjects:
                        found.append(event)
                        if len(found) == count:
                            return

    await asyncio.wait_for(read(), timeout=30)
    return found


def actors(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return [(e["type"], e["data"]["actor"], e["authtype"], e.get("authid")) for e in events]


async def test_each_event_names_the_key_that_caused_it(
    keyed: httpx.AsyncClient, client: Client
) -> None:
    start = await newest(keyed, as_key("feed"))
    body = {"firstName": "Ada", "lastName": "L", "email": f"{uuid.uuid4()}@example.com"}
    registered = await keyed.post("/v1/customers", json=body, headers=as_key("crm"))
    assert registered.status_code == 201, registered.text
    customer_id = registered.json()["customerId"]
    patched = await keyed.patch(
        f"/v1/customers/{customer_id}", json={"lastName": "Byron"}, headers=as_bearer("ops")
    )
    assert patched.status_code == 200, patched.text
    order = await keyed.post("/v1/orders", json={"accountId": customer_id}, headers=as_key("shop"))
    order_id = order.json()["orderId"]
    commands = f"/v1/orders/{order_id}/commands"
    assigned = await keyed.put(
        f"{commands}/assignOrder?restaurantId=7",
        headers={**as_key("shop"), "Idempotency-Key": "assign"},
    )
    assert assigned.status_code == 200, assigned.text
    moved = await keyed.put(f"{commands}/updateOrderLocation?lat=1&lon=2", headers=as_bearer("ops"))
    assert moved.status_code == 200, moved.text
    # A command signalled to Temporal directly, as before actors (or by another tool).
    handle = client.get_workflow_handle(order_workflow_id(order_id))
    raw = {"command_id": "raw", "parameters": {"lat": 3, "lon": 4}}
    await handle.signal("updateOrderLocation", raw)

    async def log() -> list[dict[str, Any]]:
        page = await keyed.get(f"/v1/orders/{order_id}/events", headers=as_key("reader"))
        events: list[dict[str, Any]] = page.json()["_embedded"]["orderEventList"]
        assert len(events) == 4, events
        return events

    assert [e["actor"] for e in await log()] == ["shop", "shop", "ops", "unknown"]
    outcome = await keyed.get(f"/v1/orders/{order_id}/outcomes/assign", headers=as_key("shop"))
    assert outcome.json()["_embedded"]["event"]["actor"] == "shop"
    customer_events = await keyed.get(f"/v1/customers/{customer_id}/events", headers=as_key("crm"))
    assert actors(customer_events.json()["_embedded"]["events"]) == [
        ("CustomerRegistered", "crm", "api_key", "crm"),
        ("CustomerUpdated", "ops", "api_key", "ops"),
    ]

    subjects = {str(customer_id), str(order_id)}
    expected = {
        ("CustomerRegistered", "crm", "api_key", "crm"),
        ("CustomerUpdated", "ops", "api_key", "ops"),
        ("OrderCreated", "shop", "api_key", "shop"),
        ("OrderAssigned", "shop", "api_key", "shop"),
        ("OrderLocationUpdated", "ops", "api_key", "ops"),
        ("OrderLocationUpdated", "unknown", "unknown", None),
    }
    feed = await published(keyed, start, subjects, 6, as_key("feed"))
    assert sorted(actors(feed), key=str) == sorted(expected, key=str)
    live = await streamed(keyed, start, subjects, 6, as_bearer("feed"))
    assert sorted(actors(live), key=str) == sorted(expected, key=str)


async def test_without_keys_the_actor_is_anonymous(http: httpx.AsyncClient) -> None:
    start = await newest(http, {})
    order = await create_order(http)
    customer_id = order["accountId"]
    moved = await http.put(
        f"/v1/orders/{order['orderId']}/commands/updateOrderLocation?lat=1&lon=2"
    )
    assert moved.status_code == 200, moved.text
    log = (await http.get(f"/v1/orders/{order['orderId']}/events")).json()
    assert [e["actor"] for e in log["_embedded"]["orderEventList"]] == ["anonymous"] * 2
    subjects = {str(customer_id), str(order["orderId"])}
    feed = await published(http, start, subjects, 3, {})
    assert {(e["data"]["actor"], e["authtype"], e.get("authid")) for e in feed} == {
        ("anonymous", "unauthenticated", None)
    }


def test_what_was_recorded_before_actors_reads_as_unknown() -> None:
    # A signal of an API from before actors, and one that names no actor's name.
    assert CommandSignal.read([{"command_id": "a", "parameters": {}}]).actor == "unknown"
    assert CommandSignal.read([{"command_id": "a", "actor": "x y"}]).actor == "unknown"
    assert CommandSignal.read([{"command_id": "a", "actor": "shop"}]).actor == "shop"
    # An event carried over continue-as-new from a run before actors.
    converter = default().payload_converter
    before = {"event_id": 1, "order_id": 1, "type": "ORDER_CREATED",
              "order_status": "ORDER_CREATED", "created_at": 1}  # fmt: skip
    [payload] = converter.to_payloads([before])
    event = converter.from_payloads([payload], [OrderEvent])[0]
    assert event.actor == "unknown" and event.type == EventType.ORDER_CREATED
    # An event published before actors, read back from the outbox and shown in the feed.
    event = OrderEvent(1, 1, EventType.ORDER_CREATED, OrderStatus.ORDER_CREATED, 1)
    data = OrderEventData.from_event(event).wire()
    del data["actor"]
    assert OrderEventData.model_validate(data).event().actor == "unknown"
    row = new_event(
        event_id="order-1-1",
        type="OrderCreated",
        source="/v1/orders/1",
        subject="1",
        data=data,
        time=datetime.now(UTC),
    )
    row.position = 1
    shown = CloudEvent.of(row, Links("http://test", ui_url="http://ui", namespace="default"))
    assert shown.data["actor"] == "unknown" and shown.authtype == "unknown"
    assert shown.authid is None


def test_every_event_schema_requires_its_actor() -> None:
    events = [m for m in build_catalog() if m.kind == "event"]
    assert len(events) > 10
    for message in events:
        # A customer event is one of two shapes (as published, and once its customer was
        # erased): each requires the actor.
        choices = message.schema.get("anyOf", [message.schema])
        for choice in choices:
            if "$ref" in choice:
                choice = message.schema["$defs"][choice["$ref"].rsplit("/", 1)[-1]]
            assert "actor" in choice["required"], message.name
            assert choice["properties"]["actor"]["maxLength"] == 32
