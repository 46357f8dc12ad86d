"""The message catalog, generated from the code that handles the messages, so it cannot
drift: every command, query and event with its version, owner and JSON Schema. The
schemas are those of the models that validate requests and shape published data.

Served at /v1/catalog; ``orderflow catalog export DIR`` writes it as an EventCatalog folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union

from fastapi import APIRouter
from pydantic import BaseModel, Field, TypeAdapter

from api.customers.models import CustomerCreate, CustomerPatch
from api.http.deps import LinksDep, require_scope
from api.http.hal import HalResponse, Resource, links
from api.http.params import parameter_schema
from api.http.problems import problem_responses
from api.orders.models import OrderCreate
from orderflow.errors import NotFound
from orderflow.messages import (
    CustomerErasedData,
    CustomerRegisteredData,
    CustomerUpdatedData,
    ErasedCustomerRegisteredData,
    ErasedCustomerUpdatedData,
    Id,
    OrderEventData,
    Shape,
)
from workflows.order_machine import (
    COMMAND_BY_EVENT_TYPE,
    COMMANDS,
    EventType,
    Parameter,
)

Kind = Literal["command", "query", "event"]
CUSTOMERS = "customer-platform"
ORDERS = "order-platform"
VERSION = "1.0.0"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Message:
    """One message of the catalog: what it is, who owns it, and the JSON Schema of its data."""

    name: str
    kind: Kind
    summary: str
    owner: str
    service: str
    schema: dict[str, Any]
    version: str = VERSION
    http: str = ""


class Catalog(Resource):
    """Every message of both services."""

    services: list[str]
    messages: list[Message]


class OrderQuery(Shape):
    order_id: Id


class OrderEventsQuery(OrderQuery):
    page: int = Field(0, ge=0)
    size: int = Field(20, ge=1)


class CustomerQuery(Shape):
    customer_id: Id


def _schema(model: type[BaseModel], *, serialization: bool = False) -> dict[str, Any]:
    mode: Literal["validation", "serialization"] = (
        "serialization" if serialization else "validation"
    )
    return {"$schema": DRAFT, **model.model_json_schema(by_alias=True, mode=mode)}


def _parameters_schema(name: str, parameters: tuple[Parameter, ...]) -> dict[str, Any]:
    properties = {p.name: parameter_schema(p) for p in parameters}
    return {
        "$schema": DRAFT,
        "title": name,
        "type": "object",
        "properties": properties,
        "required": [p.name for p in parameters if p.required],
        "additionalProperties": False,
    }


_OPTIONAL_EVENT_FIELDS = ("restaurantId", "driverId", "lat", "lon", "reason")


def _order_event_schema(event_type: EventType) -> dict[str, Any]:
    """OrderEventData's schema, narrowed to one event type and the fields it carries."""
    schema = _schema(OrderEventData, serialization=True)
    command = COMMAND_BY_EVENT_TYPE.get(event_type)
    parameters = command.parameters if command else ()
    carried = {p.name for p in parameters if p.name != "status"}  # status: orderStatus
    properties = schema["properties"]
    for name in _OPTIONAL_EVENT_FIELDS:
        if name not in carried:
            del properties[name]
    properties["type"] = {"const": event_type.value}
    required = [p.name for p in parameters if p.required and p.name in carried]
    # Every published event names its actor (events published before actors were are
    # rendered with "unknown"), though the model has a default for reading those back.
    schema["required"] = [*schema["required"], "actor", *required]
    schema["title"] = event_type.message
    return schema


def _message(owner: str, service: str) -> Callable[..., Message]:
    def message(
        name: str, kind: Kind, summary: str, schema: dict[str, Any], http: str = ""
    ) -> Message:
        return Message(name, kind, summary, owner, service, schema, http=http)

    return message


def _either(title: str, *models: type[BaseModel]) -> dict[str, Any]:
    """The schema of data that is one of ``models``: an event as published, or as it reads
    once its customer was erased."""
    union: Any = Union[models]  # noqa: UP007 (a union built at run time)
    schema = TypeAdapter(union).json_schema(by_alias=True, mode="serialization")
    return {"$schema": DRAFT, "title": title, **schema}


