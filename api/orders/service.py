"""The orders use cases the routes call: place, read, command, and read events — through
the order workflows, and from the archive once Temporal has let an order go."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from api.orders import archive
from api.orders.admission import CommandAdmission
from api.orders.outcomes import CommandPending, CommandRequest, decided
from api.orders.temporal import OrderWorkflows
from api.orders.temporal_reads import OrderSummary
from orderflow.database import customers
from orderflow.database.calls import in_database
from orderflow.database.order_numbers import allocate_order_id
from orderflow.errors import (
    CommandNotFound,
    CommandNotRecorded,
    EventNotFound,
    InvalidInput,
    OrderClosed,
    OrderNotFound,
    TemporalTimeout,
    TemporalUnavailable,
    TooManyCommands,
    WorkflowUnanswered,
)
from workflows.order_types import CommandResult, EventsPage, Order, OrderEvent
from workflows.values import UNKNOWN_ACTOR

log = logging.getLogger(__name__)


class OrderService:
    """What the order routes do; reads closed orders that Temporal no longer keeps from the
    archive (``engine`` may be None where no archive is needed). With an ``admission``,
    an order's commands beyond its rate are refused before they are sent."""

    def __init__(
        self,
        workflows: OrderWorkflows,
        engine: Engine | None = None,
        admission: CommandAdmission | None = None,
    ) -> None:
        self.workflows = workflows
        self._engine = engine
        self._admission = admission

    async def place(
        self, account_id: int, idempotency_key: str | None, *, actor: str = UNKNOWN_ACTOR
    ) -> Order:
        """A new order for a registered customer, placed by ``actor`` (or, with a key used
        before, that order)."""
        if self._engine is None or not await in_database(
            customers.is_registered, self._engine, account_id
        ):
            unknown = f"customer {account_id} is not registered"
            raise InvalidInput([("accountId", unknown)], detail=unknown)
        allocation = await in_database(allocate_order_id, self._engine, account_id, idempotency_key)
        return await self.workflows.start(
            allocation.order_id,
            account_id,
            int(time.time() * 1000),
            fresh=allocation.new,
            keyed=idempotency_key is not None,
            actor=actor,
        )

    async def find(
        self, filters: Sequence[str], page_size: int, page_token: bytes | None
    ) -> tuple[list[OrderSummary], bytes | None]:
        """A page of orders from Temporal visibility (``filters`` are valid clauses)."""
        return await self.workflows.find(filters, page_size, page_token)

    async def read(self, order_id: int) -> Order:
        """The order from its workflow, or, once Temporal has let it go, from its events."""
        try:
            return await self.workflows.order(order_id)
        except OrderNotFound:
            return await self._archived(order_id)

    async def commands(self, order_id: int) -> list[str]:
        """The commands valid now (none for an order Temporal has let go)."""
        try:
            return await self.workflows.commands(order_id)
        except OrderNotFound:
            await self._archived(order_id)
            return []

    async def events(self, order_id: int, offset: int, limit: int) -> EventsPage:
        """A page of the order's log however long it has lived: events its workflow has
        trimmed after continue-as-new, or all of them once Temporal has let the order go,
        come from the archive."""
        try:
            page = await self.workflows.events(order_id, offset, limit)
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
            event = await self.workflows.event(order_id, event_id)
        except OrderNotFound:
            await self._archived(order_id)
        if event is None and event_id > 0 and self._engine is not None:
            event = await archive.archived_event(self._engine, order_id, event_id)
        if event is None:
            raise EventNotFound(order_id, event_id)
        return event

    async def run(self, request: CommandRequest) -> CommandResult | CommandPending:
        """Signal the command, then wait (bounded) for its outcome: the synchronous path.

        A refusal is raised as a domain error. Once the signal is recorded, the answer is
        never "unavailable": if the outcome is not known in time, it is CommandPending and
        the command's outcome resource tells the rest. Unavailable means nothing was
        recorded.
        """
        await self.submit(request)
        order_id, command_id = request.order_id, request.command_id
        try:
            result = await self.workflows.outcome(
                order_id, command_id, wait=self.workflows.options.command_wait.total_seconds()
            )
        except (TemporalTimeout, TemporalUnavailable, WorkflowUnanswered):
            # Recorded: whatever keeps its outcome from us now, the outcome resource will tell.
            result = None
        if result is None:
            log.warning("order %s: outcome of %s not known in time", order_id, command_id)
            return CommandPending(order_id, command_id)
        return decided(order_id, request.command, request.params, result)

    async def submit(self, request: CommandRequest) -> None:
        """Signal the command (the asynchronous path); a closed order refuses it, unless
        this is a retry of a command that ran before it closed. Raises Unavailable only
        when Temporal certainly did not record the signal, TooManyCommands when the order
        admits no more commands now (a keyed request may be a retry)."""
        order_id, command_id = request.order_id, request.command_id
        if not await self._admitted(order_id, command_id, keyed=request.keyed):
            return  # a retry of a command the order has decided: nothing to send
        try:
            sent = await self.workflows.send(
                order_id, request.command.name, command_id, request.params, actor=request.actor
            )
        except OrderNotFound:
            order = await self._archived(order_id)
            raise OrderClosed(order_id, order.status.value) from None
        except (TemporalTimeout, TemporalUnavailable) as failure:
            unreachable = isinstance(failure, TemporalUnavailable)
            if isinstance(failure, TemporalUnavailable) and not failure.may_have_arrived:
                raise CommandNotRecorded(unreachable=True) from None  # it never left
            # The signal may or may not have been recorded (no answer in time, or the
            # connection broke under it): a query tells, since the workflow has applied
            # every signal recorded before it. If Temporal cannot say either, the command's
            # outcome resource will (pending, then its outcome, or not found: never
            # recorded).
            if await self._recorded(order_id, command_id) is False:
                raise CommandNotRecorded(unreachable=unreachable) from None
            return  # recorded, or nobody can say yet: the outcome resource will
        if not sent and await self.workflows.outcome(order_id, command_id) is None:
            raise OrderClosed(order_id, (await self.read(order_id)).status.value)

    async def _admitted(self, order_id: int, command_id: str, *, keyed: bool) -> bool:
        """Whether to send the command: yes when the order admits one more now; no for a
        retry (same key) of a command this process admitted and the order has decided,
        which sends nothing and so is not refused; TooManyCommands for the rest."""
        if self._admission is None:
            return True
        wait = self._admission.take(order_id, command_id if keyed else None)
        if wait == 0:
            return True
        try:
            # Only a command admitted before can be a retry worth a query: refusing the
            # rest of a flood must cost no more than the refusal.
            retry = keyed and self._admission.admitted_before(order_id, command_id)
            if retry and await self._recorded(order_id, command_id):
                return False
        except OrderNotFound:
            pass  # a retry later is told what became of the order
        raise TooManyCommands(order_id, wait)

    async def outcome(self, order_id: int, command_id: str) -> CommandResult | CommandPending:
        """What became of a recorded command: pending while its order cannot answer."""
        try:
            result = await self.workflows.outcome(order_id, command_id)
        except (TemporalTimeout, WorkflowUnanswered):
            return CommandPending(order_id, command_id)
        if result is None:
            raise CommandNotFound(order_id, command_id)
        return result

    async def _recorded(self, order_id: int, command_id: str) -> bool | None:
        """Whether the order has recorded the command; None when Temporal cannot say."""
        try:
            return await self.workflows.outcome(order_id, command_id) is not None
        except (TemporalTimeout, WorkflowUnanswered, TemporalUnavailable):
            return None

    async def _archived(self, order_id: int) -> Order:
        """The order from the archive, or OrderNotFound: it never existed."""
        found = None
        if self._engine is not None:
            found = await archive.archived_order(self._engine, order_id)
        if found is None:
            raise OrderNotFound(order_id)
        return found
