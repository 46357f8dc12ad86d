"""Customers for the API: requests run as Temporal workflows (start one, wait a little, or
tell the client where to look later); reads come straight from the database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orderflow import temporal
from orderflow.database import customers, outbox
from orderflow.database.calls import in_database
from orderflow.database.outbox import OutboxEvent
from orderflow.errors import (
    CUSTOMER_FAILURES,
    CUSTOMER_REFUSALS,
    CustomerErased,
    CustomerNotFound,
    CustomerRefusal,
    CustomerRequestFailed,
    CustomerRequestNotFound,
    DatabaseUnavailable,
    DomainError,
    InvalidInput,
)
from workflows import customer_fields as fields
from workflows.customer_erasure import EraseCustomerWorkflow
from workflows.customer_names import erase_request_id, request_workflow_id
from workflows.customer_types import (
    CustomerOutcome,
    CustomerRecord,
    EraseCustomerInput,
    RegisterCustomerInput,
    UpdateCustomerInput,
)
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow
from workflows.values import is_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestState:
    """Where a customer request stands: still running, its outcome, or why it failed."""

    request_id: str
    outcome: CustomerOutcome | None  # None while it runs (e.g. the database is down)
    # Why it can never complete: InvalidCustomerData (the database cannot store its data)
    # or CustomerRequestFailed (anything else).
    failure: DomainError | None = None


@dataclass(frozen=True)
class CustomerRequestOptions:
    task_queue: str
    wait: timedelta
    rpc_timeout: timedelta
    # When an erasure deletes the customer's request histories a second time.
    sweep_again: timedelta = timedelta(seconds=60)


class CustomerService:
    def __init__(self, client: Client, options: CustomerRequestOptions, engine: Engine) -> None:
        self._client = client
        self._options = options
        self._engine = engine

    async def get(self, customer_id: int) -> CustomerRecord:
        found = await in_database(customers.get, self._engine, customer_id)
        if found is None:
            raise CustomerNotFound.of(customer_id)
        return found

    async def find_by_email(self, email: str) -> CustomerRecord | None:
        return await in_database(customers.find_by_email, self._engine, email)

    async def events(
        self, customer_id: int, offset: int, limit: int
    ) -> tuple[list[OutboxEvent], int]:
        """A page of the customer's published events, and how many there are."""
        if not await in_database(customers.exists, self._engine, customer_id):
            raise CustomerNotFound.of(customer_id)
        source = f"/v1/customers/{customer_id}"
        return await in_database(outbox.read_subject, self._engine, source, offset, limit)

    async def register(self, input: RegisterCustomerInput) -> RequestState:
        """Start the registration. A retry (same Idempotency-Key) of one whose customer was
        erased since is refused here, before its details reach a new workflow history (its
        first one was deleted); the activity refuses it too, should the database not answer."""
        _request_id_fits(input.request_id)
        try:
            erased = await in_database(customers.registered_erased, self._engine, input.request_id)
        except DatabaseUnavailable:
            erased = None
        if erased is not None:
            raise CustomerErased.of(erased)
        return await self._run(RegisterCustomerWorkflow.run, input, input.request_id)

    async def update(self, input: UpdateCustomerInput) -> RequestState:
        """Start the update; an id outside 1..2**63-1 is a customer that does not exist, said
        at once rather than by a workflow."""
        if not is_id(input.customer_id):
            raise CustomerNotFound.of(input.customer_id)
        _request_id_fits(input.request_id)
        # An erased customer is refused before its new details reach a workflow history
        # (the activity refuses it too, should the database not answer this check).
        if await self._known_to_be_erased(input.customer_id):
            raise CustomerErased.of(input.customer_id)
        return await self._run(UpdateCustomerWorkflow.run, input, input.request_id)

    async def erase(self, customer_id: int, *, actor: str) -> RequestState:
        """Start (or join) the customer's erasure and wait a little for it. An unknown
        customer is refused before anything starts; while the database does not answer,
        the workflow finds out. An erasure that ended is simply run again (it changes
        nothing, and sweeps the histories once more): the answer is the same."""
        if not is_id(customer_id):
            raise CustomerNotFound.of(customer_id)
        try:
            known = await in_database(customers.exists, self._engine, customer_id)
        except DatabaseUnavailable:
            known = True
        if not known:
            raise CustomerNotFound.of(customer_id)
        sweep_again = self._options.sweep_again.total_seconds()
        input = EraseCustomerInput(customer_id, actor, sweep_again_seconds=sweep_again)
        request_id = erase_request_id(customer_id)
        reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE
        return await self._run(EraseCustomerWorkflow.run, input, request_id, reuse=reuse)

    async def _known_to_be_erased(self, customer_id: int) -> bool:
        try:
            return await in_database(customers.is_erased, self._engine, customer_id)
        except DatabaseUnavailable:
            return False

    async def _run(
        self,
        run: Any,
        input: Any,
        request_id: str,
        *,
        reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.REJECT_DUPLICATE,
    ) -> RequestState:
        """Start (or join, for a retry) the request's workflow and wait up to the configured
        time for it; past that, the request goes on in Temporal and the client polls."""
        try:
            handle = await self._client.start_workflow(
                run,
                input,
                id=request_workflow_id(request_id),
                task_queue=self._options.task_queue,
                id_reuse_policy=reuse,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"customer request {request_id}",
                rpc_timeout=self._options.rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            return await self.state(request_id)  # a retry of a request that has finished
        except (RPCError, RuntimeError) as error:
            raise _unavailable(error) from None
        try:
            outcome = await asyncio.wait_for(handle.result(), self._options.wait.total_seconds())
        except TimeoutError:
            return RequestState(request_id, None)
        except WorkflowFailureError as error:
            return RequestState(request_id, None, _failure(request_id, error))
        return RequestState(request_id, outcome)

    async def state(self, request_id: str) -> RequestState:
        handle = self._client.get_workflow_handle(
            request_workflow_id(request_id), result_type=CustomerOutcome
        )
        try:
            description = await handle.describe(rpc_timeout=self._options.rpc_timeout)
            if description.status == WorkflowExecutionStatus.RUNNING:
                return RequestState(request_id, None)
            outcome = await handle.result(rpc_timeout=self._options.rpc_timeout)
        except (RPCError, RuntimeError) as error:
            if isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND:
                raise CustomerRequestNotFound(request_id) from None
            raise _unavailable(error) from None
        except WorkflowFailureError as error:
            return RequestState(request_id, None, _failure(request_id, error))
        return RequestState(request_id, outcome)


def refusal(outcome: CustomerOutcome) -> CustomerRefusal:
    """The domain error a refused request reports (its detail as the activity wrote it)."""
    assert outcome.refusal is not None
    return CUSTOMER_REFUSALS[outcome.refusal](outcome.detail)


def _failure(request_id: str, error: WorkflowFailureError) -> DomainError:
    """Why a request's workflow failed: the data error its activity reported (the detail
    as the activity wrote it), or, for anything else, that it failed."""
    cause: BaseException | None = error.cause
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type in CUSTOMER_FAILURES:
            return CUSTOMER_FAILURES[cause.type](cause.message)
        cause = cause.__cause__
    log.warning("customer request %s failed: %s", request_id, error.cause)
    return CustomerRequestFailed(request_id)


def _request_id_fits(request_id: str) -> None:
    # The register request's id is stored with the customer; refuse what its column cannot
    # hold before anything starts (the Idempotency-Key's own limit keeps well within it).
    if len(request_id) > fields.REQUEST_ID_MAX:
        raise InvalidInput([("Idempotency-Key", "is too long")])


def _unavailable(error: RPCError | RuntimeError) -> Exception:
    """Temporal's failure as a domain error (unreachable, or no answer in time); any other
    failure is a bug and stays itself."""
    failure = temporal.unavailable(error)
    if failure is None:
        return error
    log.warning("Temporal call failed: %s", temporal.failure_text(error))
    return failure
