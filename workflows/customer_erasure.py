"""Erase Customer: erase the personal data in the database (one activity, one transaction),
delete the histories of the customer's registration and update requests, and sweep them
again a little later, for a request that was still on its way during the first sweep.

The input and every result hold ids, versions and counts only, so this workflow's own
history has no personal data and stays (it is the record that the erasure happened).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.customer_erasure import CustomerErasureActivities
    from workflows import customer_names as names
    from workflows.customer_types import (
        CustomerOutcome,
        EraseCustomerInput,
        ErasureRecord,
        SweepAgainInput,
        SweepHistoriesInput,
    )
    from workflows.customer_workflows import DATABASE_RETRY, DATABASE_TIMEOUT

# Temporal answers the worker's own client; each call is bounded by the client's rpc
# timeout, so an attempt ends well within this.
TEMPORAL_TIMEOUT = timedelta(seconds=60)
TEMPORAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)


async def _sweep(sweep: SweepHistoriesInput) -> None:
    await workflow.execute_activity_method(
        CustomerErasureActivities.delete_customer_histories,
        sweep,
        start_to_close_timeout=TEMPORAL_TIMEOUT,
        retry_policy=TEMPORAL_RETRY,
        summary=f"delete request histories of customer {sweep.customer_id}",
    )


@workflow.defn(name=names.ERASE_CUSTOMER)
class EraseCustomerWorkflow:
    @workflow.run
    async def run(self, input: EraseCustomerInput) -> CustomerOutcome:
        customer_id = input.customer_id
        try:
            erased: ErasureRecord = await workflow.execute_activity_method(
                CustomerErasureActivities.erase_customer,
                input,
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary=f"erase customer {customer_id}",
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type in names.REFUSALS:
                return CustomerOutcome(refusal=cause.type, detail=cause.message)
            raise
        sweep = SweepHistoriesInput(customer_id, erased.register_request_id)
        await _sweep(sweep)
        # The second sweep outlives this workflow, so the client is answered now.
        try:
            await workflow.start_child_workflow(
                SweepCustomerHistoriesWorkflow.run,
                SweepAgainInput(sweep, input.sweep_again_seconds),
                id=names.sweep_workflow_id(customer_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"sweep request histories of customer {customer_id} again",
            )
        except WorkflowAlreadyStartedError:
            pass  # an earlier erasure's second sweep is still waiting: it will do
        return CustomerOutcome(erased=customer_id)


@workflow.defn(name=names.SWEEP_CUSTOMER_HISTORIES)
class SweepCustomerHistoriesWorkflow:
    @workflow.run
    async def run(self, input: SweepAgainInput) -> None:
        await workflow.sleep(timedelta(seconds=input.delay_seconds))
        await _sweep(input.sweep)
