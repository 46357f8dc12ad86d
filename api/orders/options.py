"""What every order workflow is started with, and how long the API waits on Temporal:
read from the settings in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from orderflow.settings import Settings
from workflows.order_types import OrderInput
from workflows.values import UNKNOWN_ACTOR


@dataclass(frozen=True)
class OrderStartOptions:
    """What the service passes to every order it starts, and how long it waits on Temporal."""

    task_queue: str
    continue_as_new_after_history_events: int | None
    remembered_outcomes: int
    rpc_timeout: timedelta
    command_wait: timedelta
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
            command_wait=timedelta(seconds=settings.order_command_wait_seconds),
            max_events=settings.order_max_events,
            kept_after_continue=settings.order_kept_events_after_continue,
            publish_delay_ms=settings.order_publish_delay_ms,
        )

    def input(
        self, order_id: int, account_id: int, created_at: int, *, actor: str = UNKNOWN_ACTOR
    ) -> OrderInput:
        return OrderInput(
            order_id=order_id,
            account_id=account_id,
            created_at=created_at,
            continue_as_new_after_history_events=self.continue_as_new_after_history_events,
            remembered_outcomes=self.remembered_outcomes,
            max_events=self.max_events,
            kept_after_continue=self.kept_after_continue,
            publish_delay_ms=self.publish_delay_ms,
            actor=actor,
        )
