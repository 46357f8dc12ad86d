"""Request bodies, and response shapes for the OpenAPI docs (responses are rendered by hal.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.order_machine import EventType, OrderStatus

_BASE = "http://localhost:8000/v1/orders/1"


class OrderCreate(BaseModel):
    """Body of POST /v1/orders."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accountId": 1234}]})

    account_id: int = Field(alias="accountId", gt=0, strict=True, description="The customer's id")


class EventAppend(BaseModel):
    """Body of POST /v1/orders/{orderId}/events: a domain event, checked by the state machine."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"type": "ORDER_ASSIGNED", "restaurantId": 101}]},
    )

    type: EventType
    restaurantId: int | None = None
    driverId: int | None = None
    lat: float | None = None
    lon: float | None = None
    status: OrderStatus | None = None
    reason: str | None = None

    def parameters(self) -> dict[str, Any]:
        """Every field but ``type``, as the command's raw parameters (unknown ones included)."""
        return {k: v for k, v in self.model_dump(exclude={"type"}).items() if v is not None}


class Link(BaseModel):
    href: str
    templated: bool | None = None
    title: str | None = None
    type: str | None = None


class OrderDoc(BaseModel):
    """An order (application/hal+json). Fields that are not set are left out."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orderId": 1,
                    "accountId": 1234,
                    "status": "ORDER_ASSIGNED",
                    "restaurantId": 101,
                    "createdAt": 1614617770138,
                    "lastModified": 1614618409141,
                    "_links": {
                        "self": {"href": _BASE},
                        "commands": {"href": f"{_BASE}/commands"},
                        "events": {"href": f"{_BASE}/events"},
                        "customer": {"href": "http://localhost:8000/v1/customers/1234"},
                        "history": {
                            "href": "http://localhost:8233/namespaces/default/workflows/"
                            "order-1/0199a1b2-runid/history",
                            "type": "text/html",
                            "title": "Temporal Web UI",
                        },
                    },
                }
            ]
        }
    )

    orderId: int
    accountId: int
    status: OrderStatus
    restaurantId: int | None = None
    driverId: int | None = None
    lat: float | None = None
    lon: float | None = None
    createdAt: int = Field(description="Epoch milliseconds")
    lastModified: int = Field(description="Epoch milliseconds")
    links: dict[str, Link] = Field(alias="_links")


class EventDoc(BaseModel):
    """One event of an order's log (application/hal+json)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "eventId": 2,
                    "orderId": 1,
                    "type": "ORDER_ASSIGNED",
                    "orderStatus": "ORDER_ASSIGNED",
                    "restaurantId": 101,
                    "createdAt": 1614618409141,
                    "lastModified": 1614618409141,
                    "_links": {
                        "self": {"href": f"{_BASE}/events/2"},
                        "order": {"href": _BASE},
                    },
                }
            ]
        }
    )

    eventId: int
    orderId: int
    type: EventType
    orderStatus: OrderStatus
    restaurantId: int | None = None
    driverId: int | None = None
    lat: float | None = None
    lon: float | None = None
    reason: str | None = None
    commandId: str | None = None
    createdAt: int
    lastModified: int
    links: dict[str, Link] = Field(alias="_links")


class CommandsDoc(BaseModel):
    """The commands valid now, as links; parameterised ones are URI templates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orderId": 1,
                    "commands": [
                        "assignOrder",
                        "updateOrderLocation",
                        "updateOrderStatus",
                        "cancelOrder",
                    ],
                    "_links": {
                        "self": {"href": f"{_BASE}/commands"},
                        "order": {"href": _BASE},
                        "assignOrder": {
                            "href": f"{_BASE}/commands/assignOrder{{?restaurantId}}",
                            "templated": True,
                            "title": "Assign the order to a restaurant",
                        },
                    },
                }
            ]
        }
    )

    orderId: int
    commands: list[str]
    links: dict[str, Link] = Field(alias="_links")


class PageDoc(BaseModel):
    """A page of a collection: items under ``_embedded``, ``next``/``prev`` links."""

    embedded: dict[str, list[dict[str, Any]]] = Field(alias="_embedded")
    links: dict[str, Link] = Field(alias="_links")
    page: dict[str, int] | None = None


class ProblemDoc(BaseModel):
    """An error (application/problem+json, RFC 9457)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:orderflow:problem:command-not-allowed",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "prepareOrder is not allowed in status ORDER_CREATED; "
                    "allowed: assignOrder, updateOrderLocation, updateOrderStatus, cancelOrder",
                    "instance": "/v1/orders/1/commands/prepareOrder",
                    "orderStatus": "ORDER_CREATED",
                    "allowedCommands": [
                        "assignOrder",
                        "updateOrderLocation",
                        "updateOrderStatus",
                        "cancelOrder",
                    ],
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation can answer with."""
    return {
        status: {"model": ProblemDoc, "content": {"application/problem+json": {}}}
        for status in statuses
    }


def hal_response(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description, "content": {"application/hal+json": {}}}
