"""Every call the API makes to Temporal for orders: start, signal, query and list order
workflows. Temporal's failures come out as domain errors (orderflow.errors)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.orders.options import OrderStartOptions
from orderflow import temporal
from orderflow.errors import (
    BadPageToken,
    OrderIdsOutOfStep,
    OrderNotFound,
    TooManyCommands,
    WorkflowUnanswered,
)
from workflows import order_names as names
from workflows.order_machine import OrderStatus, ParameterValue
from workflows.order_types import (
    CommandResult,
    CommandSignal,
    EventsPage,
    EventsRequest,
    Order,
    OrderEvent,
)
from workflows.order_workflow import OrderWorkflow
from workflows.values import UNKNOWN_ACTOR

log = logging.getLogger(__name__)

# How long send() keeps trying to reach a Temporal it has no connection to (as long as
# the client's own retries would: temporal.CONNECT_RETRY).
SIGNAL_RECONNECT_SECONDS = 3.0
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


class OrderWorkflows:
    """Order workflows through one Temporal client; every call bounded by ``rpc_timeout``.

    Signals may go through a client of their own that tries each call once
    (temporal.SINGLE_ATTEMPT), so that a failure tells whether the signal could have been
    recorded; send() then retries only what certainly never left.
    """

    def __init__(
        self, client: Client, options: OrderStartOptions, *, signals: Client | None = None
    ) -> None:
        self._client = client
        self._signals = signals or client
        self.options = options
        self._timeout = options.rpc_timeout

    def _handle(self, order_id: int) -> WorkflowHandle[OrderWorkflow, Order]:
        return self._client.get_workflow_handle_for(
            OrderWorkflow.run, names.order_workflow_id(order_id)
        )

    async def start(
        self,
        order_id: int,
        account_id: int,
        created_at: int,
        *,
        fresh: bool,
        keyed: bool = False,
        actor: str = UNKNOWN_ACTOR,
    ) -> Order:
        """Start the order's workflow (placed by ``actor``) and return the order.

        A ``fresh`` order id (just handed out by the database) has no workflow yet, so the
        order is known from the start alone, without waiting for a worker to run it: under
        load that wait can outlast the call's bound, and a created order must not be
        answered 503. If Temporal has the workflow all the same, a concurrent request with
        the same Idempotency-Key (``keyed``) started it, and the order is read back; without
        a key the order database is behind Temporal. An id handed out before (a retried
        create) is started again, a no-op, and the order read back from its workflow.
        """
        workflow_id = names.order_workflow_id(order_id)
        async with self._temporal_errors(order_id):
            try:
                handle = await self._client.start_workflow(
                    OrderWorkflow.run,
                    self.options.input(order_id, account_id, created_at, actor=actor),
                    id=workflow_id,
                    task_queue=self.options.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    # A retried create finds the running workflow; a new id must not.
                    id_conflict_policy=(
                        WorkflowIDConflictPolicy.FAIL
                        if fresh
                        else WorkflowIDConflictPolicy.USE_EXISTING
                    ),
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(names.ORDER_STATUS, OrderStatus.ORDER_CREATED),
                            SearchAttributePair(names.ACCOUNT_ID, account_id),
                        ]
                    ),
                    static_summary=f"Order {order_id} for account {account_id}",
                    static_details=(
                        f"Order **{order_id}** placed by account **{account_id}**. "
                        "Commands arrive as signals; the current details show its status."
                    ),
                    rpc_timeout=self._timeout,
                )
            except WorkflowAlreadyStartedError:
                if fresh and not keyed:
                    raise self._out_of_step(order_id, workflow_id) from None
                # A retried create (concurrent, or of an order that has already closed).
            else:
                if fresh and handle.first_execution_run_id:
                    return Order.placed(
                        order_id, account_id, created_at, handle.first_execution_run_id
                    )
            order = await self._handle(order_id).query(
                OrderWorkflow.order, rpc_timeout=self._timeout
            )
        if order.account_id != account_id:  # not this request's order: never show it
            raise self._out_of_step(order_id, workflow_id)
        return order

    @staticmethod
    def _out_of_step(order_id: int, workflow_id: str) -> OrderIdsOutOfStep:
        log.error(
            "order id %s is fresh from the database but Temporal has %s: the order "
            "database is behind Temporal (restored or reset?)",
            order_id,
            workflow_id,
        )
        return OrderIdsOutOfStep()

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

    async def send(
        self,
        order_id: int,
        command: str,
        command_id: str,
        parameters: Mapping[str, ParameterValue],
        *,
        actor: str = UNKNOWN_ACTOR,
    ) -> bool:
        """Signal a command sent by ``actor``; False when the order has already closed."""
        signal = CommandSignal(command_id=command_id, parameters=dict(parameters), actor=actor)
        async with self._temporal_errors(order_id):
            try:
                await self._signal(order_id, command, signal)
            except RPCError as error:
                if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                    # The server sheds this order's signals for a moment, e.g. while a
                    # continue-as-new that new signals held up closes the run (Temporal then
                    # refuses signals until it has). Nothing was recorded: the client is
                    # told to come back, as the admission tells it.
                    log.info("order %s refuses signals for now: %s", order_id, error)
                    raise TooManyCommands(
                        order_id,
                        1,
                        why="takes no signals for a moment (e.g. while it continues as new)",
                    ) from None
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                # Closed workflows refuse signals with NOT_FOUND too: tell the two apart.
                if not await self._exists(order_id):
                    raise
                return False
            return True

    async def _signal(self, order_id: int, command: str, signal: CommandSignal) -> None:
        """Send the signal; while there is no connection to send it on, try again (for as
        long as the client would have), since that attempt certainly did not arrive."""
        handle = self._signals.get_workflow_handle(names.order_workflow_id(order_id))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SIGNAL_RECONNECT_SECONDS
        delay = 0.1
        while True:
            try:
                await handle.signal(command, signal, rpc_timeout=self._timeout)
                return
            except (RPCError, RuntimeError) as error:
                if not temporal.could_not_connect(error) or loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

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

    async def _exists(self, order_id: int) -> bool:
        try:
            await self._handle(order_id).describe(rpc_timeout=self._timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    @asynccontextmanager
    async def _temporal_errors(self, order_id: int | None) -> AsyncIterator[None]:
        """Turn Temporal's failures into domain errors: not found, or unavailable."""
        try:
            yield
        except (RPCError, RuntimeError) as error:
            if isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND:
                if order_id is not None:
                    raise OrderNotFound(order_id) from None
            if (failure := temporal.unavailable(error)) is None:
                raise
            log.warning("Temporal call failed: %s", temporal.failure_text(error))
            if isinstance(error, RPCError) and error.status == RPCStatusCode.FAILED_PRECONDITION:
                # Temporal answered: the order's workflow task has failed, for now at least.
                raise WorkflowUnanswered() from None
            raise failure from None
        except WorkflowQueryFailedError as error:
            log.error("query on order %s failed: %s", order_id, error)
            raise WorkflowUnanswered() from None
