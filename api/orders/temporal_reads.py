"""Every read the API makes of orders in Temporal: queries on an order's workflow (asked again
within their bound while its run is between two runs) and lists from visibility."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.orders.temporal_client import OrderClient
from orderflow.errors import BadPageToken
from workflows import order_names as names
from workflows.order_types import CommandResult, EventsPage, EventsRequest, Order, OrderEvent
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger(__name__)

_BAD_TOKEN = {RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN}
# A query is asked again (within its bound) when it timed out (client side, server side),
# met the order's workflow task failed (as it is for a moment when a continue-as-new is
# turned down because signals arrived) or found the order's query buffer full (the server
# holds one query per workflow while a workflow task runs).
_ASK_AGAIN = {
    RPCStatusCode.CANCELLED,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.RESOURCE_EXHAUSTED,  # "consistent query buffer is full": one at a time
}
_TIMED_OUT = {RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED}
QUERY_ATTEMPTS = 3
_QUERY_PAUSE = 0.1  # seconds before asking again a query that was turned away
T = TypeVar("T")


@dataclass(frozen=True)
class OrderSummary:
    """An order as Temporal visibility knows it: enough for a list, without a query."""

    order_id: int
    account_id: int | None
    status: str | None
    restaurant_id: int | None
    driver_id: int | None
    run_id: str


class OrderReads(OrderClient):
    """Queries and lists of order workflows."""

    async def order(self, order_id: int) -> Order:
        return await self._query(
            order_id, lambda handle, timeout: handle.query(OrderWorkflow.order, rpc_timeout=timeout)
        )

    async def commands(self, order_id: int) -> list[str]:
        return await self._query(
            order_id,
            lambda handle, timeout: handle.query(OrderWorkflow.commands, rpc_timeout=timeout),
        )

    async def events(self, order_id: int, offset: int, limit: int) -> EventsPage:
        """A page by position in the whole log (trimmed events are not in it)."""
        page = EventsRequest(offset=offset, limit=limit)
        return await self._query(
            order_id,
            lambda handle, timeout: handle.query(OrderWorkflow.events, page, rpc_timeout=timeout),
        )

    async def event(self, order_id: int, event_id: int) -> OrderEvent | None:
        return await self._query(
            order_id,
            lambda handle, timeout: handle.query(
                OrderWorkflow.event, event_id, rpc_timeout=timeout
            ),
        )

    async def _query(
        self,
        order_id: int,
        query: Callable[[WorkflowHandle[OrderWorkflow, Order], timedelta], Awaitable[T]],
    ) -> T:
        """A read of the order, asked again within the call's bound when the order's run is
        between two runs.

        A query that reaches the order's run while it continues as new under a stream of
        signals can be left unanswered until its deadline (the server drops queries it had
        attached to the task that tried to close the run), or be refused while that task
        has failed (FAILED_PRECONDITION). Asked again, the new run answers: each attempt
        gets a third of the bound, so the reader waits a fraction of it and is not told 503.
        """
        handle = self._handle(order_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout.total_seconds()
        attempt = self._timeout.total_seconds() / QUERY_ATTEMPTS
        async with self._temporal_errors(order_id):
            while True:
                left = max(deadline - loop.time(), _QUERY_PAUSE)
                try:
                    return await query(handle, timedelta(seconds=min(attempt, left)))
                except RPCError as error:
                    if error.status not in _ASK_AGAIN or loop.time() + _QUERY_PAUSE >= deadline:
                        raise
                    log.info(
                        "order %s: a query went unanswered (%s); asking again",
                        order_id,
                        error.status.name,
                    )
                    if error.status not in _TIMED_OUT:
                        await asyncio.sleep(_QUERY_PAUSE)

    async def outcome(
        self, order_id: int, command_id: str, *, wait: float = 0.0
    ) -> CommandResult | None:
        """What became of a command, or None when the order has no outcome for it. With
        ``wait`` (seconds), polls until there is one or the time is up; each query is
        bounded (by what is left, and at least the command wait), so the whole call is."""
        handle = self._handle(order_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.005
        async with self._temporal_errors(order_id):
            while True:
                # A query may have to wait for a worker to replay the order (its own worker
                # gone): give it at least the command wait, never more than rpc_timeout.
                left = max(deadline - loop.time(), self.options.command_wait.total_seconds())
                timeout = min(left, self._timeout.total_seconds())
                result = await handle.query(
                    OrderWorkflow.outcome, command_id, rpc_timeout=timedelta(seconds=timeout)
                )
                if result is not None or loop.time() >= deadline:
                    return result
                await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
                delay = min(delay * 2, 0.25)

    async def find(
        self, filters: Sequence[str], page_size: int, page_token: bytes | None
    ) -> tuple[list[OrderSummary], bytes | None]:
        """One page of orders matching visibility ``filters`` (already valid clauses)."""
        query = " AND ".join(
            [
                f"WorkflowType = '{names.ORDER_WORKFLOW}'",
                "ExecutionStatus != 'ContinuedAsNew'",
                *list(filters),
            ]
        )
        iterator = self._client.list_workflows(
            query, page_size=page_size, next_page_token=page_token, rpc_timeout=self._timeout
        )
        async with self._temporal_errors(None):
            try:
                await iterator.fetch_next_page()
            except RPCError as error:
                # Page tokens are opaque to us; a tampered one fails inside the server.
                if page_token is None or error.status not in _BAD_TOKEN:
                    raise
                raise BadPageToken() from None
        summaries = []
        for execution in iterator.current_page or []:
            order_id = names.order_id_of(execution.id)
            if order_id is None:
                continue
            attributes = execution.typed_search_attributes
            summaries.append(
                OrderSummary(
                    order_id=order_id,
                    account_id=attributes.get(names.ACCOUNT_ID),
                    status=attributes.get(names.ORDER_STATUS),
                    restaurant_id=attributes.get(names.RESTAURANT_ID),
                    driver_id=attributes.get(names.DRIVER_ID),
                    run_id=execution.run_id,
                )
            )
        return summaries, iterator.next_page_token or None
