"""HAL rendering of orders, events and commands: the only place response bodies are shaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse

from api.http.links import Links
from api.orders.service import OrderSummary
from orderflow.database.outbox import OutboxEvent
from workflows.customer_types import CustomerRecord
from workflows.order_machine import COMMANDS
from workflows.order_names import order_workflow_id
from workflows.order_types import Order, OrderEvent

HAL_JSON = "application/hal+json"
Resource = dict[str, Any]


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def order_resource(order: Order, links: Links) -> Resource:
    body = _without_none(
        {
            "orderId": order.order_id,
            "accountId": order.account_id,
            "status": order.status.value,
            "restaurantId": order.restaurant_id,
            "driverId": order.driver_id,
            "lat": order.lat,
            "lon": order.lon,
            "createdAt": order.created_at,
            "lastModified": order.last_modified,
        }
    )
    body["_links"] = _order_links(order.order_id, order.account_id, order.run_id, links)
    return body


def order_summary_resource(summary: OrderSummary, links: Links) -> Resource:
    """An order as visibility lists it: its indexed fields, without a query."""
    body = _without_none(
        {
            "orderId": summary.order_id,
            "accountId": summary.account_id,
            "status": summary.status,
            "restaurantId": summary.restaurant_id,
            "driverId": summary.driver_id,
        }
    )
    body["_links"] = _order_links(summary.order_id, summary.account_id, summary.run_id, links)
    return body


def _order_links(order_id: int, account_id: int | None, run_id: str, links: Links) -> Resource:
    result: Resource = {
        "self": {"href": links.order(order_id)},
        "commands": {"href": links.commands(order_id)},
        "events": {"href": links.events(order_id)},
    }
    if account_id is not None:
        result["customer"] = {"href": links.customer(account_id)}
    if run_id:  # the Web UI's page for a workflow needs the run id
        result["history"] = {
            "href": links.workflow_history(order_workflow_id(order_id), run_id),
            "type": "text/html",
            "title": "Temporal Web UI",
        }
    return result


def event_resource(event: OrderEvent, links: Links) -> Resource:
    body = event.public()
    body["_links"] = {
        "self": {"href": links.event(event.order_id, event.event_id)},
        "order": {"href": links.order(event.order_id)},
    }
    return body


def customer_resource(customer: CustomerRecord, links: Links) -> Resource:
    body = customer.public()
    body["_links"] = {
        "self": {"href": links.customer(customer.customer_id)},
        "orders": {"href": links.orders(accountId=customer.customer_id)},
        "events": {"href": links.customer_events(customer.customer_id)},
    }
    return body


def cloud_event(event: OutboxEvent, links: Links) -> Resource:
    """A published event as a CloudEvents 1.0 JSON envelope."""
    return {
        "specversion": "1.0",
        "id": event.event_id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": _rfc3339(event.time),
        "datacontenttype": "application/json",
        "dataschema": f"{links.base}/v1/catalog/events/{event.type}/schema",
        "messageversion": event.version,
        "sequence": str(event.position),
        "data": event.data,
    }


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def commands_resource(order_id: int, names: list[str], links: Links) -> Resource:
    """The commands valid now, as links; those with parameters are URI templates."""
    command_links: dict[str, Any] = {
        "self": {"href": links.commands(order_id)},
        "order": {"href": links.order(order_id)},
    }
    for name in names:
        command = COMMANDS[name]
        link: dict[str, Any] = {"href": links.command(order_id, name), "title": command.summary}
        if command.parameters:
            link["href"] += "{?" + ",".join(p.name for p in command.parameters) + "}"
            link["templated"] = True
        command_links[name] = link
    return {"orderId": order_id, "commands": names, "_links": command_links}


def numbered_page(
    name: str,
    items: list[Resource],
    *,
    total: int,
    page: int,
    size: int,
    href: Callable[[int], str],
    **more: str,
) -> Resource:
    """A page of a numbered collection (pages from 0) with self/next/prev/first/last."""
    pages = max(1, -(-total // size))
    links = page_links(
        href(page),
        href(page + 1) if page + 1 < pages else None,
        href(min(page, pages) - 1) if page > 0 else None,
        first=href(0),
        last=href(pages - 1),
        **more,
    )
    numbers = {"size": size, "totalElements": total, "totalPages": pages, "number": page}
    return {"_embedded": {name: items}, "_links": links, "page": numbers}


def page_links(
    self_href: str, next_href: str | None = None, prev_href: str | None = None, **more: str
) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": self_href}}
    if next_href:
        links["next"] = {"href": next_href}
    if prev_href:
        links["prev"] = {"href": prev_href}
    links.update({rel: {"href": href} for rel, href in more.items()})
    return links


class HalResponse(JSONResponse):
    media_type = HAL_JSON
