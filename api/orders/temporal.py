"""Every call the API makes to Temporal for orders: start and signal order workflows here,
reads in temporal_reads.py, the client and its errors in temporal_client.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.orders.temporal_reads import OrderReads
from orderflow import temporal
from orderflow.errors import OrderIdsOutOfStep, TooManyCommands
from workflows import order_names as names
from workflows.order_machine import OrderStatus, ParameterValue
from workflows.order_signals import CommandSignal
from workflows.order_types import Order
from workflows.order_workflow import OrderWorkflow
from workflows.values import UNKNOWN_ACTOR

log = logging.getLogger(__name__)


# How long send() keeps trying to reach a Temporal it has no connection to (as long as
# the client's own retries would: temporal.CONNECT_RETRY).
SIGNAL_RECONNECT_SECONDS = 3.0


class OrderWorkflows(OrderReads):
    """Start and signal order workflows (and read them, OrderReads).

    Signals go through a client that tries each call once where one is given, so that
    send() retries only what certainly never left.
    """

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

    async def _exists(self, order_id: int) -> bool:
        try:
            await self._handle(order_id).describe(rpc_timeout=self._timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True