def _customer_messages() -> list[Message]:
    message = _message(CUSTOMERS, "customer-api")
    created = _either("CustomerRegistered", CustomerRegisteredData, ErasedCustomerRegisteredData)
    updated = _either("CustomerUpdated", CustomerUpdatedData, ErasedCustomerUpdatedData)
    return [
        message(
            "RegisterCustomer",
            "command",
            "Register a new customer",
            _schema(CustomerCreate),
            "POST /v1/customers",
        ),
        message(
            "UpdateCustomer",
            "command",
            "Change some of a customer's details (a JSON merge patch)",
            _schema(CustomerPatch),
            "PATCH /v1/customers/{customerId}",
        ),
        message(
            "GetCustomer",
            "query",
            "Read a customer",
            _schema(CustomerQuery),
            "GET /v1/customers/{customerId}",
        ),
        message(
            "EraseCustomer",
            "command",
            "Erase a customer's personal data (its id and orders stay)",
            _schema(CustomerQuery),
            "DELETE /v1/customers/{customerId}",
        ),
        message(
            "CustomerRegistered",
            "event",
            "A customer was registered (without the personal data once it was erased)",
            created,
        ),
        message(
            "CustomerUpdated",
            "event",
            "A customer's details changed: the changed fields (only their names once the "
            "customer was erased)",
            updated,
        ),
        message(
            "CustomerErased",
            "event",
            "A customer's personal data was erased, and redacted from its earlier events",
            _schema(CustomerErasedData, serialization=True),
        ),
    ]


def _order_messages() -> list[Message]:
    message = _message(ORDERS, "order-api")
    messages = [
        message(
            "PlaceOrder",
            "command",
            "Place an order for a registered customer",
            _schema(OrderCreate),
            "POST /v1/orders",
        ),
        message(
            "GetOrder", "query", "Read an order", _schema(OrderQuery), "GET /v1/orders/{orderId}"
        ),
        message(
            "GetOrderEvents",
            "query",
            "Read an order's event log, paged",
            _schema(OrderEventsQuery),
            "GET /v1/orders/{orderId}/events",
        ),
        message(
            "GetOrderCommands",
            "query",
            "The commands an order accepts now",
            _schema(OrderQuery),
            "GET /v1/orders/{orderId}/commands",
        ),
    ]
    # Order commands keep their signal names (assignOrder, orderPickedUp): one name end to end.
    for command in COMMANDS.values():
        schema = _parameters_schema(command.name, command.parameters)
        http = f"PUT /v1/orders/{{orderId}}/commands/{command.name}"
        messages.append(message(command.name, "command", command.summary, schema, http))
    for event_type in EventType:
        summary = f"An order's {event_type.value} event"
        messages.append(
            message(event_type.message, "event", summary, _order_event_schema(event_type))
        )
    return messages


@cache
def build_catalog() -> tuple[Message, ...]:
    """Every message of both services, from the code that defines them."""
    return (*_customer_messages(), *_order_messages())


# The catalog holds schemas, not data; it is part of the published events' contract (each
# CloudEvent's dataschema points here), so their readers' scope reads it.
router = APIRouter(
    prefix="/v1/catalog", tags=["catalog"], dependencies=[require_scope("events:read")]
)


@router.get("", summary="The message catalog", response_class=HalResponse, response_model=Catalog)
async def read_catalog(to: LinksDep) -> HalResponse:
    """Every command, query and event, with its version, owner and JSON Schema."""
    messages = list(build_catalog())
    catalog = Catalog(
        services=sorted({m.service for m in messages}),
        messages=messages,
        links=links(self=f"{to.base}/v1/catalog"),
    )
    return HalResponse(catalog)


@router.get(
    "/events/{name}/schema",
    summary="An event's JSON Schema",
    responses=problem_responses(404),
)
async def read_event_schema(name: str) -> dict[str, Any]:
    """The `dataschema` of a published event."""
    for message in build_catalog():
        if message.kind == "event" and message.name == name:
            return message.schema
    raise NotFound(f"there is no event {name!r} in the catalog")
