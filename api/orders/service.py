"""Every call the API makes to Temporal for orders, with the archive as the fallback for
orders Temporal has let go. Failures come out as domain errors (orderflow.errors)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.orders import archive
from orderflow.database import customers
from orderflow.database.calls import in_database
from orderflow.database.order_numbers import allocate_order_id
from orderflow.errors import (
    BadPageToken,
    CommandRefused,
    EventLogFull,
    EventNotFound,
    IdempotencyKeyReused,
    InvalidInput,
    OrderClosed,
    OrderIdsOutOfStep,
    OrderNotFound,
    OutcomePending,
    TemporalTimeout,
    TemporalUnavailable,
    WorkflowUnanswered,
)
from orderflow.settings import Settings
from workflows import order_names as names
from workflows.order_machine import Command, OrderStatus, ParameterValue, allowed_commands
from workflows.order_types import (
    CommandResult,
    CommandSignal,
    EventsPage,
    EventsRequest,
    Order,
    OrderEvent,
    OrderInput,
)
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger(__name__)

_BAD_TOKEN = {RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN}


@dataclass(frozen=True)
class OrderSummary:
    """An order as Temporal visibility knows it: enough for a list, without a query."""

    order_id: int
    account_id: int | None
    status: str | None
    restaurant_id: int | None
    driver_id: int | None
    run_id: str


@dataclass(frozen=True)
class OrderStartOptions:
    """What the service passes to every order it starts, and how long it waits on Temporal."""

    task_queue: str
    continue_as_new_after_history_events: int | None
    remembered_outcomes: int
    rpc_timeout: timedelta
    max_events: int
    kept_after_continue: int
    publish_delay_ms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> OrderStartOptions:
        return cls(
            task_queue=settings.orders_task_queue,
            continue_as_new_after_history_events=settings.order_continue_as_new_after_history_events,
            remembered_outcomes=settings.order_remembered_command_outcomes,
            rpc_timeout=settings.temporal_rpc_timeout,
            max_events=settings.order_max_events,
            kept_after_continue=settings.order_kept_events_after_continue,
            publish_delay_ms=settings.order_publish_delay_ms,
        )

    def input(self, order_id: int, account_id: int, created_at: int) -> OrderInput:
        return OrderInput(
            order_id=order_id,
            account_id=account_id,
            created_at=created_at,
            continue_as_new_after_history_events=self.continue_as_new_after_history_events,
            remembered_outcomes=self.remembered_outcomes,
            max_events=self.max_events,
            kept_after_continue=self.kept_after_continue,
            publish_delay_ms=self.publish_delay_ms,
        )


class OrderService:
    """Starts, signals, queries and lists order workflows; reads closed orders that
    Temporal no longer keeps from the archive (``engine``, may be None in tests that need
    no archive)."""

    def __init__(
        self, client: Client, options: OrderStartOptions, engine: Engine | None = None
    ) -> None:
        self._client = client
        self._options = options
        self._engine = engine
        self._timeout = options.rpc_timeout

    def _handle(self, order_id: int) -> WorkflowHandle[OrderWorkflow, Order]:
        return self._client.get_workflow_handle_for(
            OrderWorkflow.run, names.order_workflow_id(order_id)
        )

    async def place(self, account_id: int, idempotency_key: str | None) -> Order:
        """A new order for a registered customer (or, with a key used before, that order)."""
        if self._engine is None or not await in_database(
            customers.exists, self._engine, account_id
        ):
            unknown = f"customer {account_id} is not registered"
            raise InvalidInput([("accountId", unknown)], detail=unknown)
        allocation = await in_database(allocate_order_id, self._engine, account_id, idempotency_key)
        return await self.start(
            allocation.order_id,
            account_id,
            int(time.time() * 1000),
            fresh=allocation.new and idempotency_key is None,
        )

    async def start(self, order_id: int, account_id: int, created_at: int, *, fresh: bool) -> Order:
        """Start the order's workflow and return the order.

        A ``fresh`` order id (just allocated, with no idempotency key) cannot have a
        workflow yet, so the order is known without a query, and without waiting for a
        worker. Otherwise a request with the same key may have started it already:
        starting again is a no-op, and the order is read back from its workflow.
        """
        workflow_id = names.order_workflow_id(order_id)
        async with self._temporal_errors(order_id):
            try:
                handle = await self._client.start_workflow(
                    OrderWorkflow.run,
                    self._options.input(order_id, account_id, created_at),
                    id=workflow_id,
                    task_queue=self._options.task_queue,
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
                if fresh:
                    log.error(
                        "order id %s is fresh from the database but Temporal has %s: the order "
                        "database is behind Temporal (restored or reset?)",
                        order_id,
                        workflow_id,
                    )
                    raise OrderIdsOutOfStep() from None
                # A retried create of an order that has already closed: read it back.
            else:
                if fresh and handle.first_execution_run_id:
                    return Order.placed(
                        order_id, account_id, created_at, handle.first_execution_run_id
                    )
            return await self._handle(order_id).query(
                OrderWorkflow.order, rpc_timeout=self._timeout
            )

    async def read(self, order_id: int) -> Order:
        """The order from its workflow, or, once Temporal has let it go, from its events."""
        try:
            async with self._temporal_errors(order_id):
                return await self._handle(order_id).query(
                    OrderWorkflow.order, rpc_timeout=self._timeout
                )
        except OrderNotFound:
            return await self._archived(order_id)

    async def commands(self, order_id: int) -> list[str]:
        """The commands valid now (none for an order Temporal has let go)."""
        try:
            async with self._temporal_errors(order_id):
                return await self._handle(order_id).query(
                    OrderWorkflow.commands, rpc_timeout=self._timeout
                )
        except OrderNotFound:
            await self._archived(order_id)
            return []

    async def events(self, order_id: int, offset: int, limit: int) -> EventsPage:
        """A page of the order's log however long it has lived: events its workflow has
        trimmed after continue-as-new, or all of them once Temporal has let the order go,
        come from the archive."""
        try:
            async with self._temporal_errors(order_id):
                page = await self._handle(order_id).query(
                    OrderWorkflow.events,
                    EventsRequest(offset=offset, limit=limit),
                    rpc_timeout=self._timeout,
                )
        except OrderNotFound:
            if self._engine is None:
                raise
            events, total = await archive.archived_events(self._engine, order_id, offset, limit)
            if total == 0:
                raise
            return EventsPage(events, total)
        trimmed = page.first_kept - 1  # events at positions below this are archived only
        if offset < trimmed and self._engine is not None:
            count = min(limit, trimmed - offset)
            older, _ = await archive.archived_events(self._engine, order_id, offset, count)
            return EventsPage(older + page.events, page.total, page.first_kept)
        return page

    async def event(self, order_id: int, event_id: int) -> OrderEvent:
        """One event, from the workflow or (trimmed, or the order let go) the archive."""
        event: OrderEvent | None = None
        try:
            async with self._temporal_errors(order_id):
                event = await self._handle(order_id).query(
                    OrderWorkflow.event, event_id, rpc_timeout=self._timeout
                )
        except OrderNotFound:
            await self._archived(order_id)
        if event is None and event_id > 0 and self._engine is not None:
            event = await archive.archived_event(self._engine, order_id, event_id)
        if event is None:
            raise EventNotFound(order_id, event_id)
        return event

    async def run(
        self,
        order_id: int,
        command: Command,
        command_id: str,
        params: Mapping[str, ParameterValue],
    ) -> CommandResult:
        """Signal the command, then read its outcome: the synchronous path. Raises the
        refusal as a domain error."""
        await self.submit(order_id, command, command_id, params)
        result = await self.outcome(order_id, command_id)
        if result is None:
            raise OutcomePending(command_id)
        outcome = result.outcome
        if outcome.command != command.name or not _same(outcome.parameters, params):
            raise IdempotencyKeyReused(
                f"Idempotency-Key {command_id!r} was first used for {outcome.command} "
                f"with {outcome.parameters}"
            )
        if outcome.refusal == "invalid":
            raise InvalidInput([], detail=outcome.detail)
        if outcome.refusal is not None:
            status = outcome.status or result.order.status
            if outcome.refusal == "closed":
                raise OrderClosed(order_id, status.value, outcome.detail)
            refused = EventLogFull if outcome.refusal == "log_full" else CommandRefused
            raise refused(outcome.detail, status=status.value, allowed=allowed_commands(status))
        return result

    async def submit(
        self,
        order_id: int,
        command: Command,
        command_id: str,
        params: Mapping[str, ParameterValue],
    ) -> None:
        """Signal the command (the asynchronous path); a closed order refuses it, unless
        this is a retry of a command that ran before it closed."""
        try:
            if await self.send(order_id, command.name, command_id, params):
                return
        except OrderNotFound:
            order = await self._archived(order_id)
            raise OrderClosed(order_id, order.status.value) from None
        if await self.outcome(order_id, command_id, wait=False) is None:
            raise OrderClosed(order_id, (await self.read(order_id)).status.value)

    async def send(
        self, order_id: int, command: str, command_id: str, parameters: Mapping[str, ParameterValue]
    ) -> bool:
        """Signal a command; False when the order has already closed."""
        signal = CommandSignal(command_id=command_id, parameters=dict(parameters))
        async with self._temporal_errors(order_id):
            try:
                await self._handle(order_id).signal(command, signal, rpc_timeout=self._timeout)
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                # Closed workflows refuse signals with NOT_FOUND too: tell the two apart.
                if not await self._exists(order_id):
                    raise
                return False
            return True

    async def outcome(
        self, order_id: int, command_id: str, *, wait: bool = True
    ) -> CommandResult | None:
        """What became of a command; with ``wait``, polls (bounded) in case a query ever
        overtakes the signal it follows."""
        handle = self._handle(order_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout.total_seconds()
        delay = 0.005
        async with self._temporal_errors(order_id):
            while True:
                result = await handle.query(
                    OrderWorkflow.outcome, command_id, rpc_timeout=self._timeout
                )
                if result is not None or not wait or loop.time() >= deadline:
                    return result
                await asyncio.sleep(delay)
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

    async def _archived(self, order_id: int) -> Order:
        """The order from the archive, or OrderNotFound: it never existed."""
        found = None
        if self._engine is not None:
            found = await archive.archived_order(self._engine, order_id)
        if found is None:
            raise OrderNotFound(order_id)
        return found

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
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND and order_id is not None:
                raise OrderNotFound(order_id) from None
            if error.status == RPCStatusCode.INVALID_ARGUMENT:  # that one would be our bug
                raise
            log.warning("Temporal call failed: %s (%s)", error.message, error.status)
            if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
                raise TemporalTimeout() from None
            raise TemporalUnavailable() from None
        except WorkflowQueryFailedError as error:
            log.error("query on order %s failed: %s", order_id, error)
            raise WorkflowUnanswered() from None
        except RuntimeError as error:
            if "Failed client connect" not in str(error):
                raise
            log.warning("Temporal is unreachable: %s", error)
            raise TemporalUnavailable() from None


def _same(first: Mapping[str, ParameterValue], second: Mapping[str, ParameterValue]) -> bool:
    """Whether two commands carry the same parameters (52 and 52.0 are the same)."""

    def normal(value: ParameterValue) -> ParameterValue:
        return float(value) if isinstance(value, int | float) else value

    return first.keys() == second.keys() and all(
        normal(first[k]) == normal(second[k]) for k in first
    )
