"""How an order shows outside its workflow: the search attributes visibility lists it by, and
the current details the Web UI shows for it. Plain functions of the order, so the workflow
decides only when to set them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.common import SearchAttributeUpdate

from workflows import order_names as names
from workflows.order_types import Order, OrderEvent


def search_attribute_updates(order: Order) -> list[SearchAttributeUpdate[Any]]:
    updates: list[SearchAttributeUpdate[Any]] = [
        names.ORDER_STATUS.value_set(order.status.value),
        names.ACCOUNT_ID.value_set(order.account_id),
    ]
    if order.restaurant_id is not None:
        updates.append(names.RESTAURANT_ID.value_set(order.restaurant_id))
    if order.driver_id is not None:
        updates.append(names.DRIVER_ID.value_set(order.driver_id))
    return updates


def current_details(order: Order, last: OrderEvent) -> str:
    """Markdown: the order's facts, then its event count and last event. Static summaries do
    not survive continue-as-new, so the details name the order too."""
    facts = [f"Order {order.order_id}", f"**{order.status}**", f"account {order.account_id}"]
    if order.restaurant_id is not None:
        facts.append(f"restaurant {order.restaurant_id}")
    if order.driver_id is not None:
        facts.append(f"driver {order.driver_id}")
    if order.lat is not None and order.lon is not None:
        facts.append(f"at {order.lat:.5f}, {order.lon:.5f}")
    when = datetime.fromtimestamp(last.created_at / 1000, UTC).isoformat(timespec="seconds")
    return " · ".join(facts) + f"\n\n{order.event_count} events; last {last.type} at {when}"
