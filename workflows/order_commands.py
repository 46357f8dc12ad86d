"""The state machine at work inside the order workflow: a command applied (its event appended,
the order changed) or refused as an outcome, and the outcomes remembered for the API to
read. A base of OrderWorkflow, which receives the signals; imported per run by the sandbox
like the workflow module."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from temporalio import workflow

from workflows.order_log import OrderLog

with workflow.unsafe.imports_passed_through():
    from workflows.order_machine import (
        COMMANDS,
        OrderStatus,
        ParameterValue,
        cut,
        decide,
        parse_parameters,
    )
    from workflows.order_parameters_v1 import parse_parameters_v1
    from workflows.order_patches import INDEX_PER_ACTIVATION, VALUES_CHECKED
    from workflows.order_signals import CommandSignal, is_key_sized, kept_parameters
    from workflows.order_types import CommandOutcome, OrderEvent
    from workflows.order_visibility import search_attribute_updates
    from workflows.values import check_key

LOGGED_PER_ACTIVATION = 20  # commands logged one line each; the rest are counted


class OrderCommands(OrderLog):
    """Commands applied or refused; the work they leave for the end of the activation."""

    _stale: bool  # the details to describe again
    _index_stale: bool  # the search attributes to upsert again (INDEX_PER_ACTIVATION)
    _logged: int
    _unlogged: Counter[str]

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
            outcome.parameters = kept_parameters(command, signal.parameters)
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
        workflow.upsert_search_attributes(search_attribute_updates(self._order))

    def _remember(self, outcome: CommandOutcome) -> None:
        self._outcomes[outcome.command_id] = outcome
        while len(self._outcomes) > self._input.remembered_outcomes:
            self._outcomes.popitem(last=False)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
