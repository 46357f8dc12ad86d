"""What a continued order hands its next run comes through packed exactly as it was, for
any events and any outcomes a command can leave (whatever a client sent with it)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.converter import DataConverter

from workflows.order_machine import EventType, OrderStatus
from workflows.order_types import CommandOutcome, Order, OrderCarryOver, OrderEvent

# What a signal's parameters may hold: any JSON the SDK decodes, NaN and infinities included.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
EVENTS = st.builds(
    OrderEvent,
    event_id=st.integers(1, 2**31),
    order_id=st.integers(1, 2**63 - 1),
    type=st.sampled_from(list(EventType)),
    order_status=st.sampled_from(list(OrderStatus)),
    created_at=st.integers(0, 2**53),
    command_id=st.none() | st.text(max_size=20),
    restaurant_id=st.none() | st.integers(1, 2**63 - 1),
    lat=st.none() | st.floats(-90, 90),
    reason=st.none() | st.text(max_size=20),
    actor=st.text(max_size=32),
)
OUTCOMES = st.builds(
    CommandOutcome,
    command_id=st.text(max_size=20),
    command=st.text(max_size=20),
    parameters=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
    event_id=st.none() | st.integers(1, 2**31),
    refusal=st.none() | st.sampled_from(["invalid", "not_allowed", "log_full"]),
    detail=st.text(max_size=40),
    status=st.none() | st.sampled_from(list(OrderStatus)),
)


def canonical(value: Any) -> str:
    """A comparable text of ``value`` (NaN is not equal to itself)."""
    return json.dumps(value, sort_keys=True, default=lambda o: o.__dict__)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(EVENTS, max_size=5), outcomes=st.lists(OUTCOMES, max_size=5))
def test_a_packed_carry_over_reads_back_exactly(
    events: list[OrderEvent], outcomes: list[CommandOutcome]
) -> None:
    carried = OrderCarryOver(Order.placed(7, 8, 9, "run"), events, outcomes, published=3)
    packed = carried.pack()
    assert isinstance(packed.events, str) and isinstance(packed.outcomes, str)
    # Through the SDK's converter, as the next run receives it.
    converter = DataConverter.default
    payloads = asyncio.run(converter.encode([packed]))
    received = asyncio.run(converter.decode(payloads, [OrderCarryOver]))[0]
    assert received.order == carried.order and received.published == 3
    back_events, back_outcomes = received.unpacked()
    assert canonical(back_events) == canonical(events)
    assert canonical(back_outcomes) == canonical(outcomes)
    for after in back_events:
        assert type(after.type) is EventType and type(after.order_status) is OrderStatus
    assert all(o.status is None or type(o.status) is OrderStatus for o in back_outcomes)


def test_a_carry_over_sent_unpacked_reads_as_it_is() -> None:
    """Runs continued before the packing patch hand over plain lists."""
    event = OrderEvent(1, 7, EventType.ORDER_CREATED, OrderStatus.ORDER_CREATED, 9)
    carried = OrderCarryOver(Order.placed(7, 8, 9, "run"), [event], [], published=1)
    assert carried.unpacked() == ([event], [])


@dataclass
class CarryOverBeforePacking:
    """OrderCarryOver as workers from before the packing patch declare it."""

    order: Order
    events: list[OrderEvent]
    outcomes: list[CommandOutcome]
    published: int = 0


def test_a_worker_from_before_packing_fails_rather_than_read_nothing() -> None:
    """During an upgrade an older worker may pick up a new run: it must not read the packed
    carry-over as no events and no outcomes (the SDK ignores fields it does not know), but
    fail its task, which Temporal retries until an upgraded worker takes it."""
    event = OrderEvent(1, 7, EventType.ORDER_CREATED, OrderStatus.ORDER_CREATED, 9)
    packed = OrderCarryOver(Order.placed(7, 8, 9, "run"), [event], [], published=1).pack()
    converter = DataConverter.default
    payloads = asyncio.run(converter.encode([packed]))
    with pytest.raises(TypeError):
        asyncio.run(converter.decode(payloads, [CarryOverBeforePacking]))
