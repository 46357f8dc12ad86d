"""The order workflow: one long-running execution per order, driven by command signals."""

from __future__ import annotations

import asyncio
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.order_activities import OrderActivities
    from workflows import order_names as names
    from workflows.order_machine import (
        COMMANDS,
        Command,
        EventType,
        OrderStatus,
        ParameterValue,
        allowed_commands,
        cut,
        decide,
        parse_parameters,
        shown,
    )
    from workflows.order_parameters_v1 import parse_parameters_v1
    from workflows.order_types import (
        CommandOutcome,
        CommandResult,
        CommandSignal,
        EventsPage,
        EventsRequest,
        Order,
        OrderCarryOver,
        OrderEvent,
        OrderInput,
        PublishOrderEvents,
        UnreadableSignal,
        command_id_in,
        is_key_sized,
    )
    from workflows.values import TEXT_MAX_LENGTH, actor_or_unknown, check_key

# Order events reach the outbox through a local activity (patched in: orders started before
# it existed replay without it), since the second patch in batches gathered over
# OrderInput.publish_delay_ms. Past PUBLISH_BATCH events, a batch waits for the next one.
PUBLISH_EVENTS = "publish-events-to-outbox"
PUBLISH_IN_BATCHES = "publish-events-in-batches"
PUBLISH_BATCH = 500
PUBLISH_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
# Since this patch a value outside its domain (workflows/values.py), a command id that is not
# a key, a signal that is not one CommandSignal and a signal no command names are refused as
# outcomes. Orders recorded before it keep their old rules (order_parameters_v1).
VALUES_CHECKED = "command-values-checked"
# A burst of signals arrives in one activation (10,000 of them in a few seconds), which must
# finish within the SDK's 2 s deadlock timeout: what a command needs beyond its own state
# change is done once per activation, after all its signals (_catch_up). Since this patch
# that includes upserting the search attributes, once per changed activation instead of once
# per command that changes them.
INDEX_PER_ACTIVATION = "search-attributes-once-per-activation"
LOGGED_PER_ACTIVATION = 20  # commands logged one line each; the rest are counted
# The server suggests continue-as-new by history length (4,096 events by default, but a
# setting of the cluster), which alone could let a fast stream of commands fill the kept log
# (OrderInput.max_events) first, and the commands past it would be refused after they were
# accepted. Since this patch an order also continues as new once its log holds three
# quarters of max_events, if trimming published events would free at least a quarter.
CONTINUE_BEFORE_LOG_FILLS = "continue-as-new-before-the-log-fills"
# Since this patch the next run gets its kept events and remembered outcomes as one JSON
# text (OrderCarryOver.pack): read item by item, a thousand outcomes could keep its first
# workflow task past the SDK's deadlock detector on a busy worker.
PACKED_CARRY_OVER = "carry-over-packed"
# Since this patch one marker stands for all of the above: an order started since records
# one patch marker and one TemporalChangeVersion upsert instead of five of each (ten history
# events fewer per order). An order recorded before it asks for each patch as it did.
EVERY_PATCH_ABOVE = "order-v7-every-patch-above"


W = TypeVar("W")


def command_signals(cls: type[W]) -> type[W]:
    """Adds one signal handler per row of the state machine, named like its command, so a
    command is one table row. Apply beneath ``@workflow.defn``, which collects them."""
    for command in COMMANDS.values():
        handler = _signal_handler(command.name)
        signal = workflow.signal(name=command.name, description=command.summary)
        setattr(cls, handler.__name__, signal(handler))
    return cls


def _signal_handler(name: str) -> Callable[..., None]:
    # Payloads arrive undecoded by type (no annotations the SDK would convert to): a payload
    # of the wrong shape, or too many or too few of them, must not fail the workflow task.
    def receive(self: Any, *payloads: Any) -> None:
        self._receive(name, payloads)

    receive.__name__ = receive.__qualname__ = re.sub("([A-Z])", r"_\1", name).lower()
    return receive


