"""The message catalog, generated from the code that handles the messages, so it cannot
drift: every command, query and event with its version, owner and JSON Schema. The
schemas are those of the models that validate requests and shape published data
(catalog_schemas.py).

Served at /v1/catalog; ``orderflow catalog export DIR`` writes it as an EventCatalog folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from fastapi import APIRouter

from api.customers.models import CustomerCreate, CustomerPatch
from api.http.deps import LinksDep, require_scope
from api.http.hal import HalResponse, Resource, links
from api.http.problems import problem_responses
from api.orders.models import OrderCreate
from api.published.catalog_schemas import (
    CustomerQuery,
    OrderEventsQuery,
    OrderQuery,
    either_schema,
    order_event_schema,
    parameters_schema,
    schema_of,
)
from orderflow.errors import NotFound
from orderflow.messages import (
    CustomerErasedData,
    CustomerRegisteredData,
    CustomerUpdatedData,
    ErasedCustomerRegisteredData,
    ErasedCustomerUpdatedData,
)
from workflows.order_machine import (
    COMMANDS,
    EventType,
)

Kind = Literal["command", "query", "event"]
CUSTOMERS = "customer-platform"
ORDERS = "order-platform"
VERSION = "1.0.0"


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


def _message(owner: str, service: str) -> Callable[..., Message]:
    def message(
        name: str, kind: Kind, summary: str, schema: dict[str, Any], http: str = ""
    ) -> Message:
        return Message(name, kind, summary, owner, service, schema, http=http)

    return message


def _customer_messages() -> list[Message]:
    message = _message(CUSTOMERS, "customer-api")
    created = either_schema(
        "CustomerRegistered", CustomerRegisteredData, ErasedCustomerRegisteredData
    )
    updated = either_schema("CustomerUpdated", CustomerUpdatedData, ErasedCustomerUpdatedData)
    return [
        message(
            "RegisterCustomer",
            "command",
            "Register a new customer",
            schema_of(CustomerCreate),
            "POST /v1/customers",
        ),
        message(
            "UpdateCustomer",
            "command",
            "Change some of a customer's details (a JSON merge patch)",
            schema_of(CustomerPatch),
            "PATCH /v1/customers/{customerId}",
        ),
        message(
            "GetCustomer",
            "query",
            "Read a customer",
            schema_of(CustomerQuery),
            "GET /v1/customers/{customerId}",
        ),
        message(
            "EraseCustomer",
            "command",
            "Erase a customer's personal data (its id and orders stay)",
            schema_of(CustomerQuery),
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
            schema_of(CustomerErasedData, serialization=True),
        ),
    ]


def _order_messages() -> list[Message]:
    message = _message(ORDERS, "order-api")
    messages = [
        message(
            "PlaceOrder",
            "command",
            "Place an order for a registered customer",
            schema_of(OrderCreate),
            "POST /v1/orders",
        ),
        message(
            "GetOrder", "query", "Read an order", schema_of(OrderQuery), "GET /v1/orders/{orderId}"
        ),
        message(
            "GetOrderEvents",
            "query",
            "Read an order's event log, paged",
            schema_of(OrderEventsQuery),
            "GET /v1/orders/{orderId}/events",
        ),
        message(
            "GetOrderCommands",
            "query",
            "The commands an order accepts now",
            schema_of(OrderQuery),
            "GET /v1/orders/{orderId}/commands",
        ),
    ]
    # Order commands keep their signal names (assignOrder, orderPickedUp): one name end to end.
    for command in COMMANDS.values():
        schema = parameters_schema(command.name, command.parameters)
        http = f"PUT /v1/orders/{{orderId}}/commands/{command.name}"
        messages.append(message(command.name, "command", command.summary, schema, http))
    for event_type in EventType:
        summary = f"An order's {event_type.value} event"
        messages.append(
            message(event_type.message, "event", summary, order_event_schema(event_type))
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
