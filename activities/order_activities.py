"""Order activities: publishing the order workflow's events to the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from orderflow.database.outbox import OutboxEvent, append_new, new_event
from orderflow.messages import OrderEventData
from workflows.order_types import OrderEvent, PublishOrderEvents


def order_event_id(order_id: int, event_id: int) -> str:
    """The outbox id of an order event: the same however often it is published."""
    return f"order-{order_id}-{event_id}"


def to_outbox(event: OrderEvent) -> OutboxEvent:
    return new_event(
        event_id=order_event_id(event.order_id, event.event_id),
        type=event.type.message,
        source=f"/v1/orders/{event.order_id}",
        subject=str(event.order_id),
        data=OrderEventData.from_event(event).wire(),
        time=datetime.fromtimestamp(event.created_at / 1000, UTC),
    )


class OrderActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="publishOrderEvents", no_thread_cancel_exception=True)
    def publish_order_events(self, batch: PublishOrderEvents) -> int:
        """Write a batch of events in one transaction; those already there are skipped.
        Never interrupted by a cancellation (see CustomerActivities)."""
        with Session(self._engine) as session:
            written = append_new(session, [to_outbox(e) for e in batch.events])
            session.commit()
        return written
