"""Orders Temporal no longer keeps (their workflow closed longer ago than the namespace's
retention), and events a workflow has trimmed: read back from the published events."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from activities.order_activities import order_event_id
from orderflow.database import outbox
from orderflow.database.calls import in_database
from orderflow.database.order_numbers import account_of
from orderflow.messages import OrderEventData
from workflows.order_types import Order, OrderEvent

# More events than an order can keep is more than any archived order has.
ALL = 1_000_000


def _source(order_id: int) -> str:
    return f"/v1/orders/{order_id}"


async def archived_events(
    engine: Engine, order_id: int, offset: int, limit: int
) -> tuple[list[OrderEvent], int]:
    """A page of the order's published events, and how many it has."""
    rows, total = await in_database(outbox.read_subject, engine, _source(order_id), offset, limit)
    return [OrderEventData.model_validate(row.data).event() for row in rows], total


async def archived_event(engine: Engine, order_id: int, event_id: int) -> OrderEvent | None:
    row = await in_database(outbox.read_one, engine, order_event_id(order_id, event_id))
    return OrderEventData.model_validate(row.data).event() if row is not None else None


async def archived_order(engine: Engine, order_id: int) -> Order | None:
    """The order its published events describe, if it has any."""
    events, _ = await archived_events(engine, order_id, 0, ALL)
    account = await in_database(account_of, engine, order_id)
    if not events or account is None:
        return None
    return Order.from_events(account, events)
