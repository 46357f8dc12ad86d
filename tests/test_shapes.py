"""The workflow's dataclasses (its durable state, recorded in histories) and the pydantic
shapes that publish and render them (the public contract) are kept apart on purpose: each can
change on its own terms, a workflow type behind a patch and replay tests, a message behind a
catalog version. The one link is the mapping (``from_event``, ``from_record``, ``of``); these
tests keep the two sides naming the same fields, so neither can drift silently."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from api.orders.models import OrderResource
from orderflow.messages import AddressData, CustomerData, OrderEventData
from workflows.customer_types import ADDRESS_FIELDS, CustomerDetails, CustomerRecord
from workflows.order_types import Order, OrderEvent

# What each side holds that the other has no use for.
ORDER_STATE_ONLY = {"event_count", "run_id"}  # bookkeeping of the workflow
RESOURCE_ONLY = frozenset({"links"})  # HAL
EVENT_WIRE_ONLY = frozenset({"last_modified"})  # events are immutable: their creation time


def dataclass_fields(cls: Any) -> dict[str, bool]:
    """Field name → whether it may be None."""
    return {f.name: "None" in str(f.type) for f in dataclasses.fields(cls)}


def model_fields(
    cls: type[BaseModel], *, leave_out: frozenset[str] = frozenset()
) -> dict[str, bool]:
    return {
        name: not field.is_required() and field.default is None
        for name, field in cls.model_fields.items()
        if name not in leave_out
    }


def test_an_order_event_and_its_published_form_name_the_same_fields() -> None:
    assert dataclass_fields(OrderEvent) == model_fields(OrderEventData, leave_out=EVENT_WIRE_ONLY)


def test_an_order_and_its_resource_name_the_same_fields() -> None:
    state = dataclass_fields(Order)
    assert ORDER_STATE_ONLY <= state.keys()
    for name in ORDER_STATE_ONLY:
        del state[name]
    assert state == model_fields(OrderResource, leave_out=RESOURCE_ONLY)


def test_a_customer_record_and_its_published_form_name_the_same_fields() -> None:
    record = dataclass_fields(CustomerRecord)
    published = model_fields(CustomerData, leave_out=frozenset({"address"}))
    assert set(model_fields(AddressData)) == set(ADDRESS_FIELDS)
    assert {name: record[name] for name in published} == published
    assert record.keys() - published.keys() == set(ADDRESS_FIELDS)
    # What a registration takes is what a customer holds, less what the database sets.
    assert set(dataclass_fields(CustomerDetails)) == record.keys() - {
        "customer_id",
        "created_at",
        "last_modified",
        "version",
    }
