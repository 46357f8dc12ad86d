"""Every call the API makes to Temporal for customers: start a request, wait a little, or
tell the client where to look later."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.http.problems import Problem, not_found, unavailable
from workflows.customer_names import REFUSALS, request_workflow_id
from workflows.customer_types import CustomerOutcome, RegisterCustomerInput, UpdateCustomerInput
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow

Kind = Literal["register", "update"]
_PROBLEM_KINDS = {
    "DuplicateEmail": "duplicate-email",
    "CustomerNotFound": "not-found",
    "VersionMismatch": "precondition-failed",
}


@dataclass(frozen=True)
class RequestState:
    """Where a customer request stands: still running, or its outcome."""

    request_id: str
    outcome: CustomerOutcome | None  # None while it runs (e.g. the database is down)


@dataclass(frozen=True)
class CustomerRequestOptions:
    task_queue: str
    wait: timedelta
    rpc_timeout: timedelta


class CustomerRequests:
    def __init__(self, client: Client, options: CustomerRequestOptions) -> None:
        self._client = client
        self._options = options

    async def register(self, input: RegisterCustomerInput) -> RequestState:
        return await self._run(RegisterCustomerWorkflow.run, input, input.request_id)

    async def update(self, input: UpdateCustomerInput) -> RequestState:
        return await self._run(UpdateCustomerWorkflow.run, input, input.request_id)

    async def _run(self, run: Any, input: Any, request_id: str) -> RequestState:
        """Start (or join, for a retry) the request's workflow and wait up to the configured
        time for it; past that, the request goes on in Temporal and the client polls."""
        try:
            handle = await self._client.start_workflow(
                run,
                input,
                id=request_workflow_id(request_id),
                task_queue=self._options.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"customer request {request_id}",
                rpc_timeout=self._options.rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            return await self.state(request_id)  # a retry of a request that has finished
        except RPCError as error:
            raise _unavailable(error) from None
        except RuntimeError as error:
            raise _unavailable(error) from None
        try:
            outcome = await asyncio.wait_for(handle.result(), self._options.wait.total_seconds())
        except TimeoutError:
            return RequestState(request_id, None)
        return RequestState(request_id, outcome)

    async def state(self, request_id: str) -> RequestState:
        handle = self._client.get_workflow_handle(
            request_workflow_id(request_id), result_type=CustomerOutcome
        )
        try:
            description = await handle.describe(rpc_timeout=self._options.rpc_timeout)
            if description.status == WorkflowExecutionStatus.RUNNING:
                return RequestState(request_id, None)
            outcome = await handle.result()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise not_found(f"there is no customer request {request_id}") from None
            raise _unavailable(error) from None
        except WorkflowFailureError as error:
            raise Problem(500, "internal-error", f"customer request {request_id} failed") from error
        return RequestState(request_id, outcome)


def refusal_problem(outcome: CustomerOutcome) -> Problem:
    assert outcome.refusal is not None
    return Problem(REFUSALS[outcome.refusal], _PROBLEM_KINDS[outcome.refusal], outcome.detail)


def _unavailable(error: Exception) -> Problem:
    return unavailable(f"Temporal is unreachable; retry later ({type(error).__name__})")
