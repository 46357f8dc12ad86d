"""The data of every published message, declared once.

These pydantic models are what the outbox stores, what the API renders (adding HAL links),
and what the catalog publishes as JSON Schema. Field names are snake_case in Python and
camelCase on the wire (an alias generator), so no map between the two is written by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

from workflows.customer_types import ADDRESS_FIELDS, CustomerRecord
from workflows.order_machine import EventType, OrderStatus
from workflows.order_types import OrderEvent
from workflows.values import ACTOR, ID_MAX, ID_MIN, UNKNOWN_ACTOR

# Ids in their domain (workflows/values.py): what a BIGINT and an Int search attribute hold.
Id = Annotated[int, Field(ge=ID_MIN, le=ID_MAX)]


EpochMillis = Annotated[int, Field(description="Epoch milliseconds")]
# Who caused an event: every published event says (the audit trail).
Actor = Annotated[
    str,
    BeforeValidator(ACTOR.check),
    WithJsonSchema(ACTOR.json_schema),
    Field(
        description="Who caused the event: the name of the API key that sent the request; "
        "`anonymous` when the API runs without keys; `unknown` for events recorded before "
        "orderflow recorded actors, or commands sent to Temporal by other means"
    ),
]


class Shape(BaseModel):
    """camelCase on the wire; unset fields are left out when rendered (see ``wire``)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, extra="forbid"
    )

    def wire(self) -> dict[str, Any]:
        """The JSON object as clients see it: camelCase, fields that are not set left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OrderEventData(Shape):
    """One event of an order's log: the status after it and the fields it set."""

    event_id: Id
    order_id: Id
    type: EventType
    order_status: OrderStatus
    restaurant_id: Id | None = None
    driver_id: Id | None = None
    lat: float | None = None
    lon: float | None = None
    reason: str | None = None
    command_id: str | None = None
    # A default, for events published before actors were (the catalog requires it).
    actor: Actor = UNKNOWN_ACTOR
    created_at: EpochMillis
    last_modified: EpochMillis = Field(description="Events are immutable: when created")

    @classmethod
    def from_event(cls, event: OrderEvent) -> OrderEventData:
        return cls.model_validate({**vars(event), "last_modified": event.created_at})

    def event(self) -> OrderEvent:
        """The workflow's form of the event (read back from the outbox)."""
        fields = self.model_dump(by_alias=False, exclude={"last_modified"})
        return OrderEvent(**fields)


class AddressData(Shape):
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class CustomerData(Shape):
    """A customer as the API shows it and CustomerRegistered publishes it."""

    customer_id: Id
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    address: AddressData | None = None
    created_at: EpochMillis
    last_modified: EpochMillis
    version: int = Field(ge=1)

    @classmethod
    def from_record(cls, record: CustomerRecord) -> CustomerData:
        fields = vars(record)
        address = {name: fields[name] for name in ADDRESS_FIELDS if fields[name] is not None}
        others = {k: v for k, v in fields.items() if k not in ADDRESS_FIELDS}
        return cls.model_validate({**others, "address": address or None})


class CustomerRegisteredData(CustomerData):
    """What CustomerRegistered publishes: the customer, and who registered it."""

    actor: Actor

    @classmethod
    def of(cls, record: CustomerRecord, actor: str) -> CustomerRegisteredData:
        return cls.model_validate({**CustomerData.from_record(record).model_dump(), "actor": actor})


class CustomerChangesData(Shape):
    """The fields an update changed, with their new values (null: removed)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: AddressData | None = None

    @classmethod
    def from_columns(cls, columns: dict[str, Any]) -> CustomerChangesData:
        fields = {k: v for k, v in columns.items() if k not in ADDRESS_FIELDS}
        address = {name: columns[name] for name in ADDRESS_FIELDS if name in columns}
        if address:
            fields["address"] = address
        return cls.model_validate(fields)

    def wire(self) -> dict[str, Any]:
        """Every changed field, a removed one as null (only unchanged fields are left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class CustomerUpdatedData(Shape):
    customer_id: Id
    version: int = Field(ge=1)
    changes: CustomerChangesData
    actor: Actor

    def wire(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id,
            "version": self.version,
            "changes": self.changes.wire(),
            "actor": self.actor,
        }


class ErasedCustomerRegisteredData(Shape):
    """CustomerRegistered once its customer was erased: the personal data is gone."""

    customer_id: Id
    version: int = Field(ge=1)
    created_at: EpochMillis
    last_modified: EpochMillis
    actor: Actor
    erased: bool = Field(True, description="Always true: the customer was erased")


class ErasedCustomerUpdatedData(Shape):
    """CustomerUpdated once its customer was erased: which fields changed, not their values."""

    customer_id: Id
    version: int = Field(ge=1)
    changed_fields: list[str] = Field(
        description="The fields the update changed (an address field as `address.street`)"
    )
    actor: Actor
    erased: bool = Field(True, description="Always true: the customer was erased")


class CustomerErasedData(Shape):
    """The customer's personal data was erased (and redacted from its earlier events)."""

    customer_id: Id
    version: int = Field(ge=1)
    actor: Actor


def erased_event_data(type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data of a published customer event with the customer's personal data taken out
    (what stays: ids, versions, times, who, and which fields an update changed)."""
    version = data.get("version", 1)
    actor = data.get("actor", UNKNOWN_ACTOR)
    if type == "CustomerRegistered":
        registered = ErasedCustomerRegisteredData(
            customer_id=data["customerId"],
            version=version,
            created_at=data.get("createdAt", 0),
            last_modified=data.get("lastModified", 0),
            actor=actor,
        )
        return registered.wire()
    if type == "CustomerUpdated":
        changes: dict[str, Any] = data.get("changes") or {}
        names: list[str] = []
        for name, value in changes.items():
            if name == "address" and isinstance(value, dict) and value:
                names.extend(f"address.{part}" for part in value)
            else:
                names.append(name)
        updated = ErasedCustomerUpdatedData(
            customer_id=data["customerId"], version=version, changed_fields=names, actor=actor
        )
        return updated.wire()
    raise ValueError(f"{type} is not a customer event that holds personal data")
