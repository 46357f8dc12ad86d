"""The order workflow: one long-running execution per order, driven by command signals."""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue

from workflows.order_commands import OrderCommands

with workflow.unsafe.imports_passed_through():
    from workflows import order_names as names
    from workflows.order_machine import (
        COMMANDS,
        EventType,
        OrderStatus,
        allowed_commands,
        shown,
    )
    from workflows.order_patches import (
        CONTINUE_BEFORE_LOG_FILLS,
        PUBLISH_EVENTS,
        PUBLISH_IN_BATCHES,
    )
    from workflows.order_signals import (
        CommandSignal,
        UnreadableSignal,
        command_id_in,
        command_signals,
        is_key_sized,
    )
    from workflows.order_types import (
        CommandOutcome,
        CommandResult,
        EventsPage,
        EventsRequest,
        Order,
        OrderEvent,
        OrderInput,
    )
    from workflows.order_visibility import current_details
    from workflows.values import actor_or_unknown


@workflow.defn(name=names.ORDER_WORKFLOW)
@command_signals
class OrderWorkflow(OrderCommands):
    """Applies commands one at a time, in arrival order, and keeps the order's event log.

    The workflow is the authority on transitions: a command that is not allowed now is
    recorded as a refused outcome (no event), which the API reports as 409.
    """

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._input = input
        self._outcomes: OrderedDict[str, CommandOutcome] = OrderedDict()
        self._published = 0  # events 1.._published are in the outbox
        self._log_bounded = False  # CONTINUE_BEFORE_LOG_FILLS, decided as the run starts
        # Work left for _catch_up at the end of the activation.
        self._stale = False
        self._index_stale = False
        self._logged = 0
        self._unlogged: Counter[str] = Counter()
        self._every_patch = None  # EVERY_PATCH_ABOVE, asked once, at first need
        if input.carried is not None:
            self._order = input.carried.order
            self._events, outcomes = input.carried.unpacked()
            self._published = input.carried.published
            self._outcomes.update((o.command_id, o) for o in outcomes)
        else:
            self._order = Order.placed(
                input.order_id, input.account_id, input.created_at, workflow.info().run_id
            )
            created = OrderEvent(
                event_id=1,
                order_id=input.order_id,
                type=EventType.ORDER_CREATED,
                order_status=OrderStatus.ORDER_CREATED,
                created_at=input.created_at,
                actor=actor_or_unknown(input.actor),
            )
            self._events = [created]
        self._order.run_id = workflow.info().run_id

    @workflow.run
    async def run(self, input: OrderInput) -> Order:
        self._describe()
        self._keeping_up = asyncio.create_task(self._keep_up())
        publishing = self._patched(PUBLISH_EVENTS)
        batching = publishing and self._patched(PUBLISH_IN_BATCHES)
        self._log_bounded = self._patched(CONTINUE_BEFORE_LOG_FILLS)
        while True:
            await workflow.wait_condition(
                lambda: (
                    (publishing and self._unpublished() > 0)
                    or self._order.status.is_terminal
                    or self._time_to_continue()
                )
            )
            closed = self._order.status.is_terminal
            if self._time_to_continue() and not closed:
                break  # continue as new; unpublished events travel along
            if publishing and self._unpublished() > 0:
                if batching and not closed and input.publish_delay_ms > 0:
                    await self._gather_batch(timedelta(milliseconds=input.publish_delay_ms))
                await self._publish()
                continue
            if closed:
                break  # every event is published
        # Signal handlers are synchronous, but wait anyway so none is cut short.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._catch_up()
        if self._order.status.is_terminal:
            return self._order
        workflow.continue_as_new(replace(input, carried=self._carry_over()))

    async def _keep_up(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self._stale)
            self._catch_up()

    def _catch_up(self) -> None:
        """Once per activation, after its signals: upsert the search attributes, describe
        the order, and sum up the commands not logged one by one."""
        if self._index_stale:
            self._upsert_search_attributes()
        if self._stale:
            self._describe()
        if self._unlogged:
            workflow.logger.info(
                "%s more commands applied or refused: %s",
                self._unlogged.total(),
                dict(self._unlogged),
                extra={"order_id": self._order.order_id},
            )
        self._stale = self._index_stale = False
        self._logged = 0
        self._unlogged.clear()

    # Commands: one signal per row of the state machine (added by command_signals below),
    # named exactly like the command; any other signal name lands here. No signal, whatever
    # it holds, fails a workflow task: what cannot be applied is refused as an outcome.

    @workflow.signal(dynamic=True)
    def unknown_command(self, name: str, payloads: Sequence[RawValue]) -> None:
        """Without this a signal no row names would wait in the SDK's buffer forever."""
        try:
            first = [workflow.payload_converter().from_payload(p.payload) for p in payloads[:1]]
        except Exception:
            first = []  # not even decodable: no command id to answer under
        known = ", ".join(COMMANDS)
        detail = f"there is no command {shown(name)} (commands: {known})"
        self._refuse_signal(name, command_id_in(first), detail)

    def _receive(self, name: str, payloads: Sequence[Any]) -> None:
        try:
            signal = CommandSignal.read(payloads)
        except UnreadableSignal as problem:
            self._refuse_signal(name, problem.command_id, f"{name} signal {problem}")
            return
        try:
            self._handle(name, signal)
        except Exception:
            # A bug, not the sender's fault: still no reason to stop the order.
            workflow.logger.exception("%s could not be applied", name)
            if signal.command_id not in self._outcomes and is_key_sized(signal.command_id):
                outcome = CommandOutcome(signal.command_id, name, {}, status=self._order.status)
                outcome.refusal = "invalid"
                outcome.detail = f"{name} could not be applied (an error in the order workflow)"
                self._remember(outcome)

    # Queries: they answer whatever they are asked (an absurd question gets an empty answer).
    # Their arguments are Any, so that the SDK hands them over as sent instead of coercing
    # them (1.5 would become event 1) or failing to.

    @workflow.query(name=names.QUERY_ORDER)
    def order(self) -> Order:
        return self._order

    @workflow.query(name=names.QUERY_EVENTS)
    def events(self, request: Any = None) -> EventsPage:
        """A page (an EventsRequest) by position in the whole log; positions before
        ``first_kept`` were trimmed (the caller reads those from the outbox)."""
        page = EventsRequest.read(request)
        if page is None:
            return EventsPage([], self._order.event_count, self._first_kept())
        start = max(page.offset - (self._first_kept() - 1), 0)
        end = max(page.offset + page.limit - (self._first_kept() - 1), 0)
        return EventsPage(self._events[start:end], self._order.event_count, self._first_kept())

    @workflow.query(name=names.QUERY_EVENT)
    def event(self, event_id: Any = None) -> OrderEvent | None:
        """The event with this id (an int)."""
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            return None
        return self._event(event_id)

    @workflow.query(name=names.QUERY_COMMANDS)
    def commands(self) -> list[str]:
        return allowed_commands(self._order.status)

    @workflow.query(name=names.QUERY_OUTCOME)
    def outcome(self, command_id: Any = None) -> CommandResult | None:
        """What became of the command with this id (a str)."""
        outcome = self._outcomes.get(command_id) if isinstance(command_id, str) else None
        if outcome is None:
            return None
        event = self._event(outcome.event_id) if outcome.event_id else None
        return CommandResult(outcome, self._order, event)

    # The state machine at work.

    def _describe(self) -> None:
        """The current details shown for this order in the Web UI."""
        workflow.set_current_details(current_details(self._order, self._events[-1]))
