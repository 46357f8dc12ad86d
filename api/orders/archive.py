"""Orders Temporal no longer keeps (their workflow closed longer ago than the namespace's
retention): read back from their published events, so a closed order stays readable."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from api.http.database import in_database
from api.http.problems import Problem
from api.orders.service import OrderGateway
from orderflow.database import outbox
from orderflow.database.order_numbers import account_of
from workflows.order_types import Order, OrderEvent

# More events than an order can keep is more than any archived order has.
ALL = 1_000_000


def _source(order_id: int) -> str:
    return f"/v1/orders/{order_id}"


async def archived_events(
    engine: Engine, order_id: int, offset: int, limit: int
) -> tuple[list[OrderEvent], int]:
    rows, total = await in_database(outbox.read_subject, engine, _source(order_id), offset, limit)
    return [OrderEvent.from_public(row.data) for row in rows], total


async def archived_order(engine: Engine, order_id: int) -> Order | None:
    events, _ = await archived_events(engine, order_id, 0, ALL)
    account = await in_database(account_of, engine, order_id)
    if not events or account is None:
        return None
    return Order.from_events(account, events)


async def read_order(gateway: OrderGateway, engine: Engine, order_id: int) -> Order:
    """The order from its workflow, or, once Temporal has let it go, from its events."""
    try:
        return await gateway.read(order_id)
    except Problem as problem:
        if problem.status != 404:
            raise
        archived = await archived_order(engine, order_id)
        if archived is None:
            raise
        return archived


async def closed_instead(problem: Problem, engine: Engine, order_id: int) -> Problem:
    """A command to an order Temporal has let go is refused as closed, not as unknown."""
    if problem.status != 404:
        return problem
    archived = await archived_order(engine, order_id)
    if archived is None:
        return problem
    return Problem(
        409,
        "order-closed",
        f"order {order_id} is closed ({archived.status})",
        orderStatus=archived.status.value,
        allowedCommands=[],
    )
