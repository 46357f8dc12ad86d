"""The order's event log as it lives in its workflow: the events it keeps, publishing them to
the outbox in batches, and when to continue as new (trimming what the outbox has). A base of
OrderWorkflow, kept apart so that the workflow module holds the commands and queries; the
sandbox imports it per run like the workflow module (its code is checked the same way)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.order_activities import OrderActivities
    from workflows.order_patches import EVERY_PATCH_ABOVE, PACKED_CARRY_OVER
    from workflows.order_types import (
        CommandOutcome,
        Order,
        OrderCarryOver,
        OrderEvent,
        OrderInput,
        PublishOrderEvents,
    )

# At most this many events per local activity, retried with this policy.
PUBLISH_BATCH = 500
PUBLISH_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


class OrderLog:
    """The state the log works on, set by OrderWorkflow.__init__."""

    _input: OrderInput
    _order: Order
    _events: list[OrderEvent]  # the kept events, in order, the last one the newest
    _published: int  # events 1.._published are in the outbox
    _outcomes: OrderedDict[str, CommandOutcome]
    _log_bounded: bool  # CONTINUE_BEFORE_LOG_FILLS, decided as the run starts
    _every_patch: bool | None  # EVERY_PATCH_ABOVE, asked once, at first need

    def _patched(self, patch_id: str) -> bool:
        """Whether this order runs with the patch: all of them since EVERY_PATCH_ABOVE.

        That marker is asked for at the first patch the order needs, so at the same point
        on replay: an order whose history lacks it (recorded before) asks for each patch as
        before; one that asks for it first on a new task (not replaying) would have been
        given every patch it asks for from then on anyway."""
        if self._every_patch is None:
            self._every_patch = workflow.patched(EVERY_PATCH_ABOVE)
        return self._every_patch or workflow.patched(patch_id)

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
