"""The soak's request load: orders walked through their lifecycle with a burst of location
updates on the way, customer registrations followed by reads. Every request goes through
the counting client (soak_client.py): bounded, counted by kind and status, and an answer
outside the kind's expected statuses kept as a sample."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from orderflow.bench.soak_client import CountingClient

DELIVERED = "ORDER_DELIVERED"
STEPS: list[tuple[str, dict[str, str]]] = [
    ("assignOrder", {"restaurantId": "101"}),
    ("prepareOrder", {}),
    ("orderReady", {}),
    ("assignDriver", {"driverId": "7"}),
    ("orderPickedUp", {}),
    ("deliverOrder", {}),
    ("orderDelivered", {}),
]
BURST_BEFORE = "orderPickedUp"  # the driver has the order: it reports where it is
BURST_SENDERS = 4


@dataclass
class Load(CountingClient):
    """The client side of the soak: its flows, over one counting client."""

    burst: int
    accounts: list[int] = field(default_factory=list)
    walks: Counter[str] = field(default_factory=Counter)  # started, completed, …
    # Commands answered 202 that, as their outcome resource said later, were not applied.
    not_applied: Counter[str] = field(default_factory=Counter)
    wrong_orders: list[str] = field(default_factory=list)

    async def walk_order(self) -> None:
        """Place an order for a registered customer, walk it to delivered (a burst of
        location updates once a driver has it), then check its state and its event log."""
        self.walks["started"] += 1
        created = await self.call(
            "create order",
            "POST",
            f"{self.api}/v1/orders",
            json={"accountId": random.choice(self.accounts)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            expect={201},
        )
        if created is None or created.status != 201:
            return
        order_links = created.body["_links"]
        commands = order_links["commands"]["href"]
        updates: list[str] = []
        for name, params in STEPS:
            if name == BURST_BEFORE:
                updates = await self.location_burst(commands)
            if not await self.step(commands, name, params):
                return
            if random.random() < 0.25:
                await self.call("read order", "GET", order_links["self"]["href"], expect={200})
        await self.check_order(order_links, updates)
        self.walks["completed"] += 1

    async def step(self, commands: str, name: str, params: dict[str, str]) -> bool:
        """One command, as a careful client sends it: after a 202 it reads the command's
        outcome before the next step, and sends a command the order never recorded again
        with the same key. Whether the walk can go on."""
        key = {"Idempotency-Key": str(uuid.uuid4())}
        for _ in range(2):
            answer = await self.call(
                "command",
                "PUT",
                f"{commands}/{name}",
                params=params,
                headers=key,
                expect={200, 202},
            )
            if answer is None or answer.status not in (200, 202):
                return False
            if answer.status == 200:
                return True
            outcome = await self.outcome(answer.body["_links"]["outcome"]["href"])
            if outcome in ("applied", "pending"):  # pending: recorded, applied in order
                return True
            if outcome == "unknown":
                return False  # its reads failed, and are counted: the walk cannot go on
            if outcome == "refused":
                order_id = answer.body["orderId"]
                self.wrong_orders.append(f"order {order_id}: {name} answered 202, then refused")
                return False
            self.not_applied["command"] += 1
        return False

    async def outcome(self, href: str) -> str:
        """What became of an accepted command, read every second (as Retry-After asks)
        while it is pending or the read fails, for at most the stuck bound: applied,
        refused, pending, unrecorded (the order never recorded it), or unknown."""
        deadline = time.monotonic() + self.stuck_after
        while True:
            answer = await self.call("read outcome", "GET", href, expect={200, 404})
            if answer is not None and answer.status == 404:
                return "unrecorded"
            status = "unknown"
            if answer is not None and answer.status == 200:
                status = answer.body["status"]
            if status not in ("pending", "unknown") or time.monotonic() > deadline:
                return status
            await asyncio.sleep(1.0)

    async def location_burst(self, commands: str) -> list[str]:
        """``burst`` location updates from a few concurrent senders, each answered 202 as
        soon as it is recorded (Prefer: respond-async); the outcome links of those
        accepted."""
        remaining = list(range(self.burst))
        accepted: list[str] = []

        async def sender() -> None:
            while remaining:
                step = remaining.pop()
                answer = await self.call(
                    "location update",
                    "PUT",
                    f"{commands}/updateOrderLocation",
                    params={"lat": f"{52.5 + step / 1000:.4f}", "lon": "13.405"},
                    headers={"Prefer": "respond-async"},
                    expect={202, 429},  # 429: the order sheds load before accepting
                )
                if answer is not None and answer.status == 202:
                    accepted.append(answer.body["_links"]["outcome"]["href"])

        await asyncio.gather(*(sender() for _ in range(BURST_SENDERS)))
        return accepted

    async def check_order(self, order_links: dict[str, Any], updates: list[str]) -> None:
        """The order is delivered, and its event log holds exactly the events its commands
        made: created, one per step, one per location update applied. Every accepted
        update counts as applied unless the log says otherwise; then each one's outcome
        tells (a 202 given while Temporal could not say whether the signal was recorded
        may turn out not recorded, or recorded after the order closed and refused)."""
        deadline = time.monotonic() + self.stuck_after
        while True:
            order = await self.call("read order", "GET", order_links["self"]["href"], expect={200})
            if order is None or order.status != 200:
                return  # counted already
            if order.body["status"] == DELIVERED or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)  # as a 202's Retry-After asks
        total = await self.event_count(order_links)
        if total is None:
            return
        applied, unknown = len(updates), 0
        if total != 1 + len(STEPS) + applied:
            outcomes = [await self.outcome(href) for href in updates]
            applied = outcomes.count("applied")
            unknown = outcomes.count("unknown") + outcomes.count("pending")
            self.not_applied["location update"] += len(updates) - applied - unknown
        least = 1 + len(STEPS) + applied  # and at most one more per update not known
        if order.body["status"] != DELIVERED or not least <= total <= least + unknown:
            self.wrong_orders.append(
                f"order {order.body['orderId']}: {order.body['status']}, {total} events "
                f"where {least} were applied" + (f" ({unknown} not known)" if unknown else "")
            )

    async def event_count(self, order_links: dict[str, Any]) -> int | None:
        events = await self.call(
            "read order events",
            "GET",
            order_links["events"]["href"],
            params={"size": "1"},
            expect={200},
        )
        if events is None or events.status != 200:
            return None
        total: int = events.body["page"]["totalElements"]
        return total

    async def register_and_read(self) -> None:
        """Register a customer, then read it back the ways a client does."""
        email = f"soak-{uuid.uuid4().hex}@example.com"
        body = {"firstName": "Soak", "lastName": "Test", "email": email}
        answer = await self.call(
            "register", "POST", f"{self.api}/v1/customers", json=body, expect={201, 202}
        )
        if answer is None or answer.status != 201:
            return  # a 202 completes later: nothing to read yet
        customer_id: int = answer.body["customerId"]
        self.accounts.append(customer_id)
        customer = f"{self.api}/v1/customers/{customer_id}"
        await self.call("read customer", "GET", customer, expect={200})
        by_email = {"email": email}
        await self.call(
            "read customer", "GET", f"{self.api}/v1/customers", params=by_email, expect={200}
        )
        await self.call("read customer", "GET", f"{customer}/events", expect={200})
        feed = f"{self.api}/v1/events"
        await self.call("read feed", "GET", feed, params={"limit": "50"}, expect={200})
