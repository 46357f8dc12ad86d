"""What every call the API makes to Temporal for orders shares: the client, each call's bound,
an order's workflow handle, and Temporal's failures turned into domain errors
(orderflow.errors)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.orders.options import OrderStartOptions
from orderflow import temporal
from orderflow.errors import OrderNotFound, WorkflowUnanswered
from workflows import order_names as names
from workflows.order_types import Order
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger(__name__)


class OrderClient:
    """Order workflows through one Temporal client; every call bounded by ``rpc_timeout``.

    Signals may go through a client of their own that tries each call once
    (temporal.SINGLE_ATTEMPT), so that a failure tells whether the signal could have been
    recorded.
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
