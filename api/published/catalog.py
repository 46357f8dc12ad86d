"""The message catalog, generated from the code that handles the messages, so it cannot
drift: every command, query and event with its version, owner and JSON Schema.

Served at /v1/catalog; ``python -m orderflow.catalog_export`` writes it as an EventCatalog folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter

from api.customers.models import CustomerCreate, CustomerPatch
from api.http.deps import LinksDep
from api.http.hal import HalResponse
from orderflow.errors import NotFound
from workflows.order_machine import COMMANDS, EventType, OrderStatus, Parameter

Kind = Literal["command", "query", "event"]
CUSTOMERS = "customer-platform"
ORDERS = "order-platform"
VERSION = "1.0.0"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Message:
    name: str
    kind: Kind
    summary: str
    owner: str
    service: str
    schema: dict[str, Any]
    version: str = VERSION
    http: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "summary": self.summary,
            "owner": self.owner,
            "service": self.service,
            "http": self.http,
            "schema": self.schema,
        }


def _object(properties: dict[str, Any], required: list[str], title: str) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_ID = {"type": "integer", "minimum": 1}
_MILLIS = {"type": "integer", "description": "Epoch milliseconds"}
_TEXT = {"type": "string", "maxLength": 200}
_STATUS = {"type": "string", "enum": [s.value for s in OrderStatus]}
_KINDS: dict[str, dict[str, Any]] = {
    "id": _ID,
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "status": _STATUS,
    "text": {"type": "string", "maxLength": 500},
}
_ADDRESS = {
    "type": "object",
    "properties": {"street": _TEXT, "city": _TEXT, "postalCode": _TEXT, "country": _TEXT},
    "additionalProperties": False,
}
_CUSTOMER: dict[str, dict[str, Any]] = {
    "customerId": _ID,
    "firstName": {"type": "string", "minLength": 1, "maxLength": 100},
    "lastName": {"type": "string", "minLength": 1, "maxLength": 100},
    "email": {"type": "string", "maxLength": 254},
    "phone": {"type": "string", "maxLength": 32},
    "address": _ADDRESS,
    "createdAt": _MILLIS,
    "lastModified": _MILLIS,
    "version": {"type": "integer", "minimum": 1},
}
_CUSTOMER_REQUIRED = ["customerId", "firstName", "lastName", "email", "createdAt",
                      "lastModified", "version"]  # fmt: skip


def _parameters_schema(name: str, parameters: tuple[Parameter, ...]) -> dict[str, Any]:
    properties = {p.name: {**_KINDS[p.kind], "description": p.description} for p in parameters}
    return _object(properties, [p.name for p in parameters if p.required], name)


def _order_event_schema(event_type: EventType) -> dict[str, Any]:
    command = next((c for c in COMMANDS.values() if c.event_type == event_type), None)
    carried = {p.name: _KINDS[p.kind] for p in command.parameters} if command else {}
    carried.pop("status", None)  # a status update carries its target as orderStatus
    properties = {
        "eventId": {"type": "integer", "minimum": 1},
        "orderId": _ID,
        "type": {"const": event_type.value},
        "orderStatus": _STATUS,
        "commandId": {"type": "string"},
        "createdAt": _MILLIS,
        "lastModified": _MILLIS,
        **carried,
    }
    required = ["eventId", "orderId", "type", "orderStatus", "createdAt", "lastModified"]
    required += [p.name for p in (command.parameters if command else ())
                 if p.required and p.name in carried]  # fmt: skip
    return _object(properties, required, event_type.message)


def _with_draft(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DRAFT, **schema}


def _customer_messages() -> list[Message]:
    def message(
        name: str, kind: Kind, summary: str, schema: dict[str, Any], http: str = ""
    ) -> Message:
        return Message(name, kind, summary, CUSTOMERS, "customer-api", schema, http=http)

    customer = _object(_CUSTOMER, _CUSTOMER_REQUIRED, "Customer")
    changeable = ("firstName", "lastName", "email", "phone", "address")
    changes = {
        "type": "object",
        "properties": {name: _nullable(_CUSTOMER[name]) for name in changeable},
        "additionalProperties": False,
    }
    updated = {"customerId": _ID, "version": _CUSTOMER["version"], "changes": changes}
    return [
        message(
            "RegisterCustomer",
            "command",
            "Register a new customer",
            _with_draft(CustomerCreate.model_json_schema()),
            "POST /v1/customers",
        ),
        message(
            "UpdateCustomer",
            "command",
            "Change some of a customer's details (a JSON merge patch)",
            _with_draft(CustomerPatch.model_json_schema()),
            "PATCH /v1/customers/{customerId}",
        ),
        message("GetCustomer", "query", "Read a customer", customer, "GET /v1/customers/{id}"),
        message("CustomerRegistered", "event", "A customer was registered", customer),
        message(
            "CustomerUpdated",
            "event",
            "A customer's details changed: the changed fields",
            _object(updated, ["customerId", "version", "changes"], "CustomerUpdated"),
        ),
    ]


def _order_messages() -> list[Message]:
    def message(
        name: str, kind: Kind, summary: str, schema: dict[str, Any], http: str = ""
    ) -> Message:
        return Message(name, kind, summary, ORDERS, "order-api", schema, http=http)

    order = {"orderId": _ID}
    page = {"page": {"type": "integer", "minimum": 0}, "size": {"type": "integer", "minimum": 1}}
    messages = [
        message(
            "PlaceOrder",
            "command",
            "Place an order for a registered customer",
            _object({"accountId": _ID}, ["accountId"], "PlaceOrder"),
            "POST /v1/orders",
        ),
        message(
            "GetOrder",
            "query",
            "Read an order",
            _object(order, ["orderId"], "GetOrder"),
            "GET /v1/orders/{orderId}",
        ),  # fmt: skip
        message(
            "GetOrderEvents",
            "query",
            "Read an order's event log, paged",
            _object({**order, **page}, ["orderId"], "GetOrderEvents"),
            "GET /v1/orders/{orderId}/events",
        ),  # fmt: skip
        message(
            "GetOrderCommands",
            "query",
            "The commands an order accepts now",
            _object(order, ["orderId"], "GetOrderCommands"),
            "GET /v1/orders/{orderId}/commands",
        ),  # fmt: skip
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


def build_catalog() -> list[Message]:
    """Every message of both services, from the code that defines them."""
    return _customer_messages() + _order_messages()


router = APIRouter(prefix="/v1/catalog", tags=["catalog"])


@router.get("", summary="The message catalog", response_class=HalResponse)
async def read_catalog(links: LinksDep) -> HalResponse:
    """Every command, query and event, with its version, owner and JSON Schema."""
    messages = build_catalog()
    body = {
        "services": sorted({m.service for m in messages}),
        "messages": [m.public() for m in messages],
        "_links": {"self": {"href": f"{links.base}/v1/catalog"}},
    }
    return HalResponse(body)


@router.get("/events/{name}/schema", summary="An event's JSON Schema")
async def read_event_schema(name: str) -> dict[str, Any]:
    """The `dataschema` of a published event."""
    for message in build_catalog():
        if message.kind == "event" and message.name == name:
            return message.schema
    raise NotFound(f"there is no event {name!r} in the catalog")
