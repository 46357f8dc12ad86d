"""Customer erasure activities: erase the customer's personal data in the database, and
delete the Temporal histories of the requests that carried it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from orderflow.database import customer_erasure
from orderflow.errors import CustomerRefusal
from workflows.customer_names import request_workflow_id, update_workflow_id_prefix
from workflows.customer_types import (
    EraseCustomerInput,
    ErasureRecord,
    SweepHistoriesInput,
    SweepResult,
)


class CustomerErasureActivities:
    """Bound to the worker's engine and Temporal client; the worker registers the bound
    methods. Each call to Temporal is bounded by ``rpc_timeout``: one that does not answer
    fails the attempt, and the activity is retried."""

    def __init__(self, engine: Engine, client: Client, rpc_timeout: timedelta) -> None:
        self._engine = engine
        self._client = client
        self._rpc_timeout = rpc_timeout

    @activity.defn(name="eraseCustomer", no_thread_cancel_exception=True)
    def erase_customer(self, input: EraseCustomerInput) -> ErasureRecord:
        """CustomerNotFound is a refusal (non-retryable); an outage is retried."""
        try:
            return customer_erasure.erase(self._engine, input.customer_id, actor=input.actor)
        except CustomerRefusal as refusal:
            kind = type(refusal).__name__
            raise ApplicationError(str(refusal), type=kind, non_retryable=True) from refusal

    @activity.defn(name="deleteCustomerHistories")
    async def delete_customer_histories(self, input: SweepHistoriesInput) -> SweepResult:
        """Delete the histories of the customer's registration workflow (its id is known)
        and of every update workflow (found by their id's prefix in visibility).

        Deleting a running workflow terminates it first. Temporal deletes asynchronously:
        a history may stay readable for a moment after this returns.
        """
        ids: list[str] = []
        if input.register_request_id is not None:
            ids.append(request_workflow_id(input.register_request_id))
        # The prefix holds only digits and fixed text: nothing to escape in the query.
        query = f'WorkflowId STARTS_WITH "{update_workflow_id_prefix(input.customer_id)}"'
        async for execution in self._client.list_workflows(query, rpc_timeout=self._rpc_timeout):
            ids.append(execution.id)
        deleted = 0
        for workflow_id in dict.fromkeys(ids):
            deleted += await self._delete(workflow_id)
        activity.logger.info(
            "deleted %d request histories of customer %d", deleted, input.customer_id
        )
        return SweepResult(deleted)

    async def _delete(self, workflow_id: str) -> int:
        request = DeleteWorkflowExecutionRequest(
            namespace=self._client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        )
        try:
            await self._client.workflow_service.delete_workflow_execution(
                request, timeout=self._rpc_timeout
            )
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return 0  # deleted already (or never written)
            raise
        return 1
