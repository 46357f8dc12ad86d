"""The shapes of the order API: request bodies, and resource models that render the HAL
bodies and are the OpenAPI schemas: those of one event are in event_models.py."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.hal import Link, LinkMap, NumberedPage, Resource, link, links, numbered_page
from api.http.links import Links
from api.http.params import Paging
from api.orders.event_models import EXAMPLE_ORDER, EventResource
from api.orders.temporal_reads import OrderSummary
from orderflow.messages import EpochMillis, Id, Shape
from workflows.order_machine import (
    COMMANDS,
    OrderStatus,
)
from workflows.order_names import order_workflow_id
from workflows.order_types import Order, OrderEvent


class OrderCreate(BaseModel):
    """Body of POST /v1/orders."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accountId": 1234}]})

    account_id: Id = Field(alias="accountId", strict=True, description="The customer's id")


def _order_links(order_id: int, account_id: int | None, run_id: str, to: Links) -> LinkMap:
    history = None
    if run_id:  # the Web UI's page for a workflow needs the run id
        history = link(
            to.workflow_history(order_workflow_id(order_id), run_id),
            type="text/html",
            title="Temporal Web UI",
        )
    return links(
        self=to.order(order_id),
        commands=to.commands(order_id),
        events=to.events(order_id),
        customer=to.customer(account_id) if account_id is not None else None,
        history=history,
    )


class OrderResource(Resource):
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
                        "self": {"href": EXAMPLE_ORDER},
                        "commands": {"href": f"{EXAMPLE_ORDER}/commands"},
                        "events": {"href": f"{EXAMPLE_ORDER}/events"},
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

    order_id: Id
    account_id: Id
    status: OrderStatus
    restaurant_id: Id | None = None
    driver_id: Id | None = None
    lat: float | None = None
    lon: float | None = None
    created_at: EpochMillis
    last_modified: EpochMillis

    @classmethod
    def of(cls, order: Order, to: Links) -> OrderResource:
        fields = {name: getattr(order, name) for name in cls.model_fields if name != "links"}
        return cls(**fields, links=_order_links(order.order_id, order.account_id, order.run_id, to))


class OrderSummaryResource(Resource):
    """An order as visibility lists it: its indexed fields, without a query."""

    order_id: Id
    account_id: Id | None = None
    status: OrderStatus | None = None
    restaurant_id: Id | None = None
    driver_id: Id | None = None

    @classmethod
    def of(cls, summary: OrderSummary, to: Links) -> OrderSummaryResource:
        fields = {name: getattr(summary, name) for name in cls.model_fields if name != "links"}
        order_links = _order_links(summary.order_id, summary.account_id, summary.run_id, to)
        return cls(**fields, links=order_links)


class OrderList(Shape):
    orders: list[OrderSummaryResource]


class ListPage(BaseModel):
    size: int
    count: int


class OrderPage(Resource):
    """A page of orders; follow ``next`` for more."""

    embedded: OrderList = Field(alias="_embedded")
    page: ListPage


class EventList(Shape):
    order_event_list: list[EventResource]


class EventPage(Resource):
    """A page of an order's event log, oldest first."""

    embedded: EventList = Field(alias="_embedded")
    page: NumberedPage

    @classmethod
    def of(
        cls, order_id: int, events: list[OrderEvent], *, total: int, at: Paging, to: Links
    ) -> EventPage:
        items = EventList(order_event_list=[EventResource.of(event, to) for event in events])
        events_href = partial(to.events, order_id)
        return numbered_page(
            cls, items, at, total=total, href=events_href, order=to.order(order_id)
        )


class CommandsResource(Resource):
    """The commands valid now, as links; parameterised ones are URI templates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orderId": 1,
                    "commands": ["assignOrder", "updateOrderLocation", "cancelOrder"],
                    "_links": {
                        "self": {"href": f"{EXAMPLE_ORDER}/commands"},
                        "order": {"href": EXAMPLE_ORDER},
                        "assignOrder": {
                            "href": f"{EXAMPLE_ORDER}/commands/assignOrder{{?restaurantId}}",
                            "templated": True,
                            "title": "Assign the order to a restaurant",
                        },
                    },
                }
            ]
        }
    )

    order_id: Id
    commands: list[str]

    @classmethod
    def of(cls, order_id: int, names: list[str], to: Links) -> CommandsResource:
        command_links: dict[str, str | Link] = {
            "self": to.commands(order_id),
            "order": to.order(order_id),
        }
        for name in names:
            command = COMMANDS[name]
            href = to.command(order_id, name)
            if command.parameters:
                href += "{?" + ",".join(p.name for p in command.parameters) + "}"
            command_links[name] = link(
                href, title=command.summary, templated=True if command.parameters else None
            )
        return cls(order_id=order_id, commands=names, links=links(**command_links))


class CommandAccepted(Resource):
    """A command recorded whose outcome is not known yet: ``_links.outcome`` will tell."""

    order_id: Id
    command_id: str
    status: Literal["pending"] = "pending"

    @classmethod
    def of(cls, order_id: int, command_id: str, to: Links) -> CommandAccepted:
        accepted_links = links(
            self=to.outcome(order_id, command_id),
            outcome=to.outcome(order_id, command_id),
            order=to.order(order_id),
        )
        return cls(order_id=order_id, command_id=command_id, links=accepted_links)


class OutcomeParts(Shape):
    order: OrderResource
    event: EventResource | None = None


class CommandOutcomeResource(Resource):
    """What became of one command: pending, applied (the event it appended and the order
    after it), or refused (the problem type and why)."""

    order_id: Id
    command_id: str
    command: str | None = None
    status: Literal["pending", "applied", "refused"]
    refusal: str | None = Field(None, description="The problem type's last part, if refused")
    detail: str | None = None
    embedded: OutcomeParts | None = Field(None, alias="_embedded")
