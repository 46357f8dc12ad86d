"""Inputs, query results and carried-over state of the order workflow (one dataclass each);
the command signal's payload is in order_signals.py."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from workflows.order_machine import EventType, OrderStatus
from workflows.values import UNKNOWN_ACTOR


@dataclass
class Order:
    """The order as the workflow holds it; times are epoch milliseconds."""

    order_id: int
    account_id: int
    status: OrderStatus
    created_at: int
    last_modified: int
    restaurant_id: int | None = None
    driver_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    event_count: int = 0
    run_id: str = ""

    @staticmethod
    def from_events(account_id: int, events: list[OrderEvent]) -> Order:
        """The order its (complete, ordered) event log describes: every event carries the
        status after it and the fields it set."""
        order = Order.placed(events[0].order_id, account_id, events[0].created_at, run_id="")
        for event in events:
            order.status = event.order_status
            order.last_modified = event.created_at
            for name in ("restaurant_id", "driver_id", "lat", "lon"):
                if getattr(event, name) is not None:
                    setattr(order, name, getattr(event, name))
        order.event_count = len(events)
        return order

    @staticmethod
    def placed(order_id: int, account_id: int, created_at: int, run_id: str) -> Order:
        """The order as its workflow starts it: the API can answer a create without a query."""
        return Order(
            order_id=order_id,
            account_id=account_id,
            status=OrderStatus.ORDER_CREATED,
            created_at=created_at,
            last_modified=created_at,
            event_count=1,
            run_id=run_id,
        )


@dataclass
class OrderEvent:
    event_id: int
    order_id: int
    type: EventType
    order_status: OrderStatus
    created_at: int
    command_id: str | None = None
    restaurant_id: int | None = None
    driver_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    reason: str | None = None
    # Who caused it (workflows/values.py): unknown for events recorded before actors were.
    actor: str = UNKNOWN_ACTOR


Refusal = Literal["closed", "not_allowed", "invalid", "log_full"]


@dataclass
class CommandOutcome:
    """What became of one command: the event it appended, or why it was refused."""

    command_id: str
    command: str
    parameters: dict[str, Any]
    event_id: int | None = None
    refusal: Refusal | None = None
    detail: str = ""
    status: OrderStatus | None = None  # the order's status when the command was decided


@dataclass
class CommandResult:
    """Answer of the outcome query: the outcome, its event, and the order as it is now."""

    outcome: CommandOutcome
    order: Order
    event: OrderEvent | None = None


@dataclass
class EventsRequest:
    offset: int = 0
    limit: int = 20

    @staticmethod
    def read(value: object) -> EventsRequest | None:
        """The request in a query's (decoded) argument; None if it is not one, or asks for
        a negative position or size."""
        if isinstance(value, EventsRequest):
            return value
        fields = {} if value is None else value
        if not isinstance(fields, dict):
            return None
        offset, limit = fields.get("offset", 0), fields.get("limit", 20)
        if not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (offset, limit)
        ):
            return None
        return EventsRequest(offset, limit)


@dataclass
class EventsPage:
    events: list[OrderEvent]
    total: int
    # Events before this id were published to the outbox and trimmed from the workflow.
    first_kept: int = 1


@dataclass
class PublishOrderEvents:
    """Input of the local activity that writes a batch of order events to the outbox."""

    order_id: int
    events: list[OrderEvent]


@dataclass
class OrderCarryOver:
    """Everything a new run needs after continue-as-new, so nothing is lost.

    Since the carry-over-packed patch the events and outcomes travel packed, each as one
    JSON text (see pack()). A worker from before it cannot read a text as a list: it fails
    the new run's task, which waits for a worker that can, and loses nothing.
    """

    order: Order
    events: list[OrderEvent] | str  # the kept ones: recent, and any not yet published
    outcomes: list[CommandOutcome] | str
    published: int = 0  # events 1..published are in the outbox

    def pack(self) -> OrderCarryOver:
        """The same, events and outcomes packed. The SDK converts a list of dataclasses
        field by field, which for a thousand outcomes takes a worker under load longer
        than its 2 s deadlock detector allows the new run's first task; a JSON text is read
        in milliseconds."""
        events, outcomes = self.unpacked()
        return replace(
            self,
            events=json.dumps([asdict(e) for e in events], separators=(",", ":")),
            outcomes=json.dumps([asdict(o) for o in outcomes], separators=(",", ":")),
        )

    def unpacked(self) -> tuple[list[OrderEvent], list[CommandOutcome]]:
        """The events and the outcomes, however they were sent."""
        events = self.events
        if isinstance(events, str):
            events = [
                OrderEvent(
                    **{
                        **e,
                        "type": EventType(e["type"]),
                        "order_status": OrderStatus(e["order_status"]),
                    }
                )
                for e in json.loads(events)
            ]
        outcomes = self.outcomes
        if isinstance(outcomes, str):
            outcomes = [
                CommandOutcome(**{**o, "status": o["status"] and OrderStatus(o["status"])})
                for o in json.loads(outcomes)
            ]
        return events, outcomes


@dataclass
class OrderInput:
    order_id: int
    account_id: int
    created_at: int
    continue_as_new_after_history_events: int | None = None
    remembered_outcomes: int = 1_000
    carried: OrderCarryOver | None = None
    # The kept log travels in one continue-as-new payload (at most 2 MB; an event is ~260
    # bytes, ~290 with the longest actor name). Published events are trimmed, but while the
    # database is down they pile up: past this many kept events, commands that add an event
    # but move no status (location updates) are refused rather than let the order outgrow
    # its payload.
    max_events: int = 5_000
    # Published events kept in the workflow after continue-as-new (the outbox has them all).
    kept_after_continue: int = 100
    # How long events gather before they are published together (0: after each command).
    publish_delay_ms: int = 1_000
    # Who placed the order (the API key's name), recorded on its ORDER_CREATED event.
    actor: str = UNKNOWN_ACTOR
