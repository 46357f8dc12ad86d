"""/v1/orders: place an order, read it, and find orders through Temporal visibility."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import CallerDep, IdempotencyKey, LinksDep, OrdersDep, require_scope
from api.http.hal import HalResponse, created, hal, hal_operation, link, links
from api.http.params import Id, IdPath, ListSize
from api.http.problems import problem_responses
from api.orders.models import (
    ListPage,
    OrderCreate,
    OrderList,
    OrderPage,
    OrderResource,
    OrderSummaryResource,
)
from orderflow.errors import BadPageToken
from workflows import order_names as names
from workflows.order_machine import OrderStatus

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post(
    "",
    **hal_operation(
        "Place an order",
        OrderResource,
        {201: hal(OrderResource, "The new order"), **problem_responses(400, 422, 503)},
        status_code=201,
        dependencies=[require_scope("orders:write")],
    ),
)
async def create_order(
    body: OrderCreate,
    orders: OrdersDep,
    to: LinksDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Place an order: starts its workflow and answers 201 with the order in ORDER_CREATED."""
    order = await orders.place(body.account_id, idempotency_key, actor=caller.name)
    return created(OrderResource.of(order, to))


@router.get(
    "/{order_id}",
    **hal_operation(
        "Read an order",
        OrderResource,
        {200: hal(OrderResource, "The order"), **problem_responses(404, 503)},
        dependencies=[require_scope("orders:read")],
    ),
)
async def read_order(order_id: IdPath, orders: OrdersDep, to: LinksDep) -> HalResponse:
    """The order as its workflow holds it now (or, long closed, as its events tell)."""
    return HalResponse(OrderResource.of(await orders.read(order_id), to))


@router.get(
    "",
    **hal_operation(
        "Find orders",
        OrderPage,
        {200: hal(OrderPage, "A page of orders"), **problem_responses(422, 503)},
        dependencies=[require_scope("orders:read")],
    ),
)
async def list_orders(
    orders: OrdersDep,
    to: LinksDep,
    account_id: Annotated[Id | None, Query(alias="accountId", description="Customer id")] = None,
    status: OrderStatus | None = None,
    restaurant_id: Annotated[Id | None, Query(alias="restaurantId")] = None,
    driver_id: Annotated[Id | None, Query(alias="driverId")] = None,
    size: ListSize = 20,
    page: Annotated[str | None, Query(description="The token of a `next` link")] = None,
) -> HalResponse:
    """Find orders by customer, status, restaurant or driver (Temporal visibility, newest first).

    Visibility is eventually consistent: an order changed a moment ago may show its
    previous status here for a short while; GET the order itself for its state now.
    """
    filters = [
        f"{key.name} = {value!r}" if isinstance(value, str) else f"{key.name} = {value}"
        for key, value in (
            (names.ACCOUNT_ID, account_id),
            (names.ORDER_STATUS, status.value if status else None),
            (names.RESTAURANT_ID, restaurant_id),
            (names.DRIVER_ID, driver_id),
        )
        if value is not None
    ]
    summaries, next_token = await orders.find(filters, size, _decode_token(page))
    params = {
        "accountId": account_id,
        "status": status.value if status else None,
        "restaurantId": restaurant_id,
        "driverId": driver_id,
        "size": size,
    }
    next_href = to.orders(**params, page=_encode_token(next_token)) if next_token else None
    page_links = links(
        self=to.orders(**params, page=page),
        next=next_href,
        first=to.orders(**params),
        find=link(to.orders() + "{?accountId,status,restaurantId,driverId,size}", templated=True),
    )
    items = [OrderSummaryResource.of(summary, to) for summary in summaries]
    return HalResponse(
        OrderPage(
            embedded=OrderList(orders=items),
            links=page_links,
            page=ListPage(size=size, count=len(items)),
        )
    )


def _encode_token(token: bytes) -> str:
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_token(token: str | None) -> bytes | None:
    if token is None:
        return None
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadPageToken() from None
    if not decoded:
        raise BadPageToken()
    return decoded