@workflow.defn(name=names.ORDER_WORKFLOW)
@command_signals
class OrderWorkflow:
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
        self._every_patch: bool | None = None  # EVERY_PATCH_ABOVE, asked once, at first need
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

    def _patched(self, patch_id: str) -> bool:
        """Whether this order runs with the patch: all of them since EVERY_PATCH_ABOVE.

        That marker is asked for at the first patch the order needs, so at the same point
        on replay: an order whose history lacks it (recorded before) asks for each patch as
        before; one that asks for it first on a new task (not replaying) would have been
        given every patch it asks for from then on anyway."""
        if self._every_patch is None:
            self._every_patch = workflow.patched(EVERY_PATCH_ABOVE)
        return self._every_patch or workflow.patched(patch_id)

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

    async def _gather_batch(self, delay: timedelta) -> None:
        """Let events gather for ``delay`` (or until a batch is full or the order closes):
        one publication for many commands, and no command waits for the outbox."""
        try:
            await workflow.wait_condition(
                lambda: (
                    self._order.status.is_terminal
                    or self._time_to_continue()
                    or self._unpublished() >= PUBLISH_BATCH
                ),
                timeout=delay,
            )
        except TimeoutError:
            pass

    def _unpublished(self) -> int:
        return self._order.event_count - self._published

    async def _publish(self) -> None:
        """Write the events not yet published to the outbox, one batch at a time. Event ids
        are deterministic, so a retried or replayed batch is written once."""
        start = self._published + 1 - self._first_kept()
        batch = self._events[start : start + PUBLISH_BATCH]
        try:
            await workflow.execute_local_activity_method(
                OrderActivities.publish_order_events,
                PublishOrderEvents(self._order.order_id, batch),
                start_to_close_timeout=timedelta(seconds=10),
                # Bounded, so a long database outage still lets the order continue as new.
                schedule_to_close_timeout=timedelta(minutes=5),
                retry_policy=PUBLISH_RETRY,
                summary=f"publish events {batch[0].event_id}-{batch[-1].event_id}",
            )
        except ActivityError:
            workflow.logger.warning("publishing order events failed for 5 minutes; retrying")
            return
        self._published = batch[-1].event_id

    def _carry_over(self) -> OrderCarryOver:
        """The state for the next run: published events beyond the most recent are trimmed
        (the outbox has them); unpublished ones always travel."""
        keep_from = self._keep_from()
        kept = [e for e in self._events if e.event_id >= keep_from]
        carried = OrderCarryOver(self._order, kept, list(self._outcomes.values()), self._published)
        return carried.pack() if self._patched(PACKED_CARRY_OVER) else carried

    def _keep_from(self) -> int:
        """The first event the next run keeps: the unpublished and the most recent ones."""
        recent = self._order.event_count + 1 - self._input.kept_after_continue
        return min(self._published + 1, recent)

    def _first_kept(self) -> int:
        return self._events[0].event_id

    def _event(self, event_id: int) -> OrderEvent | None:
        index = event_id - self._first_kept()
        return self._events[index] if 0 <= index < len(self._events) else None

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

    def _refuse_signal(self, name: str, command_id: str | None, detail: str) -> None:
        """Log a signal that is not a command this order can read; refuse it as an outcome
        if it has a command id to keep one under. Orders recorded before VALUES_CHECKED
        dropped such signals (or the SDK did), and keep doing so."""
        workflow.logger.warning("signal refused: %s", detail, extra={"command_id": command_id})
        if (
            command_id is not None
            and command_id not in self._outcomes
            and self._patched(VALUES_CHECKED)
        ):
            outcome = CommandOutcome(command_id, cut(name), {}, status=self._order.status)
            outcome.refusal = "invalid"
            outcome.detail = detail
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

    def _handle(self, name: str, signal: CommandSignal) -> None:
        if signal.command_id in self._outcomes:
            return  # a redelivered or retried command: its first outcome stands
        try:
            check_key(signal.command_id)
        except ValueError as error:
            if self._patched(VALUES_CHECKED):
                command_id = signal.command_id if is_key_sized(signal.command_id) else None
                self._refuse_signal(name, command_id, f"{name} command_id {error}")
                return
        command = COMMANDS[name]
        outcome = CommandOutcome(
            signal.command_id, name, dict(signal.parameters), status=self._order.status
        )
        params, errors = parse_parameters(command, signal.parameters)
        if errors:
            before = parse_parameters_v1(command, signal.parameters)
            if before is not None and not self._patched(VALUES_CHECKED):
                params, errors = before, []  # what this order did when it was recorded
        transition = decide(self._order.status, command, params)
        if errors:
            outcome.refusal = "invalid"
            outcome.detail = "; ".join(f"{e.name} {e.reason}" for e in errors)
            outcome.parameters = _kept_parameters(command, signal.parameters)
        elif transition.refusal is not None:
            outcome.refusal = transition.refusal
            outcome.detail = transition.detail
        elif transition.status == self._order.status and self._log_full():
            outcome.refusal = "log_full"
            outcome.detail = (
                f"order {self._order.order_id} keeps {len(self._events)} events, the most it "
                f"can; {name} is refused, commands that move its status are not"
            )
        else:
            assert transition.status is not None
            outcome.event_id = self._apply(command.name, signal, params, transition.status)
        self._remember(outcome)
        self._stale = True
        if self._logged >= LOGGED_PER_ACTIVATION:
            self._unlogged[outcome.refusal or "applied"] += 1
            return
        self._logged += 1
        ids = {"order_id": self._order.order_id, "command_id": signal.command_id}
        if outcome.refusal is None:
            workflow.logger.info("%s applied: event %s", name, outcome.event_id, extra=ids)
        else:
            workflow.logger.info(
                "%s refused (%s): %s", name, outcome.refusal, outcome.detail, extra=ids
            )

    def _apply(
        self,
        name: str,
        signal: CommandSignal,
        params: dict[str, ParameterValue],
        status: OrderStatus,
    ) -> int:
        command = COMMANDS[name]
        order = self._order
        indexed_before = (order.status, order.restaurant_id, order.driver_id)
        now = _epoch_ms(workflow.now())
        event = OrderEvent(
            event_id=order.event_count + 1,
            order_id=order.order_id,
            type=command.event_type,
            order_status=status,
            created_at=now,
            command_id=signal.command_id,
            actor=signal.actor,
        )
        for parameter in command.parameters:
            if parameter.name in params:
                # Parameters that name an order field set it; the event carries them all.
                if parameter.field is not None:
                    setattr(order, parameter.field, params[parameter.name])
                    setattr(event, parameter.field, params[parameter.name])
                elif parameter.name == "reason":
                    event.reason = str(params["reason"])
        order.status = status
        order.last_modified = now
        self._events.append(event)
        order.event_count = event.event_id
        if (order.status, order.restaurant_id, order.driver_id) != indexed_before:
            if self._patched(INDEX_PER_ACTIVATION):
                self._index_stale = True
            else:
                self._upsert_search_attributes()
        return event.event_id

    def _upsert_search_attributes(self) -> None:
        order = self._order
        updates: list[SearchAttributeUpdate[Any]] = [
            names.ORDER_STATUS.value_set(order.status.value),
            names.ACCOUNT_ID.value_set(order.account_id),
        ]
        if order.restaurant_id is not None:
            updates.append(names.RESTAURANT_ID.value_set(order.restaurant_id))
        if order.driver_id is not None:
            updates.append(names.DRIVER_ID.value_set(order.driver_id))
        workflow.upsert_search_attributes(updates)

    def _remember(self, outcome: CommandOutcome) -> None:
        self._outcomes[outcome.command_id] = outcome
        while len(self._outcomes) > self._input.remembered_outcomes:
            self._outcomes.popitem(last=False)

    def _log_full(self) -> bool:
        return len(self._events) >= self._input.max_events

    def _time_to_continue(self) -> bool:
        return self._history_full() or (self._log_bounded and self._log_crowded())

    def _log_crowded(self) -> bool:
        """The kept log is three quarters full, and continuing as new would trim a quarter
        of its room: so it continues as new long before a burst can fill it."""
        room = self._input.max_events
        trimmed = self._keep_from() - self._first_kept()
        return len(self._events) >= room * 3 // 4 and trimmed >= room // 4

    def _history_full(self) -> bool:
        info = workflow.info()
        limit = self._input.continue_as_new_after_history_events
        return info.is_continue_as_new_suggested() or (
            limit is not None and info.get_current_history_length() >= limit
        )

    def _describe(self) -> None:
        """The current details shown for this order in the Web UI."""
        order = self._order
        last = self._events[-1]
        # Static summaries do not survive continue-as-new, so the details name the order too.
        facts = [f"Order {order.order_id}", f"**{order.status}**", f"account {order.account_id}"]
        if order.restaurant_id is not None:
            facts.append(f"restaurant {order.restaurant_id}")
        if order.driver_id is not None:
            facts.append(f"driver {order.driver_id}")
        if order.lat is not None and order.lon is not None:
            facts.append(f"at {order.lat:.5f}, {order.lon:.5f}")
        when = datetime.fromtimestamp(last.created_at / 1000, UTC).isoformat(timespec="seconds")
        workflow.set_current_details(
            " · ".join(facts) + f"\n\n{order.event_count} events; last {last.type} at {when}"
        )


def _kept_parameters(command: Command, raw: dict[str, Any]) -> dict[str, Any]:
    """What a refused command's outcome keeps of its parameters: the named ones holding a
    plain value of bounded size, so no signal can make the order's state (and the payload it
    continues as new with) grow without bound."""
    named = {p.name for p in command.parameters}
    return {name: value for name, value in raw.items() if name in named and _small(value)}


def _small(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True
    if isinstance(value, int):
        return value.bit_length() <= 128
    return isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
