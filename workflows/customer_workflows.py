"""Register Customer and Update Customer: short workflows around one database activity each.

The activity retries for as long as the database is down, so a request accepted while it
is unreachable completes by itself once it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.customer_activities import CustomerActivities
    from workflows import customer_names as names
    from workflows.customer_types import (
        CustomerOutcome,
        CustomerRecord,
        RegisterCustomerInput,
        UpdateCustomerInput,
    )

# Infrastructure failures retry with backoff, without limit; refusals never do.
DATABASE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=list(names.REFUSALS),
)
DATABASE_TIMEOUT = timedelta(seconds=15)
# The database write runs as a local activity: one workflow task for the whole request, in
# place of two plus an activity task (half the round trips through the server). Requests
# started before this ran it as an activity, and replay that way.
LOCAL_WRITE = "customer-request-local-activity"


async def _run(
    activity: Callable[[CustomerActivities, Any], CustomerRecord], arg: object, summary: str
) -> CustomerOutcome:
    run = (
        workflow.execute_local_activity_method
        if workflow.patched(LOCAL_WRITE)
        else workflow.execute_activity_method
    )
    try:
        record: CustomerRecord = await run(
            activity,
            arg,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary=summary,
        )
    except (ActivityError, ApplicationError) as error:
        # An activity's failure comes wrapped in an ActivityError; a local activity's
        # non-retryable one, as the ApplicationError itself (SDK 1.35).
        cause = error.cause if isinstance(error, ActivityError) else error
        if isinstance(cause, ApplicationError) and cause.type in names.REFUSALS:
            return CustomerOutcome(refusal=cause.type, detail=cause.message)
        raise
    return CustomerOutcome(customer=record)


@workflow.defn(name=names.REGISTER_CUSTOMER)
class RegisterCustomerWorkflow:
    @workflow.run
    async def run(self, input: RegisterCustomerInput) -> CustomerOutcome:
        # Ids and field names only, never the customer's details: summaries are shown in
        # the Web UI and the CLI.
        return await _run(CustomerActivities.register_customer, input, "register a customer")


@workflow.defn(name=names.UPDATE_CUSTOMER)
class UpdateCustomerWorkflow:
    @workflow.run
    async def run(self, input: UpdateCustomerInput) -> CustomerOutcome:
        fields = ", ".join(sorted(input.changes.values)) or "nothing"
        summary = f"update customer {input.customer_id}: {fields}"
        return await _run(CustomerActivities.update_customer, input, summary)
